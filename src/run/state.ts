// What a run keeps while it goes: the options it was started with, each host's state across plays, the
// current play's state, and what one task did on one host.
import type { Connection } from '../connection/types.js';
import type { ModuleResult } from '../modules/types.js';
import type { InventoryHost } from '../inventory/inventory.js';
import type { Node, Play } from '../playbook/model.js';
import type { ResultStatus, Where } from '../report/events.js';
import type { Stats } from './stats.js';

/** How a run behaves, from the command line. */
export interface RunOptions {
  check: boolean;
  diff: boolean;
  tags: string[];
  skipTags: string[];
  startAtTask?: string | undefined;
  limit?: string | undefined;
  verbosity: number;
  forks: number;
  /** The playbook as the command line named it (ansible-playbook -vv says `N plays in <it>`). */
  playbookPath?: string | undefined;
  /** The -i sources as given (paths made absolute, host lists as written): `ansible_inventory_sources`. */
  inventorySources?: readonly string[] | undefined;
  extraVars: Record<string, unknown>;
  signal: AbortSignal;
  /** --force-handlers: a play's default for force_handlers. */
  forceHandlers?: boolean | undefined;
  /** ANSIBLE_ERROR_ON_MISSING_HANDLER: false makes notifying a handler no play has a warning (default true). */
  errorOnMissingHandler?: boolean | undefined;
  /** ANSIBLE_DEPRECATION_WARNINGS: false hides deprecation warnings. */
  deprecationWarnings?: boolean | undefined;
  /** ANSIBLE_STRATEGY: the strategy of plays that name none (default linear). */
  strategy?: 'linear' | 'free' | 'host_pinned' | undefined;
  /** --no-cache: every stage is built afresh and nothing is stored. */
  noCache?: boolean | undefined;
  /** --cache-dir: the stage cache's folder (else the `cache_dir` variable, else /var/cache/imgplay). */
  cacheDir?: string | undefined;
  /** -c: the connection of hosts whose variables and play name none. */
  connection?: string | undefined;
}

/** The outcome of a run: the exit code ansible-playbook would give, and the recap counters. */
export interface RunOutcome {
  exitCode: number;
  stats: Stats;
}

/** A host's state for the whole run: the variables it gained, whether it failed, its open connections. */
export interface HostRun {
  readonly name: string;
  /** Its inventory entry, replaced when add_host or group_by change its groups or variables. */
  inv: InventoryHost;
  facts: Record<string, unknown>;
  nonPersistent: Record<string, unknown>;
  includeVars: Record<string, unknown>;
  failed: boolean;
  unreachable: boolean;
  /** meta: end_host, for the current play. */
  ended: boolean;
  /** How many times meta: clear_host_errors cleared this host: a block's always section that ran it leaves
   *  the host going on, rather than failed again. */
  errorsCleared?: number;
  notified: Set<Node>;
  connections: Map<string, Connection>;
  varsFiles: Record<string, unknown>;
}

/** A fresh host state for an inventory host. */
export function newHostRun(inv: InventoryHost): HostRun {
  return { name: inv.name, inv, facts: {}, nonPersistent: {}, includeVars: {}, failed: false, unreachable: false, ended: false, notified: new Set(), connections: new Map(), varsFiles: {} };
}

/** The state of the play being run. */
export interface PlayRun {
  readonly play: Play;
  /** The hosts of this run of the play: its batch under `serial`, without those failed before. */
  readonly hosts: HostRun[];
  /** Every host of the play within --limit, failed ones too (ansible_play_hosts_all). */
  readonly allHosts: readonly HostRun[];
  ended: boolean;
  /** any_errors_fatal or max_fail_percentage ended the play: the playbook stops after it. */
  broken: boolean;
  handlers: Node[];
  /** The play's max_fail_percentage, templated as it starts (undefined: none). */
  maxFailPercentage?: number | undefined;
  /** The play's force_handlers (or --force-handlers). */
  forceHandlers: boolean;
  /** The free (or host_pinned) strategy: each host goes through the play at its own pace. */
  free: boolean;
}

/** What one task (all its loop items) did on one host. */
export interface TaskOutcome {
  status: ResultStatus;
  result: ModuleResult;
  ignored: boolean;
  /** For an error of the engine: where in the playbook it lies. */
  where?: Where | undefined;
}

/** The hosts of a play still running tasks: not failed, unreachable or ended (none once the play ended). */
export function activeHosts(pr: PlayRun, among: readonly HostRun[] = pr.hosts): HostRun[] {
  return pr.ended ? [] : among.filter((h) => !h.failed && !h.unreachable && !h.ended);
}
