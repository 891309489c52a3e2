// The keywords Ansible accepts on plays, blocks, tasks and role entries, and which of them imgplay acts on.

/**
 * Keywords imgplay accepts because they change nothing on its connections (local and chroot): what each
 * one means there is in docs/language.md. The values that would change something are refused (see
 * src/run/become.ts and the planner's checks).
 */
export const ACCEPTED_NO_EFFECT = ['become', 'become_user', 'become_method', 'become_flags', 'become_exe', 'remote_user', 'port', 'debugger'] as const;

/** Keywords imgplay implements as ansible-core 2.14 does, inherited from plays, blocks and role entries. */
export const INHERITED_KEYWORDS = [
  'any_errors_fatal', 'run_once', 'ignore_unreachable', 'throttle', 'timeout', 'diff', 'module_defaults', 'collections', 'delegate_facts',
] as const;

/** Keywords of a play alone (not inherited by its tasks). */
export const PLAY_ONLY_KEYWORDS = ['force_handlers', 'max_fail_percentage', 'order', 'serial', 'strategy'] as const;

/** Keywords Ansible has that imgplay refuses with a clear message instead of silently ignoring. */
export const UNSUPPORTED: Record<string, string> = {
  async: 'background tasks (async) are not implemented in imgplay; run the command in the foreground',
  poll: 'background tasks (async/poll) are not implemented in imgplay; run the command in the foreground',
  vars_prompt: 'vars_prompt is not implemented in imgplay, which never prompts; pass values with -e',
};

const COMMON = ['name', 'when', 'tags', 'vars', 'environment', 'check_mode', 'ignore_errors', 'no_log', 'delegate_to', 'connection'];

/** Keywords of a play (besides the common ones). */
export const PLAY_KEYWORDS = new Set<string>([
  ...COMMON, 'hosts', 'gather_facts', 'gather_subset', 'gather_timeout', 'fact_path', 'vars_files', 'roles', 'pre_tasks', 'tasks', 'post_tasks', 'handlers',
  ...ACCEPTED_NO_EFFECT, ...INHERITED_KEYWORDS, ...PLAY_ONLY_KEYWORDS, ...Object.keys(UNSUPPORTED),
]);

/** Keywords of a block. */
export const BLOCK_KEYWORDS = new Set<string>([...COMMON, 'block', 'rescue', 'always', 'notify', ...ACCEPTED_NO_EFFECT, ...INHERITED_KEYWORDS]);

/** Keywords of a task (the module name is the one key not in this set). */
export const TASK_KEYWORDS = new Set<string>([
  ...COMMON, 'action', 'local_action', 'args', 'register', 'notify', 'listen', 'loop', 'loop_control', 'changed_when',
  'failed_when', 'until', 'retries', 'delay', ...ACCEPTED_NO_EFFECT, ...INHERITED_KEYWORDS, ...Object.keys(UNSUPPORTED),
]);

/** Keywords of an entry in a play's `roles:` list (anything else is a role parameter). */
export const ROLE_ENTRY_KEYWORDS = new Set<string>([...COMMON, 'role', ...ACCEPTED_NO_EFFECT, ...INHERITED_KEYWORDS]);

/** Ansible's `with_<lookup>` loops that imgplay understands. */
export const WITH_LOOKUPS = new Set([
  'items', 'list', 'dict', 'indexed_items', 'flattened', 'together', 'sequence', 'fileglob', 'first_found', 'subelements',
  'nested', 'lines', 'file', 'pipe', 'template', 'env', 'vars', 'varnames', 'password', 'random_choice',
]);

/** Actions the executor handles itself rather than a module. */
export const INCLUDE_ACTIONS = new Set([
  'include', 'ansible.builtin.include', 'include_tasks', 'import_tasks', 'include_role', 'import_role', 'import_playbook',
  'ansible.builtin.include_tasks', 'ansible.builtin.import_tasks', 'ansible.builtin.include_role',
  'ansible.builtin.import_role', 'ansible.builtin.import_playbook',
]);

/** Strips the `ansible.builtin.` / `ansible.legacy.` collection prefix. */
export function shortAction(action: string): string {
  return action.replace(/^ansible\.(builtin|legacy)\./, '');
}

/** What ansible-core 2.14 says of the bare `include`, still accepted there. */
/** 2.14's second words on a dynamic bare `include`, as its results are read. */
export const INCLUDE_RUN_DEPRECATION = '"include" is deprecated, use include_tasks/import_tasks/import_playbook instead. This feature will be removed in version 2.16.';

/** 2.14's words on a bare `include`, as it is loaded. */
export const INCLUDE_DEPRECATION =
  '"include" is deprecated, use include_tasks/import_tasks instead. See https://docs.ansible.com/ansible-core/2.14/user_guide/playbooks_reuse_includes.html for details. This feature will be removed in version 2.16.';
