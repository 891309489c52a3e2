// The mount module for real: mounts go through the connection's guard and are undone when it
// closes; a chroot's paths stay inside the tree; fstab is written only when `fstab` names a file.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { LocalConnection } from '../../src/connection/local.js';
import type { Connection } from '../../src/connection/types.js';
import { mountTable, mountsUnder, removeTree } from '../../src/host/mount-table.js';
import { file } from '../../src/modules/file.js';
import { mount } from '../../src/modules/mount.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { makeContext, prepare } from '../support/module-cases.js';
import { lacking, root, skipWithout } from '../support/needs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const imgplay = join(here, '..', '..', 'bin', 'imgplay.js');
const hostFstab = readFileSync('/etc/fstab', 'utf8');
let scratch: string;
let before: string;

beforeAll(async () => {
  before = await mountsSnapshot();
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-mount-')));
});
afterAll(async () => {
  expect(await mountsSnapshot()).toBe(before);
  expect(readFileSync('/etc/fstab', 'utf8'), "the build host's /etc/fstab").toBe(hostFstab);
  await removeTree(scratch);
});

const run = async (conn: Connection, args: Record<string, unknown>, check = false) => mount.run(makeContext({ args: await prepare(mount, args), conn, check }));
const mountedUnder = async (d: string) => mountsUnder(await mountTable(), d);

describe.skipIf(skipWithout(lacking(root)))('mount on the build host', () => {
  it('mounts a tmpfs once, reports no change the second time, and the connection undoes it', async () => {
    const conn = new LocalConnection();
    const path = join(scratch, 'work');
    try {
      expect((await run(conn, { path, src: 'tmpfs', fstype: 'tmpfs', opts: 'size=8m', state: 'mounted' }, true)).changed).toBe(true);
      expect(await mountedUnder(path)).toEqual([]);
      expect((await run(conn, { path, src: 'tmpfs', fstype: 'tmpfs', opts: 'size=8m', state: 'mounted' })).changed).toBe(true);
      expect(await mountedUnder(path)).toEqual([path]);
      expect((await run(conn, { path, src: 'tmpfs', fstype: 'tmpfs', opts: 'size=8m', state: 'mounted' })).changed).toBe(false);
    } finally {
      await conn.close();
    }
    expect(await mountedUnder(path)).toEqual([]);
  });

  it('unmounts and removes the mount point for state=absent', async () => {
    const conn = new LocalConnection();
    const path = join(scratch, 'gone');
    try {
      await run(conn, { path, src: join(scratch, 'gone-src'), opts: 'bind', state: 'mounted' }).then((r) => expect(r.msg).toContain('does not exist'));
      await mkdir(join(scratch, 'gone-src'));
      expect((await run(conn, { path, src: join(scratch, 'gone-src'), opts: 'bind,ro', state: 'mounted' })).failed).toBeFalsy();
      expect(await mountedUnder(path)).toEqual([path]);
      expect((await run(conn, { path, state: 'absent' })).changed).toBe(true);
      expect(await mountedUnder(path)).toEqual([]);
      await expect(stat(path)).rejects.toThrow(/ENOENT/);
      expect((await run(conn, { path, state: 'absent' })).changed).toBe(false);
    } finally {
      await conn.close();
    }
  });

  it('writes an fstab line only to the file `fstab` names', async () => {
    const conn = new LocalConnection();
    const fstab = join(scratch, 'fstab');
    await writeFile(fstab, '# static\nproc /proc proc defaults 0 0\n');
    try {
      const args = { path: '/srv/images', src: 'LABEL=images', fstype: 'ext4', opts: 'ro', state: 'present', fstab, boot: false };
      expect((await run(conn, args)).changed).toBe(true);
      expect(await readFile(fstab, 'utf8')).toBe('# static\nproc /proc proc defaults 0 0\nLABEL=images /srv/images ext4 ro,noauto 0 0\n');
      expect((await run(conn, args)).changed).toBe(false);
      expect((await run(conn, { path: '/srv/images', state: 'present', src: 'LABEL=images', fstype: 'ext4' })).msg).toContain('only when `fstab` names it');
    } finally {
      await conn.close();
    }
  });

  it('keeps file state=absent from deleting a tree with a mount inside it', async () => {
    const conn = new LocalConnection();
    const root = join(scratch, 'buildroot');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/keep'), 'x');
    try {
      expect((await run(conn, { path: join(root, 'proc'), src: 'proc', fstype: 'proc', state: 'mounted' })).changed).toBe(true);
      const r = await file.run(makeContext({ args: await prepare(file, { path: root, state: 'absent' }), conn }));
      expect(r.failed).toBe(true);
      expect(r.msg).toContain(`refusing to delete ${root}: something is mounted inside it (${join(root, 'proc')})`);
      expect(await readFile(join(root, 'etc/keep'), 'utf8')).toBe('x');
    } finally {
      await conn.close();
    }
  });

  it('refuses recursive binds, which the guard could not undo one by one', async () => {
    const conn = new LocalConnection();
    expect((await run(conn, { path: join(scratch, 'r'), src: '/dev', opts: 'rbind', state: 'mounted' })).msg).toContain('rbind');
    await conn.close();
  });

  it('leaves nothing mounted when a later task of the playbook fails', async () => {
    const dir = join(scratch, 'playbook');
    await mkdir(dir);
    await writeFile(
      join(dir, 'site.yml'),
      `- hosts: localhost\n  gather_facts: false\n  tasks:\n    - mount: { path: "${dir}/mnt", src: tmpfs, fstype: tmpfs, state: mounted }\n    - command: test -n "$(ls -d ${dir}/mnt)"\n    - fail: { msg: provisioner failed halfway }\n`,
    );
    const r = await execa('node', [imgplay, 'site.yml'], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    expect(r.exitCode, r.stdout).toBe(2);
    expect(r.stdout).toMatch(/ok=2 +changed=2 +unreachable=0 +failed=1/);
    expect(await mountedUnder(dir)).toEqual([]);
  });
});

const minbase = await minbaseUnavailable();

describe.skipIf(skipWithout(lacking(root, minbase)))('mount in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  beforeAll(async () => {
    tree = await minbaseCopy();
  }, 120_000);
  afterAll(async () => {
    await tree?.cleanup();
  });

  it('mounts at the path inside the tree, even through a link that points at the host', async () => {
    const root = tree?.root as string;
    await symlink('/var/tmp', join(root, 'scratch'));
    const conn = await ChrootConnection.open(root);
    try {
      const r = await run(conn, { path: '/scratch/cache', src: 'tmpfs', fstype: 'tmpfs', state: 'mounted' });
      expect(r.failed, r.msg).toBeFalsy();
      expect(await mountedUnder(root)).toEqual([join(root, 'var/tmp/cache')]);
      expect((await conn.exec('mkdir -p /var/tmp/cache/x && grep -c " /var/tmp/cache " /proc/mounts || true')).rc).toBe(0);
    } finally {
      await conn.close();
    }
    expect(await mountedUnder(root)).toEqual([]);
  });
});
