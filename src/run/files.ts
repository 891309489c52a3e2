// Controller files a task names (copy src, template src, include_vars files...): found where Ansible looks
// for them, and each one read told to the stage cache for the host being worked on.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ImgplayError } from '../errors.js';
import { noteRead } from '../host/reads.js';
import type { RoleInstance } from '../playbook/model.js';

/** The run's record of controller files read; each is also told to the stage cache, for the host being worked on. */
export class NotedFiles extends Set<string> {
  override add(path: string): this {
    noteRead({ kind: 'file', path });
    return super.add(path);
  }
}

/** Where a task is written: its role and the folder of its file. */
export type TaskPlace = { readonly role?: RoleInstance | undefined; readonly baseDir: string };

/** The folders a module searches for relative files (ModuleContext.searchPath): the task's role and the roles
 *  that depend on it, the task file's folder, the playbook's folder. */
export function moduleSearchPath(task: TaskPlace, playbookDir: string): string[] {
  const dirs: string[] = [];
  for (let r = task.role; r; r = r.parent) dirs.push(r.path);
  dirs.push(task.baseDir, playbookDir);
  return [...new Set(dirs)];
}

/** Finds a controller file as Ansible does: the role's `kind` folder and the role, the task file's folder (and
 *  its `kind` folders), the playbook's; an absolute path is taken as it is. */
export function findControllerFile(task: TaskPlace, kind: 'files' | 'templates' | 'vars' | 'tasks', p: string, playbookDir: string, files: NotedFiles): string {
  if (isAbsolute(p)) {
    noteRead({ kind: 'file', path: p });
    return p;
  }
  const dirs: string[] = [];
  if (task.role) dirs.push(join(task.role.path, kind), task.role.path);
  dirs.push(join(task.baseDir, kind), task.baseDir, join(dirname(task.baseDir), kind));
  dirs.push(join(playbookDir, kind), playbookDir);
  for (const d of dirs) {
    const f = join(d, p);
    if (existsSync(f)) {
      files.add(f);
      return f;
    }
  }
  throw new ImgplayError(`Could not find or access '${p}'`, { hint: `Searched in:\n\t${[...new Set(dirs)].map((d) => join(d, p)).join('\n\t')}` });
}
