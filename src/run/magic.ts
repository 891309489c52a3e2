// Magic variables Ansible sets for every task that depend on the play's roles and the task's place: role name
// lists, the file search path lookups use, the controller's Python.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { roleLabel, type Play, type RoleInstance } from '../playbook/model.js';

/** ansible_play_role_names, ansible_dependent_role_names, ansible_role_names and role_names of a play. Ansible
 *  builds the last two from a set (an order that changes between runs): they are sorted here. */
export function roleNameVars(play: Play): Record<string, string[]> {
  const direct = play.roles.filter((r) => r.parent === undefined).map(roleLabel);
  const dependent = [...new Set(play.roles.filter((r) => r.parent !== undefined).map(roleLabel))].sort();
  return {
    ansible_play_role_names: direct,
    role_names: direct,
    ansible_dependent_role_names: dependent,
    ansible_role_names: [...new Set([...direct, ...dependent])].sort(),
  };
}

/** ansible_search_path of a task: its role and the roles that pulled it in (innermost first), the directory of its
 *  file, then the playbook's directory, as Task.get_search_path and the task executor build it. */
export function searchPath(task: { role?: RoleInstance | undefined; pos?: { file: string } }, playbookDir: string): string[] {
  const out: string[] = [];
  for (let r = task.role; r; r = r.parent) out.push(r.path);
  const own = task.pos ? dirname(task.pos.file) : playbookDir;
  if (!out.includes(own)) out.push(own);
  if (!out.includes(playbookDir)) out.push(playbookDir);
  return out;
}

let python: string | null | undefined;

/** ansible_playbook_python: the controller's Python 3 (Ansible's own interpreter); null when there is none. */
export function playbookPython(): string | null {
  python ??= ['/usr/bin/python3', '/usr/local/bin/python3', '/usr/bin/python'].find((p) => existsSync(p)) ?? null;
  return python;
}
