// Overlay archives: a real overlayfs upper layer, archived, read back, unpacked and mounted again.
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OPAQUE_LIST, buildOverlayCpio, listCpio, opaqueDirs, type CpioEntry } from '../../src/image/cpio.js';
import { MountGuard, activeGuards } from '../../src/host/mount-guard.js';
import { removeTree } from '../../src/host/mount-table.js';
import { mountsSnapshot } from '../support/minbase.js';
import { rejection } from '../support/thrown.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';

const isRoot = process.getuid?.() === 0;
const EPOCH = 1_700_000_000;
let scratch: string;
let before: string;
// One tmpfs for the whole file: lower, upper and work dirs need a file system that takes trusted xattrs.
let guard: MountGuard;
let t: string;

beforeAll(async () => {
  before = await mountsSnapshot();
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-cpio-')));
  if (!isRoot) return;
  guard = new MountGuard('overlay-cpio-test');
  t = join(scratch, 't');
  await mkdir(t);
  await guard.mount({ source: 'imgplay-test', target: t, fstype: 'tmpfs', options: ['size=64m', 'mode=0755'] });
});
afterEach(() => {
  expect(activeGuards().filter((g) => g !== guard), 'guards left holding mounts').toEqual([]);
});
afterAll(async () => {
  await guard?.release();
  expect(await mountsSnapshot()).toBe(before);
  await removeTree(scratch);
});

async function dirs(...names: string[]): Promise<string[]> {
  return Promise.all(
    names.map(async (n) => {
      await mkdir(join(t, n), { recursive: true });
      return join(t, n);
    }),
  );
}

async function mountOverlay(lower: string, upper: string, work: string, merged: string): Promise<void> {
  await guard.mount({ source: 'overlay', target: merged, fstype: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] });
}

// A lower layer, then changes made through the overlay as a provisioner would make them.
async function provisionedUpper(name: string): Promise<{ lower: string; upper: string }> {
  const [lower, upper, work, merged] = await dirs(`${name}/lower`, `${name}/upper`, `${name}/work`, `${name}/merged`) as [string, string, string, string];
  await mkdir(join(lower, 'etc'));
  await writeFile(join(lower, 'etc/keep'), 'kept\n');
  await writeFile(join(lower, 'etc/gone'), 'deleted by the overlay\n');
  await mkdir(join(lower, 'opt/tool/lib'), { recursive: true });
  await writeFile(join(lower, 'opt/tool/lib/old.so'), 'old');
  await writeFile(join(lower, 'opt/tool/README'), 'old');
  await mountOverlay(lower, upper, work, merged);
  await rm(join(merged, 'etc/gone'));
  await rm(join(merged, 'opt/tool'), { recursive: true });
  await mkdir(join(merged, 'opt/tool'));
  await writeFile(join(merged, 'opt/tool/new'), 'new\n');
  await mkdir(join(merged, 'opt/downloads'), { mode: 0o777 });
  await execa('chmod', ['1777', join(merged, 'opt/downloads')]);
  await writeFile(join(merged, 'etc/secret'), 'x', { mode: 0o640 });
  await execa('chown', ['1000:1000', join(merged, 'etc/secret')]);
  await symlink('secret', join(merged, 'etc/link'));
  await link(join(merged, 'etc/secret'), join(merged, 'etc/hardlink'));
  await execa('mknod', ['-m', '0666', join(merged, 'etc/mynull'), 'c', '1', '3']);
  await execa('mkfifo', [join(merged, 'etc/fifo')]);
  await guard.unmount(merged);
  return { lower, upper };
}

const byPath = (entries: CpioEntry[]): Map<string, CpioEntry> => new Map(entries.map((e) => [e.path, e]));

describe.skipIf(skipWithout(lacking(root)))('an overlay archive', () => {
  it('carries whiteouts, the opaque list, owners, modes, links and special files', async () => {
    const { upper } = await provisionedUpper('one');
    expect(await opaqueDirs(upper)).toEqual(['opt/tool']);
    const dest = join(scratch, 'discovery.overlay.cpio.gz');
    const built = await buildOverlayCpio({ upper, dest, sourceDateEpoch: EPOCH });
    expect(built.size).toBe((await stat(dest)).size);
    expect(await readdir(scratch)).not.toContainEqual(expect.stringContaining('.tmp-'));
    expect(existsSync(join(upper, '.imgplay')), 'the opaque list is not left in the upper dir').toBe(false);

    const entries = await listCpio(dest);
    expect(built.entries).toBe(entries.length);
    const e = byPath(entries);
    // Bytewise order, except that GNU cpio writes a hard-linked file's links together at the end.
    const ordered = entries.filter((x) => x.type !== 'file' || x.nlink === 1).map((x) => x.path);
    expect(ordered).toEqual([...ordered].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(e.get('etc/gone')).toMatchObject({ type: 'char', rdev: { major: 0, minor: 0 } });
    expect(e.get('etc/keep'), 'unchanged lower files are not in the upper layer').toBeUndefined();
    expect(e.get(OPAQUE_LIST)).toMatchObject({ type: 'file', size: 'opt/tool\n'.length, uid: 0, gid: 0 });
    expect(e.get('etc/secret')).toMatchObject({ type: 'file', mode: 0o640, uid: 1000, gid: 1000, nlink: 2 });
    expect(e.get('etc/hardlink')).toMatchObject({ type: 'file', uid: 1000, nlink: 2 });
    expect(e.get('etc/link')).toMatchObject({ type: 'symlink', target: 'secret' });
    expect(e.get('etc/mynull')).toMatchObject({ type: 'char', mode: 0o666, rdev: { major: 1, minor: 3 } });
    expect(e.get('etc/fifo')).toMatchObject({ type: 'fifo' });
    expect(e.get('opt/downloads')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(e.get('opt/tool/new')).toMatchObject({ type: 'file', size: 4 });
    expect(entries.every((x) => x.mtime <= EPOCH)).toBe(true);
    expect(e.get('opt/tool/new')?.mtime).toBe(EPOCH);
  });

  it.skipIf(skipWithout(lacking(file('/usr/bin/python3', 'python3'))))('unpacks into a fresh upper layer that keeps deleted files deleted and replaced directories replaced', async () => {
    const { lower, upper } = await provisionedUpper('two');
    const dest = join(scratch, 'two.cpio.gz');
    await buildOverlayCpio({ upper, dest });
    const [upper2, work2, merged2] = await dirs('two/upper2', 'two/work2', 'two/merged2') as [string, string, string];
    // What the boot script does: gzip -d | cpio -i into the tmpfs upper, re-mark opaque dirs, drop .imgplay.
    await execa('sh', ['-c', 'gzip -dc "$1" | cpio -idm --quiet', 'sh', dest], { cwd: upper2 });
    const opaque = (await readFile(join(upper2, OPAQUE_LIST), 'utf8')).split('\n').filter((l) => l !== '');
    expect(opaque).toEqual(['opt/tool']);
    for (const d of opaque) {
      await execa('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")', join(upper2, d)]);
    }
    await rm(join(upper2, '.imgplay'), { recursive: true });
    await mountOverlay(lower, upper2, work2, merged2);
    try {
      expect(existsSync(join(merged2, 'etc/gone'))).toBe(false);
      expect(await readFile(join(merged2, 'etc/keep'), 'utf8')).toBe('kept\n');
      expect(await readdir(join(merged2, 'opt/tool'))).toEqual(['new']);
      expect(await readlink(join(merged2, 'etc/link'))).toBe('secret');
      const secret = await stat(join(merged2, 'etc/secret'));
      expect([secret.uid, secret.gid, secret.mode & 0o7777, secret.nlink]).toEqual([1000, 1000, 0o640, 2]);
      expect((await stat(join(merged2, 'etc/mynull'))).rdev).toBe((await stat('/dev/null')).rdev);
      expect((await stat(join(merged2, 'etc/fifo'))).isFIFO()).toBe(true);
      expect((await stat(join(merged2, 'opt/downloads'))).mode & 0o7777).toBe(0o1777);
    } finally {
      await guard.unmount(merged2);
    }
  });

  it('is byte-identical when built twice with the same SOURCE_DATE_EPOCH', async () => {
    const { upper } = await provisionedUpper('three');
    const a = await buildOverlayCpio({ upper, dest: join(scratch, 'a.cpio.gz'), sourceDateEpoch: EPOCH });
    const b = await buildOverlayCpio({ upper, dest: join(scratch, 'b.cpio.gz'), sourceDateEpoch: EPOCH });
    expect(a.sha256).toBe(b.sha256);
    expect(Buffer.compare(await readFile(a.path), await readFile(b.path))).toBe(0);
  });

  it('refuses an upper directory with something mounted inside it', async () => {
    const [upper, inner] = await dirs('four/upper', 'four/upper/proc') as [string, string];
    await guard.mount({ source: 'proc', target: inner, fstype: 'proc' });
    try {
      const err = await rejection(buildOverlayCpio({ upper, dest: join(scratch, 'four.cpio.gz') }));
      expect(err.message).toBe(`refusing to archive ${upper}: mounted inside it: ${inner}`);
    } finally {
      await guard.unmount(inner);
    }
    expect(existsSync(join(scratch, 'four.cpio.gz'))).toBe(false);
  });

  it('says why when the destination cannot be written, and leaves nothing behind', async () => {
    const [upper] = await dirs('five/upper');
    const err = await rejection(buildOverlayCpio({ upper: upper as string, dest: join(scratch, 'missing', 'five.cpio.gz') }));
    expect(err.message).toBe(`cannot write the archive ${join(scratch, 'missing', 'five.cpio.gz')}: ${join(scratch, 'missing')} does not exist`);
    expect(existsSync(join(scratch, 'missing'))).toBe(false);
    expect(existsSync(join(upper as string, '.imgplay'))).toBe(false);
  });
});
