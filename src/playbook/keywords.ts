// The keywords Ansible accepts on plays, blocks, tasks and role entries, and which of them imgplay acts on.

/** Keywords that have no effect in imgplay but are accepted so existing playbooks load (we already run as root). */
export const ACCEPTED_NO_EFFECT = [
  'become', 'become_user', 'become_method', 'become_flags', 'become_exe', 'remote_user', 'port', 'collections',
  'debugger', 'throttle', 'timeout', 'module_defaults', 'any_errors_fatal', 'diff', 'ignore_unreachable', 'sudo',
  'sudo_user', 'order', 'max_fail_percentage', 'force_handlers',
  'delegate_facts', 'run_once',
] as const;

/** Keywords Ansible has that imgplay refuses with a clear message instead of silently ignoring. */
export const UNSUPPORTED: Record<string, string> = {
  async: 'background tasks are not supported; run the command in the foreground',
  poll: 'background tasks are not supported; run the command in the foreground',
  serial: 'plays always run all their hosts in one batch',
  strategy: 'only the linear strategy exists',
  vars_prompt: 'imgplay never prompts; pass values with -e',
};

const COMMON = ['name', 'when', 'tags', 'vars', 'environment', 'check_mode', 'ignore_errors', 'no_log', 'delegate_to', 'connection'];

/** Keywords of a play (besides the common ones). */
export const PLAY_KEYWORDS = new Set<string>([
  ...COMMON, 'hosts', 'gather_facts', 'gather_subset', 'gather_timeout', 'fact_path', 'vars_files', 'roles', 'pre_tasks', 'tasks', 'post_tasks', 'handlers',
  ...ACCEPTED_NO_EFFECT, ...Object.keys(UNSUPPORTED),
]);

/** Keywords of a block. */
export const BLOCK_KEYWORDS = new Set<string>([...COMMON, 'block', 'rescue', 'always', ...ACCEPTED_NO_EFFECT]);

/** Keywords of a task (the module name is the one key not in this set). */
export const TASK_KEYWORDS = new Set<string>([
  ...COMMON, 'action', 'local_action', 'args', 'register', 'notify', 'listen', 'loop', 'loop_control', 'changed_when',
  'failed_when', 'until', 'retries', 'delay', ...ACCEPTED_NO_EFFECT, ...Object.keys(UNSUPPORTED),
]);

/** Keywords of an entry in a play's `roles:` list (anything else is a role parameter). */
export const ROLE_ENTRY_KEYWORDS = new Set<string>([...COMMON, 'role', ...ACCEPTED_NO_EFFECT]);

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
export const INCLUDE_DEPRECATION = '"include" is deprecated, use include_tasks/import_tasks instead. This feature will be removed in version 2.16.';
