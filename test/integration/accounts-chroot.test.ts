// user and group in a real chroot (a copy of the minbase tree): accounts land in the tree's own
// /etc through its own shadow tools, and the build host's account files stay byte-identical.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lstat, readFile, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { copy } from '../../src/modules/copy.js';
import { file } from '../../src/modules/file.js';
import { group } from '../../src/modules/group.js';
import type { Module, ModuleResult } from '../../src/modules/types.js';
import { user } from '../../src/modules/user.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { makeContext, prepare } from '../support/module-cases.js';
import { skipWithout } from '../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);
const HOST_FILES = ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'];

describe.skipIf(skipChroot)('accounts in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  let conn: ChrootConnection;
  let mounts: string;
  const hostFiles = HOST_FILES.map((p) => [p, readFileSync(p)] as const);
  beforeAll(async () => {
    mounts = await mountsSnapshot();
    tree = await minbaseCopy();
    conn = await ChrootConnection.open(tree.root);
  }, 300_000);
  afterAll(async () => {
    await conn?.close();
    await tree?.cleanup();
    for (const [p, bytes] of hostFiles) expect(readFileSync(p).equals(bytes), `the build host's ${p} is unchanged`).toBe(true);
    expect(await mountsSnapshot()).toBe(mounts);
  });
  const root = (): string => tree?.root as string;
  const etc = (f: string): string => readFileSync(join(root(), 'etc', f), 'utf8');
  const line = (f: string, name: string): string | undefined => etc(f).split('\n').find((l) => l.startsWith(`${name}:`));
  const run = async <A>(mod: Module<A>, args: Record<string, unknown>, check = false): Promise<ModuleResult> =>
    mod.run(makeContext({ args: await prepare(mod, args), conn, check }));

  it('provisions a system user with a hash, a home, groups and a sudoers entry; twice; then removes it', async () => {
    const hash = execFileSync('openssl', ['passwd', '-6', 'imgplay-secret'], { encoding: 'utf8' }).trim();
    expect(hash).toMatch(/^\$6\$/);
    const account = { name: 'deploy', system: true, shell: '/bin/bash', home: '/home/deploy', groups: 'adm,users', password: hash };
    const sudoers = { content: 'deploy ALL=(ALL) NOPASSWD: ALL\n', dest: '/etc/sudoers.d/deploy', mode: '0440' };

    expect(await run(user, account, true)).toEqual({ changed: true });
    expect(line('passwd', 'deploy'), 'check mode adds nothing').toBeUndefined();

    const first = await run(user, account);
    expect(first).toMatchObject({ changed: true, name: 'deploy', system: true, home: '/home/deploy', shell: '/bin/bash', groups: 'adm,users' });
    expect(first.uid as number).toBeLessThan(1000);
    // sudo is not in minbase, so neither is the directory its package would bring.
    const dropInDir = { path: '/etc/sudoers.d', state: 'directory', mode: '0750' };
    expect(await run(file, dropInDir)).toMatchObject({ changed: true });
    expect(await run(copy, sudoers)).toMatchObject({ changed: true });

    const uid = first.uid as number;
    expect(line('passwd', 'deploy')).toBe(`deploy:x:${uid}:${first.group as number}::/home/deploy:/bin/bash`);
    expect(line('shadow', 'deploy')?.split(':')[1]).toBe(hash);
    expect(line('group', 'adm')?.split(':')[3]?.split(',')).toContain('deploy');
    expect(line('group', 'users')?.split(':')[3]?.split(',')).toContain('deploy');
    const home = await stat(join(root(), 'home/deploy'));
    expect([home.isDirectory(), home.uid, home.mode & 0o777]).toEqual([true, uid, 0o755]);
    expect((await readdir(join(root(), 'home/deploy'))).sort()).toEqual(['.bash_logout', '.bashrc', '.profile']);
    const dropIn = await lstat(join(root(), 'etc/sudoers.d/deploy'));
    expect([dropIn.mode & 0o7777, dropIn.uid]).toEqual([0o440, 0]);
    expect(await readFile(join(root(), 'etc/sudoers.d/deploy'), 'utf8')).toBe(sudoers.content);

    const before = HOST_FILES.map((f) => etc(f.slice(5)));
    expect(await run(user, account)).toMatchObject({ changed: false, uid });
    expect(await run(file, dropInDir)).toMatchObject({ changed: false });
    expect(await run(copy, sudoers)).toMatchObject({ changed: false });
    expect(await run(user, account, true)).toMatchObject({ changed: false });
    expect(HOST_FILES.map((f) => etc(f.slice(5))), 'the second run rewrites no account file').toEqual(before);

    expect(await run(user, { name: 'deploy', state: 'absent', remove: true }, true)).toEqual({ changed: true });
    expect(await run(user, { name: 'deploy', state: 'absent', remove: true })).toMatchObject({ changed: true, remove: true });
    expect(line('passwd', 'deploy')).toBeUndefined();
    expect(line('shadow', 'deploy')).toBeUndefined();
    await expect(stat(join(root(), 'home/deploy'))).rejects.toThrow(/ENOENT/);
    expect(await run(user, { name: 'deploy', state: 'absent', remove: true })).toMatchObject({ changed: false });
  });

  it("gives an existing account its missing home from /etc/skel, as Ansible does (and predicts it in check mode)", async () => {
    await run(user, { name: 'homeless', create_home: false });
    expect(await run(user, { name: 'homeless' }, true)).toMatchObject({ changed: true });
    await expect(stat(join(root(), 'home/homeless'))).rejects.toThrow(/ENOENT/);
    expect(await run(user, { name: 'homeless' })).toMatchObject({ changed: true, home: '/home/homeless' });
    expect((await readdir(join(root(), 'home/homeless'))).sort()).toEqual(['.bash_logout', '.bashrc', '.profile']);
    expect((await stat(join(root(), 'home/homeless/.profile'))).uid).toBe(Number(line('passwd', 'homeless')?.split(':')[2]));
    expect(await run(user, { name: 'homeless' })).toMatchObject({ changed: false });
  });

  it("dates a new account's last password change to SOURCE_DATE_EPOCH's day when imgplay's environment sets it", async () => {
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    // A connection of its own: the environment is taken when its shell starts.
    const pinned = await ChrootConnection.open(root());
    try {
      expect(await user.run(makeContext({ args: await prepare(user, { name: 'stamped' }), conn: pinned }))).toMatchObject({ changed: true });
      // 1700000000 s is day 19675 (2023-11-14), however long ago the build ran.
      expect(line('shadow', 'stamped')?.split(':')[2]).toBe('19675');
    } finally {
      await pinned.close();
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
  });

  it("sets password ageing with the tree's chage when the shadow entry differs, once; check mode predicts it", async () => {
    expect(await run(user, { name: 'ager', create_home: false })).toMatchObject({ changed: true });
    const fields = () => line('shadow', 'ager')?.split(':').slice(3, 5);
    expect(await run(user, { name: 'ager', password_expire_min: 1, password_expire_max: 90 })).toMatchObject({ changed: true });
    expect(fields()).toEqual(['1', '90']);
    expect(await run(user, { name: 'ager', password_expire_min: 1, password_expire_max: 90 })).toMatchObject({ changed: false });
    expect(await run(user, { name: 'ager', password_expire_max: 60 }, true)).toMatchObject({ changed: true });
    expect(fields(), 'check mode changes nothing').toEqual(['1', '90']);
    expect(await run(user, { name: 'ager', password_expire_max: 60 })).toMatchObject({ changed: true });
    expect(fields()).toEqual(['1', '60']);
    expect(await run(user, { name: 'ager', state: 'absent' })).toMatchObject({ changed: true });
  });

  it('creates the missing parents of a home that useradd cannot', async () => {
    expect(await run(user, { name: 'deep', home: '/srv/people/deep' })).toMatchObject({ changed: true, home: '/srv/people/deep' });
    const st = await stat(join(root(), 'srv/people/deep/.bashrc'));
    expect(st.uid).toBe(Number(line('passwd', 'deep')?.split(':')[2]));
  });

  it('fails naming useradd when the target does not have it', async () => {
    const tool = join(root(), 'usr/sbin/useradd');
    await rename(tool, `${tool}.away`);
    try {
      const r = await run(user, { name: 'nobody-new' });
      expect(r).toMatchObject({ failed: true });
      expect(String(r.msg)).toContain('useradd is not installed in the target');
    } finally {
      await rename(`${tool}.away`, tool);
    }
  });

  it('creates a group, makes it a new account\'s primary group, twice; then removes both', async () => {
    const steps = async (): Promise<boolean[]> => [
      (await run(group, { name: 'builders', gid: 3100 })).changed as boolean,
      (await run(user, { name: 'builder', group: 'builders', create_home: false })).changed as boolean,
    ];
    expect(await run(group, { name: 'builders', gid: 3100 }, true)).toEqual({ changed: true });
    expect(await steps()).toEqual([true, true]);
    expect(line('group', 'builders')).toBe('builders:x:3100:');
    expect(line('passwd', 'builder')?.split(':')[3]).toBe('3100');
    expect(await steps()).toEqual([false, false]);
    expect(await run(group, { name: 'builders', gid: 3101 }, true)).toMatchObject({ changed: true, gid: 3100 });

    const refused = await run(group, { name: 'builders', state: 'absent' });
    expect(refused).toMatchObject({ failed: true });
    expect(String(refused.msg)).toContain("cannot remove the primary group of user 'builder'");
    expect(await run(user, { name: 'builder', state: 'absent' })).toMatchObject({ changed: true });
    expect(await run(group, { name: 'builders', state: 'absent' })).toMatchObject({ changed: true, name: 'builders' });
    expect(line('group', 'builders')).toBeUndefined();
    expect(await run(group, { name: 'builders', state: 'absent' })).toMatchObject({ changed: false });
  });
});
