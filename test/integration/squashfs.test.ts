// The squashfs base image: built from a real minbase tree, mounted back read-only and looked into.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeGuards, withMountGuard } from '../../src/host/mount-guard.js';
import { removeTree } from '../../src/host/mount-table.js';
import { buildSquashfs, treeKernelVersions, type SquashfsCompression } from '../../src/image/squashfs.js';
import { minbaseTree, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { rejection } from '../support/thrown.js';
import { skipWithout } from '../support/needs.js';

const isRoot = process.getuid?.() === 0;
const unavailable = isRoot ? await minbaseUnavailable() : 'needs root to mount images';
const EPOCH = 1_700_000_000;
let scratch: string;
let before: string;

beforeAll(async () => {
  before = await mountsSnapshot();
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-squashfs-')));
});
afterEach(() => {
  expect(activeGuards(), 'guards left holding mounts').toEqual([]);
});
afterAll(async () => {
  expect(await mountsSnapshot()).toBe(before);
  await removeTree(scratch);
});

// Mounts an image read-only through a guard, lets `look` read it, and unmounts it again.
async function lookInside<T>(image: string, look: (mnt: string) => Promise<T>): Promise<T> {
  const mnt = await realpath(await mkdtemp(join(scratch, 'mnt-')));
  return withMountGuard('squashfs-test', async (guard) => {
    await guard.mount({ source: image, target: mnt, fstype: 'squashfs', options: ['ro', 'loop'] });
    return look(mnt);
  });
}

describe.skipIf(skipWithout(unavailable))('a squashfs base image', () => {
  it.each<SquashfsCompression>(['zstd', 'xz', 'gzip', 'lz4'])(
    'built with %s mounts read-only with a shell, os-release and empty mount points',
    async (compression) => {
      const tree = await minbaseTree();
      const dest = join(scratch, `base.${compression}.squashfs.img`);
      // zstd at level 3: its default (15) takes 25 times as long for an image only 11% smaller.
      const level = compression === 'zstd' ? 3 : undefined;
      const built = await buildSquashfs({ root: tree, dest, compression, level, processors: 2, sourceDateEpoch: EPOCH });
      expect(built.path).toBe(dest);
      expect(built.size).toBe((await stat(dest)).size);
      expect(built.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(await readdir(scratch)).not.toContainEqual(expect.stringContaining('.tmp-'));
      await lookInside(dest, async (mnt) => {
        expect((await stat(join(mnt, 'bin/sh'))).isFile()).toBe(true);
        expect(await readFile(join(mnt, 'etc/os-release'), 'utf8')).toContain('VERSION_CODENAME=bookworm');
        for (const d of ['proc', 'sys', 'dev', 'run', 'tmp']) {
          expect((await stat(join(mnt, d))).isDirectory(), `${d} is a directory`).toBe(true);
          expect(await readdir(join(mnt, d)), `${d} is empty`).toEqual([]);
        }
        // The tree's dev holds device nodes (debootstrap makes them): the image must not.
        expect((await readdir(join(tree, 'dev'))).length).toBeGreaterThan(0);
        expect((await stat(join(mnt, 'etc/os-release'))).mtimeMs).toBe(EPOCH * 1000);
        expect((await stat(join(mnt, 'etc/shadow'))).mode & 0o777).toBe((await stat(join(tree, 'etc/shadow'))).mode & 0o777);
      });
    },
    300_000,
  );

  it('is byte-identical when built twice with the same SOURCE_DATE_EPOCH', async () => {
    const tree = await minbaseTree();
    const a = await buildSquashfs({ root: tree, dest: join(scratch, 'a.img'), compression: 'lz4', processors: 2, sourceDateEpoch: EPOCH });
    const b = await buildSquashfs({ root: tree, dest: join(scratch, 'b.img'), compression: 'lz4', processors: 2, sourceDateEpoch: EPOCH });
    expect(a.sha256).toBe(b.sha256);
    expect(Buffer.compare(await readFile(a.path), await readFile(b.path))).toBe(0);
  }, 300_000);

  it('leaves out the contents of excluded directories, dotfiles too, and keeps what is not excluded', async () => {
    const root = join(scratch, 'small');
    for (const d of ['tmp/.X11-unix', 'run/lock', 'opt/keep', 'lib/modules/6.1.0-18-amd64', 'lib/modules/6.1.0-9-amd64']) {
      await mkdir(join(root, d), { recursive: true });
    }
    await writeFile(join(root, 'tmp/.hidden'), 'x');
    await writeFile(join(root, 'opt/keep/tmp'), 'kept');
    const dest = join(scratch, 'small.img');
    await buildSquashfs({ root, dest, compression: 'gzip', level: 9, excludes: ['tmp', 'run', 'opt/keep/missing'] });
    await lookInside(dest, async (mnt) => {
      expect(await readdir(join(mnt, 'tmp'))).toEqual([]);
      expect(await readdir(join(mnt, 'run'))).toEqual([]);
      expect(await readFile(join(mnt, 'opt/keep/tmp'), 'utf8')).toBe('kept');
    });
    expect(await treeKernelVersions(root)).toEqual(['6.1.0-18-amd64', '6.1.0-9-amd64']);
    expect(await treeKernelVersions(join(scratch, 'no-such-root'))).toEqual([]);
  });

  it('refuses a tree with something mounted inside it, before writing anything', async () => {
    const root = join(scratch, 'mounted');
    await mkdir(join(root, 'proc'), { recursive: true });
    const dest = join(scratch, 'mounted.img');
    const err = await withMountGuard('squashfs-test', async (guard) => {
      await guard.mount({ source: 'proc', target: join(root, 'proc'), fstype: 'proc' });
      return rejection(buildSquashfs({ root, dest, compression: 'lz4' }));
    });
    expect(err.message).toContain(`refusing to build a squashfs of ${root}: mounted inside it: ${join(root, 'proc')}`);
    expect(existsSync(dest)).toBe(false);
  });

  it('names the command and mksquashfs\'s words when it fails, and leaves no file behind', async () => {
    const dest = join(scratch, 'missing-dir', 'base.img');
    const err = await rejection(buildSquashfs({ root: join(scratch, 'small'), dest, compression: 'lz4' }));
    expect(err.message).toMatch(/^could not build a squashfs of .*: mksquashfs exited 1\n {2}mksquashfs /);
    expect(err.message).toContain('-comp lz4');
    expect(existsSync(join(scratch, 'missing-dir'))).toBe(false);
  });

  it('stops when aborted and leaves no image, temporary or final', async () => {
    const tree = await minbaseTree();
    const dir = await mkdtemp(join(scratch, 'abort-'));
    const dest = join(dir, 'base.img');
    const err = await rejection(buildSquashfs({ root: tree, dest, compression: 'xz', processors: 1, signal: AbortSignal.timeout(1500) }));
    expect(err.message).toContain('was interrupted');
    expect(await readdir(dir)).toEqual([]);
  }, 60_000);

  it('refuses a level the compressor does not have', async () => {
    const err = await rejection(buildSquashfs({ root: scratch, dest: join(scratch, 'x.img'), compression: 'xz', level: 9 }));
    expect(err.message).toBe('squashfs compression xz takes no level (got 9)');
  });
});
