// The shared .deb cache in real chroots: what apt downloads in one tree is found by the next, no tree keeps a copy,
// concurrent sessions never fight over apt's lock, a damaged cached file is fetched again, and every mount goes.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { DebCacheSession } from '../../src/host/deb-cache.js';
import { MountGuard } from '../../src/host/mount-guard.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { skipWithout } from '../support/needs.js';

const unavailable = await minbaseUnavailable();

// apt reads only the test's repository (copy: makes apt fetch into its archives, as from a mirror): no network.
const APT = ['-o', 'Dir::Etc::sourcelist=/srv/imgplay-test.list', '-o', 'Dir::Etc::sourceparts=-', '-o', 'APT::Get::List-Cleanup=0'];

describe.skipIf(skipWithout(unavailable))('the shared .deb cache', () => {
  const trees: { root: string; cleanup(): Promise<void> }[] = [];
  let work: string;
  let cache: string;
  let debFile: string;
  let mountsBefore: string;

  beforeAll(async () => {
    mountsBefore = await mountsSnapshot();
    work = await mkdtemp(join(tmpdir(), 'imgplay-deb-cache-'));
    cache = join(work, 'cache');
    const pkg = join(work, 'pkg');
    await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
    await mkdir(join(pkg, 'usr/bin'), { recursive: true });
    await writeFile(join(pkg, 'DEBIAN/control'), 'Package: imgplay-cached\nVersion: 1.0\nArchitecture: all\nMaintainer: imgplay tests <t@example.invalid>\nDescription: a package the cache keeps\n');
    await writeFile(join(pkg, 'usr/bin/imgplay-cached'), '#!/bin/sh\necho cached\n', { mode: 0o755 });
    debFile = join(work, 'imgplay-cached_1.0_all.deb');
    await execa('dpkg-deb', ['--root-owner-group', '--build', pkg, debFile]);
  }, 120_000);

  afterAll(async () => {
    for (const t of trees) await t.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
    expect(await mountsSnapshot()).toBe(mountsBefore);
  });

  // A fresh tree whose only apt source is a local repository, with the .deb in it or (withDeb false) only its index.
  async function treeWithRepo(withDeb = true): Promise<string> {
    const tree = await minbaseCopy();
    trees.push(tree);
    const repo = join(tree.root, 'srv/repo');
    await mkdir(repo, { recursive: true });
    await execa('cp', [debFile, repo]);
    const { stdout } = await execa('dpkg-scanpackages', ['--multiversion', '.'], { cwd: repo });
    await writeFile(join(repo, 'Packages'), `${stdout}\n`);
    if (!withDeb) await rm(join(repo, 'imgplay-cached_1.0_all.deb'));
    await writeFile(join(tree.root, 'srv/imgplay-test.list'), 'deb [trusted=yes] copy:/srv/repo ./\n');
    return tree.root;
  }

  async function install(conn: ChrootConnection): Promise<{ rc: number; out: string }> {
    const update = await conn.exec(['apt-get', ...APT, 'update']);
    if (update.rc !== 0) return { rc: update.rc, out: update.stdout + update.stderr };
    const r = await conn.exec(['apt-get', ...APT, 'install', '-y', 'imgplay-cached']);
    return { rc: r.rc, out: r.stdout + r.stderr };
  }

  const debsIn = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.deb'));

  it("keeps what one tree's apt downloaded, even past apt-get clean, and the tree keeps no copy", async () => {
    const root = await treeWithRepo();
    const conn = await ChrootConnection.open(root, { systemMounts: true, debCache: cache });
    try {
      const r = await install(conn);
      expect(r.rc, r.out).toBe(0);
      expect((await conn.exec(['apt-get', 'clean'])).rc).toBe(0);
    } finally {
      await conn.close();
    }
    expect(await debsIn(cache)).toEqual(['imgplay-cached_1.0_all.deb']);
    expect(await readFile(join(cache, 'imgplay-cached_1.0_all.deb'))).toEqual(await readFile(debFile));
    expect(await debsIn(join(root, 'var/cache/apt/archives'))).toEqual([]);
    expect(await readdir(join(cache, '.sessions'))).toEqual([]);
  }, 300_000);

  it('installs in another tree from the cache a package its repository no longer has the file of', async () => {
    const root = await treeWithRepo(false);
    const conn = await ChrootConnection.open(root, { systemMounts: true, debCache: cache });
    try {
      const r = await install(conn);
      expect(r.rc, r.out).toBe(0);
      expect((await conn.exec(['imgplay-cached'])).stdout).toBe('cached');
    } finally {
      await conn.close();
    }
  }, 300_000);

  it('lets two trees install at once without either waiting on the other’s apt lock', async () => {
    const [a, b] = await Promise.all([treeWithRepo(), treeWithRepo()]);
    const conns = await Promise.all([a!, b!].map((root) => ChrootConnection.open(root, { systemMounts: true, debCache: cache })));
    try {
      const results = await Promise.all(conns.map((c) => install(c)));
      for (const r of results) expect(r.rc, r.out).toBe(0);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  }, 300_000);

  it('fetches a damaged cached file again, as apt checks it against the index, and the cache gets the good one', async () => {
    await writeFile(join(cache, 'imgplay-cached_1.0_all.deb'), 'not the package\n');
    const root = await treeWithRepo();
    const conn = await ChrootConnection.open(root, { systemMounts: true, debCache: cache });
    try {
      const r = await install(conn);
      expect(r.rc, r.out).toBe(0);
    } finally {
      await conn.close();
    }
    expect(await readFile(join(cache, 'imgplay-cached_1.0_all.deb'))).toEqual(await readFile(debFile));
  }, 300_000);

  it('refuses a relative cache path or one with spaces, naming the variable', async () => {
    const guard = new MountGuard('test');
    await expect(DebCacheSession.open('cache/debs', work, guard)).resolves.toBeUndefined();
    await mkdir(join(work, 'var/cache/apt/archives'), { recursive: true });
    await expect(DebCacheSession.open('cache/debs', work, guard)).rejects.toThrow("the .deb cache must be an absolute path without spaces, not 'cache/debs' (imgplay_deb_cache)");
    await expect(DebCacheSession.start('/var/cache/my debs')).rejects.toThrow(/without spaces/);
    expect(guard.mounts).toEqual([]);
  });

  it('removes the folder of a session whose process is gone', async () => {
    const dead = join(cache, '.sessions', '999999999-deadbeef');
    await mkdir(join(dead, 'partial'), { recursive: true });
    const session = await DebCacheSession.start(cache);
    try {
      expect(existsSync(dead)).toBe(false);
    } finally {
      await session.remove();
    }
  });
});
