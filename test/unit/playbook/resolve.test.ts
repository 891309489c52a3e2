import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParseError } from '../../../src/errors.js';
import type { BlockNode, Node, TaskNode } from '../../../src/playbook/model.js';
import { loadPlaybook } from '../../../src/playbook/resolve.js';
import { rejection } from '../../support/thrown.js';

let dir: string;

async function write(files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
}

function taskNames(nodes: readonly Node[]): string[] {
  return nodes.flatMap((n) => (n.kind === 'block' ? taskNames([...n.block, ...n.rescue, ...n.always]) : [n.name ?? n.action]));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgplay-resolve-'));
  await write({
    'roles/base/tasks/main.yml': '- name: base task\n  debug: msg=base\n',
    'roles/base/defaults/main.yml': 'base_default: 1\n',
    'roles/app/meta/main.yml': 'dependencies:\n  - base\n',
    'roles/app/tasks/main.yml': '- name: app task\n  debug: msg="{{ who }}"\n',
    'roles/app/handlers/main.yml': '- name: restart app\n  debug: msg=restart\n',
    'more.yml': '- name: imported task\n  debug: msg=imported\n',
    'other.yml': '- hosts: localhost\n  tasks:\n    - name: from the imported playbook\n      debug: msg=x\n',
    'site.yml': [
      '- hosts: localhost',
      '  roles:',
      '    - app',
      '    - app',
      '    - { role: app, who: second }',
      '    - "{{ extra_role }}"',
      '  tasks:',
      '    - import_tasks: more.yml',
      '      when: do_it',
      '      tags: [imp]',
      '    - name: loop it',
      '      command: echo {{ item }}',
      '      with_items: [a, b]',
      '- import_playbook: other.yml',
      '  tags: [late]',
      '',
    ].join('\n'),
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the resolver', () => {
  it('expands roles with their dependencies first, once per play unless parameters differ', async () => {
    const pb = await loadPlaybook(join(dir, 'site.yml'), { extraVars: { extra_role: 'base' } });
    const play = pb.plays[0]!;
    // app (base first), app again skipped, app with other params (base already placed), then the templated "base" again: skipped.
    expect(taskNames(play.tasks.filter((n) => n.kind === 'block' && n.origin === 'role'))).toEqual(['base task', 'app task', 'app task']);
    expect(play.handlers.map((h) => h.name)).toEqual(['restart app', 'restart app']);
    const roleBlocks = play.tasks.filter((n): n is BlockNode => n.kind === 'block' && n.origin === 'role');
    expect(roleBlocks[2]!.role!.params).toEqual({ who: 'second' });
  });

  it('applies the when and tags of a static import to every imported task', async () => {
    const pb = await loadPlaybook(join(dir, 'site.yml'), { extraVars: { extra_role: 'base' } });
    const imported = pb.plays[0]!.tasks.find((n): n is BlockNode => n.kind === 'block' && n.origin === 'import_tasks')!;
    expect(imported.when).toEqual(['do_it']);
    expect(imported.tags).toEqual(['imp']);
    expect(taskNames(imported.block)).toEqual(['imported task']);
  });

  it('records with_items loops and the plays of import_playbook with their tags', async () => {
    const pb = await loadPlaybook(join(dir, 'site.yml'), { extraVars: { extra_role: 'base' } });
    const loop = pb.plays[0]!.tasks.find((n): n is TaskNode => n.kind === 'task' && n.name === 'loop it')!;
    expect(loop.loopKind).toBe('items');
    expect(loop.args).toEqual({ _raw_params: 'echo {{ item }}' });
    expect(pb.plays[1]!.tags).toEqual(['late']);
  });

  it('lists every file each play was built from, for cache digests', async () => {
    const pb = await loadPlaybook(join(dir, 'site.yml'), { extraVars: { extra_role: 'base' } });
    expect(pb.plays[0]!.files).toEqual(
      expect.arrayContaining([join(dir, 'site.yml'), join(dir, 'more.yml'), join(dir, 'roles/app/meta/main.yml'), join(dir, 'roles/base/defaults/main.yml')]),
    );
    expect(pb.files).toContain(join(dir, 'other.yml'));
  });

  it('returns a frozen plan', async () => {
    const pb = await loadPlaybook(join(dir, 'site.yml'), { extraVars: { extra_role: 'base' } });
    expect(Object.isFrozen(pb.plays[0]!.tasks)).toBe(true);
    expect(() => (pb.plays as unknown as unknown[]).push(1)).toThrow();
  });
});

describe('loops of imports', () => {
  it('names a task file that imports itself through another, at the import that closes the loop', async () => {
    await write({ 'loop/a.yml': '- import_tasks: b.yml\n', 'loop/b.yml': '- debug: msg=b\n- import_tasks: a.yml\n', 'loop.yml': '- hosts: localhost\n  tasks:\n    - import_tasks: loop/a.yml\n' });
    const err = await rejection(loadPlaybook(join(dir, 'loop.yml')));
    expect(err).toBeInstanceOf(ParseError);
    expect(err.message).toBe('import_tasks loop: loop/a.yml -> loop/b.yml -> loop/a.yml');
    expect((err as ParseError).pos).toEqual({ file: join(dir, 'loop/b.yml'), line: 2, col: 3 });
    expect((err as ParseError).exitCode).toBe(4);
  });

  it('names a role whose meta dependencies lead back to it, even with other parameters', async () => {
    await write({
      'roles/ping/meta/main.yml': 'dependencies:\n  - { role: pong, n: 1 }\n',
      'roles/pong/meta/main.yml': 'dependencies:\n  - { role: ping, n: 2 }\n',
      'pingpong.yml': '- hosts: localhost\n  roles: [ping]\n',
    });
    const err = await rejection(loadPlaybook(join(dir, 'pingpong.yml')));
    expect(err.message).toBe("role dependency loop: role 'ping' -> role 'pong' -> role 'ping'");
    expect((err as ParseError).pos).toMatchObject({ file: join(dir, 'roles/pong/meta/main.yml'), line: 2 });
  });

  it('names a task file that imports the role it belongs to', async () => {
    await write({ 'roles/selfish/tasks/main.yml': '- import_role: name=selfish\n', 'selfish.yml': '- hosts: localhost\n  roles: [selfish]\n' });
    expect((await rejection(loadPlaybook(join(dir, 'selfish.yml')))).message).toBe("import_role loop: role 'selfish' -> role 'selfish'");
  });

  it('accepts a file or role met twice on different branches (a diamond is no loop)', async () => {
    await write({
      'roles/top/meta/main.yml': 'dependencies: [left, right]\n',
      'roles/left/meta/main.yml': 'dependencies: [bottom]\n',
      'roles/right/meta/main.yml': 'dependencies: [bottom]\n',
      'roles/bottom/tasks/main.yml': '- name: bottom task\n  import_tasks: ../../../shared.yml\n',
      'shared.yml': '- name: shared task\n  debug: msg=x\n',
      'diamond.yml': '- hosts: localhost\n  roles: [top]\n  tasks:\n    - import_tasks: shared.yml\n    - import_tasks: shared.yml\n',
    });
    const pb = await loadPlaybook(join(dir, 'diamond.yml'));
    // bottom placed once (same parameters), shared.yml imported by it and twice by the play.
    expect(taskNames(pb.plays[0]!.tasks)).toEqual(['shared task', 'shared task', 'shared task']);
  });
});

describe('become_user other than root', () => {
  it('is refused at planning where it is written on an unconditional task', async () => {
    await write({ 'as-user.yml': '- hosts: localhost\n  tasks:\n    - command: id -un\n      become: true\n      become_user: postgres\n' });
    const err = await rejection(loadPlaybook(join(dir, 'as-user.yml')));
    expect(err.message).toBe('become_user: postgres: running a task as another user than root is not implemented in imgplay');
    expect((err as ParseError).pos).toMatchObject({ line: 5, col: 7 });
  });

  it('waits for the run on a task, a block or a role that runs only under a condition', async () => {
    await write({
      'roles/asuser/tasks/main.yml': '- debug: msg=x\n',
      'as-user-when.yml': [
        '- hosts: localhost',
        '  roles:',
        '    - { role: asuser, become: true, become_user: nobody, when: elsewhere }',
        '  tasks:',
        '    - command: id -un',
        '      become: true',
        '      become_user: postgres',
        '      when: elsewhere',
        '    - become: true',
        '      become_user: nobody',
        '      when: elsewhere',
        '      block:',
        '        - command: id -un',
        '    - when: elsewhere',
        '      block:',
        '        - command: id -un',
        '          become: true',
        '          become_user: nobody',
        '',
      ].join('\n'),
    });
    const pb = await loadPlaybook(join(dir, 'as-user-when.yml'));
    expect(taskNames(pb.plays[0]!.tasks)).toEqual(['debug', 'command', 'command', 'command']);
  });
});
