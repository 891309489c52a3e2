// The resolved, immutable plan: plays whose imports and roles are expanded, ready for the executor.
import type { SourcePos } from '../errors.js';

/** Keywords that blocks, tasks, imports and role entries share and that children inherit. */
export interface Inherited {
  /** Own conditions only (inherited ones are collected while walking). */
  readonly when: readonly unknown[];
  readonly tags: readonly string[];
  readonly vars: Readonly<Record<string, unknown>>;
  readonly environment?: unknown;
  readonly check_mode?: unknown;
  readonly ignore_errors?: unknown;
  readonly no_log?: unknown;
  readonly delegate_to?: unknown;
  readonly connection?: unknown;
  /** Keywords implemented as ansible-core 2.14 (see INHERITED_KEYWORDS): the innermost value wins. */
  readonly any_errors_fatal?: unknown;
  readonly run_once?: unknown;
  readonly ignore_unreachable?: unknown;
  readonly throttle?: unknown;
  readonly timeout?: unknown;
  readonly diff?: unknown;
  readonly delegate_facts?: unknown;
  /** Own module_defaults entries (outer ones are prepended while walking; later entries win). */
  readonly module_defaults?: readonly Readonly<Record<string, unknown>>[] | undefined;
  /** become, become_user, ...: checked at run time against what imgplay can do (src/run/become.ts). */
  readonly become?: Readonly<Record<string, unknown>> | undefined;
}

/** A role as used at one place of a play: its files, variables and parameters. */
export interface RoleInstance {
  readonly name: string;
  readonly path: string;
  /** The collection the role came from (`acme.tools`), however the play named it. */
  readonly collection?: string | undefined;
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, unknown>>;
  /** The role that pulled this one in as a meta dependency. */
  readonly parent?: RoleInstance | undefined;
  /** Files read to build this role (for cache digests). */
  readonly files: readonly string[];
}

/** Where a node came from: its file, position, and role. */
export interface Origin {
  readonly pos: SourcePos;
  /** Directory that relative `src:` and include paths start from. */
  readonly baseDir: string;
  readonly role?: RoleInstance | undefined;
  /** The action as the task wrote it, where that differs from `action` (`ansible.builtin.copy`, a bare
   *  `include`): an unnamed task's banner shows it, as Ansible's does. */
  readonly written?: string | undefined;
}

/** One module invocation. */
export interface TaskNode extends Inherited, Origin {
  readonly kind: 'task';
  readonly name?: string | undefined;
  /** The module name as registered (short form, without ansible.builtin.). */
  readonly action: string;
  /** Raw, untemplated arguments. */
  readonly args: Readonly<Record<string, unknown>>;
  /** Where each argument is written, for errors about one argument at run time. */
  readonly argPos?: Readonly<Record<string, SourcePos>> | undefined;
  readonly register?: string | undefined;
  readonly notify: readonly string[];
  readonly listen: readonly string[];
  readonly loop?: unknown;
  /** 'loop' or the lookup of a `with_<lookup>` keyword. */
  readonly loopKind?: string | undefined;
  readonly loop_control?: Readonly<Record<string, unknown>> | undefined;
  readonly changed_when?: unknown;
  readonly failed_when?: unknown;
  readonly until?: unknown;
  readonly retries?: unknown;
  readonly delay?: unknown;
  /** Set for an Ansible module imgplay lacks in a task that runs only under a condition: why it fails if it
   *  is reached (a platform's branch, such as `yum:` under `when: ansible_os_family == 'RedHat'`, never is). */
  readonly notImplemented?: string | undefined;
  /** `action` names the module with a template (`{{ ansible_facts.pkg_mgr }}`): rendered, and its arguments
   *  judged, when the task runs. */
  readonly templatedAction?: boolean | undefined;
}

/** block/rescue/always, and the containers that imports and roles expand into. */
export interface BlockNode extends Inherited, Origin {
  readonly kind: 'block';
  readonly name?: string | undefined;
  readonly block: readonly Node[];
  readonly rescue: readonly Node[];
  readonly always: readonly Node[];
  /** What made this block: a `block:` keyword, a static import, or a role's tasks. */
  readonly origin: 'block' | 'import_tasks' | 'import_role' | 'role';
}

/** include_tasks / include_role: resolved when the executor reaches it, per host. */
export interface IncludeNode extends Inherited, Origin {
  readonly kind: 'include';
  readonly name?: string | undefined;
  readonly action: 'include_tasks' | 'include_role';
  readonly args: Readonly<Record<string, unknown>>;
  /** Topics it answers to when it is a handler. */
  readonly listen?: readonly string[];
  readonly loop?: unknown;
  readonly loopKind?: string | undefined;
  readonly loop_control?: Readonly<Record<string, unknown>> | undefined;
}

export type Node = TaskNode | BlockNode | IncludeNode;

/** A play, with its task sections in the order they run. */
export interface Play extends Inherited {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly gather_facts: unknown;
  /** The play's gather_subset, gather_timeout and fact_path, handed to the setup its fact gathering runs. */
  readonly gatherArgs: Readonly<Record<string, unknown>>;
  readonly force_handlers?: unknown;
  readonly max_fail_percentage?: unknown;
  /** Rolling batches: a number, a percentage, or a list of them (the last repeats), as written. */
  readonly serial?: unknown;
  /** inventory, reverse_inventory, sorted, reverse_sorted or shuffle. */
  readonly order?: unknown;
  readonly strategy?: unknown;
  readonly vars_files: readonly unknown[];
  readonly pre_tasks: readonly Node[];
  /** The roles' blocks followed by the play's own tasks. */
  readonly tasks: readonly Node[];
  readonly post_tasks: readonly Node[];
  /** Role handlers first, then the play's, in definition order. */
  readonly handlers: readonly Node[];
  readonly roles: readonly RoleInstance[];
  readonly pos: SourcePos;
  /** Directory of the playbook file that holds the play. */
  readonly baseDir: string;
  /** Every file this play's plan was built from (playbook, task files, role files), for cache digests. */
  readonly files: readonly string[];
}

/** A whole playbook: its plays in order (import_playbook expanded) and every file that was read. */
export interface Playbook {
  readonly file: string;
  readonly plays: readonly Play[];
  readonly files: readonly string[];
  /** Deprecation warnings met while planning, printed before the run (and by --syntax-check). */
  readonly warnings: readonly string[];
}

/** A role's name as Ansible's banners show it: with its collection (`acme.tools.greet`) when it came from one. */
export function roleLabel(role: Pick<RoleInstance, 'name' | 'collection'>): string {
  return role.collection !== undefined ? `${role.collection}.${role.name}` : role.name;
}
