// What the parts of a run share: the playbook and options, the reporter and counters, the
// hosts' variables, connections and files, and the walk over a play's tree that includes and handlers re-enter.
import type { Node, Playbook } from '../playbook/model.js';
import type { Reporter } from '../report/events.js';
import type { Connections } from './connections.js';
import type { NotedFiles } from './files.js';
import type { HostVars } from './host-vars.js';
import type { RescueDepth } from './outcomes.js';
import type { Scope } from './scope.js';
import type { HostRun, PlayRun, RunOptions } from './state.js';
import type { Stats } from './stats.js';

/** The services and state of one run, shared by the strategy, task runs, includes and handlers. */
export interface RunContext {
  readonly playbook: Playbook;
  /** The playbook's folder (playbook_dir). */
  readonly playbookDir: string;
  readonly opts: RunOptions;
  readonly reporter: Reporter;
  readonly stats: Stats;
  /** The hosts, the inventory as the run changed it, and the variables each host sees. */
  readonly vars: HostVars;
  readonly connections: Connections;
  /** Controller files read while running (vars files, included task files, module sources). */
  readonly files: NotedFiles;
  readonly rescues: RescueDepth;
  /** Ctrl-C or SIGTERM arrived: nothing new starts. */
  readonly interrupted: boolean;
  /** Ansible's Display shows a warning once per run, however often it is raised. */
  warnOnce(message: string): void;
  /** Prints a deprecation warning once per run, unless ANSIBLE_DEPRECATION_WARNINGS turned them off. */
  deprecateOnce(message: string): void;
}

/** The walk over a play's tree, which includes and handler flushes re-enter. */
export interface Walker {
  /** Runs nodes in order on the hosts still active among `hosts`. */
  runNodes(pr: PlayRun, nodes: readonly Node[], hosts: HostRun[], scope: Scope): Promise<void>;
  /** Runs one node (task, block or include) on these hosts. */
  runNode(pr: PlayRun, node: Node, hosts: HostRun[], scope: Scope): Promise<void>;
}
