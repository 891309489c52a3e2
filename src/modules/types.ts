// The contract between the executor and a module: one file per module, its schema, its run.
import type { Connection } from '../connection/types.js';

/** A JSON Schema for a module's arguments (compiled once by ajv; errors name the argument). */
export type ArgsSchema = Record<string, unknown>;

/** One diff of a result, as Ansible's callbacks read it. */
export interface DiffData {
  /** The two sides: text, or a mapping (shown as JSON with sorted keys, as the file module's state). */
  before?: string | Record<string, unknown>;
  after?: string | Record<string, unknown>;
  before_header?: string;
  after_header?: string;
  /** Set instead of a side Ansible will not show: binary (1), or larger than this many bytes. */
  dst_binary?: 1;
  src_binary?: 1;
  dst_larger?: number;
  src_larger?: number;
  /** Text a module prepared itself (git's `git diff`), shown as it is. */
  prepared?: string;
}

/** What a module returns: Ansible's result contract. */
export interface ModuleResult {
  changed?: boolean;
  failed?: boolean;
  skipped?: boolean;
  msg?: string;
  rc?: number;
  stdout?: string;
  stderr?: string;
  stdout_lines?: string[];
  stderr_lines?: string[];
  /** What --diff shows: one diff, or a list of them as Ansible's copy and template return. */
  diff?: DiffData | DiffData[] | undefined;
  /** Variables the executor stores as host facts (set_fact, include_vars, gather facts). */
  ansible_facts?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Everything a module may use while it runs; modules touch the target only through `conn`. */
export interface ModuleContext<A> {
  /** The validated arguments, defaults applied, templates already rendered. */
  args: A;
  conn: Connection;
  /** The build host, for modules that read controller files (copy src, template src). */
  controller: Connection;
  check: boolean;
  diff: boolean;
  /** The task's variables (read only): for debug, template and assert. */
  vars: Readonly<Record<string, unknown>>;
  /** Environment variables from the play and task `environment` keywords. */
  environment: Record<string, string>;
  /** Renders a Jinja template string against the task's variables. */
  template(text: string, extra?: Readonly<Record<string, unknown>>): string;
  /** Evaluates a condition of the expression language against the task's variables. */
  evaluate(expression: string): unknown;
  /** Finds a controller file the way Ansible does: role files/ or templates/, then the playbook dir. */
  findFile(kind: 'files' | 'templates' | 'vars' | 'tasks', path: string): Promise<string>;
  /** Ansible's ansible_search_path for the task: its role (and the roles depending on it), its file's directory, the playbook's. */
  searchPath?: readonly string[];
  /** Where the task was written: its role's folder (when in a role) and the folder of its file. */
  place?: { rolePath?: string | undefined; taskDir: string };
  /** Verbose output (shown with -v). */
  log(message: string): void;
  /** Aborts long work when the run is interrupted. */
  signal: AbortSignal;
  /** Runs another module on the same target with these arguments, checked as a task's are (package hands its work to apt so). */
  runModule(name: string, args: Record<string, unknown>): Promise<ModuleResult>;
}

/** A module: a name, its argument schema, whether it honours check mode, and its run. */
export interface Module<A = Record<string, unknown>> {
  name: string;
  /** Other names it answers to, e.g. `ansible.builtin.copy`. */
  aliases?: string[];
  schema: ArgsSchema;
  /** The argument that a free-form string (`command: ls -l`) fills, e.g. `_raw_params`. */
  freeForm?: string;
  /** True if the module predicts its changes without making them under --check. */
  checkMode: boolean;
  /** True if the module returns a diff under --diff. */
  diff?: boolean;
  /** Argument values that are not templated before the module sees them (e.g. assert's `that`). */
  rawArgs?: string[];
  run(ctx: ModuleContext<A>): Promise<ModuleResult>;
}

/** A failed result with a message (changed false unless `extra` says otherwise). */
export function failed(msg: string, extra: Omit<ModuleResult, 'failed' | 'msg'> = {}): ModuleResult {
  return { changed: false, ...extra, failed: true, msg };
}
