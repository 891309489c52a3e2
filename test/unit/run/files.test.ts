import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RoleInstance } from '../../../src/playbook/model.js';
import { findControllerFile, moduleSearchPath, NotedFiles } from '../../../src/run/files.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function write(path: string): string {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, path);
  return file;
}

const role = { name: 'r', path: join(dir, 'roles', 'r') } as RoleInstance;
write('roles/r/files/both.txt');
write('files/both.txt');
write('files/top.txt');
write('tasks/templates/near.j2');

describe('a controller file a task names', () => {
  it("is found in its role's folder of that kind before the playbook's", () => {
    const seen = new NotedFiles();
    expect(findControllerFile({ role, baseDir: join(dir, 'roles', 'r', 'tasks') }, 'files', 'both.txt', dir, seen)).toBe(join(dir, 'roles/r/files/both.txt'));
    expect([...seen]).toEqual([join(dir, 'roles/r/files/both.txt')]);
  });

  it("falls back to the playbook's folders, and looks beside the task file", () => {
    expect(findControllerFile({ role, baseDir: join(dir, 'roles', 'r', 'tasks') }, 'files', 'top.txt', dir, new NotedFiles())).toBe(join(dir, 'files/top.txt'));
    expect(findControllerFile({ baseDir: join(dir, 'tasks') }, 'templates', 'near.j2', dir, new NotedFiles())).toBe(join(dir, 'tasks/templates/near.j2'));
  });

  it('is taken as written when absolute', () => {
    expect(findControllerFile({ baseDir: dir }, 'files', '/etc/hostname', dir, new NotedFiles())).toBe('/etc/hostname');
  });

  it('not found, says every place it looked', () => {
    expect(() => findControllerFile({ role, baseDir: join(dir, 'roles', 'r', 'tasks') }, 'files', 'gone.txt', dir, new NotedFiles())).toThrow(/Could not find or access 'gone.txt'/);
    try {
      findControllerFile({ baseDir: dir }, 'files', 'gone.txt', dir, new NotedFiles());
    } catch (err) {
      expect((err as { hint: string }).hint).toContain(join(dir, 'files', 'gone.txt'));
    }
  });
});

describe("a module's search path", () => {
  it("holds the task's role, the roles above it, its file's folder and the playbook's, once each", () => {
    const inner = { name: 'dep', path: join(dir, 'roles', 'dep'), parent: role } as RoleInstance;
    expect(moduleSearchPath({ role: inner, baseDir: join(dir, 'roles', 'dep', 'tasks') }, dir)).toEqual([inner.path, role.path, join(dir, 'roles', 'dep', 'tasks'), dir]);
    expect(moduleSearchPath({ baseDir: dir }, dir)).toEqual([dir]);
  });
});
