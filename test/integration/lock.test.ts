// `imgplay lock` and locked builds against a real apt archive made in the test: tiny .debs built with dpkg-deb,
// indexed with apt-ftparchive, served over HTTP on 127.0.0.1; the stage is an overlay over a base image made
// from the cached minbase tree (test/integration/lock), as all.yml's overlays are.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedPackagesOf } from '../../src/image/dpkg-status.js';
import { recordArtifact } from '../../src/image/manifest.js';
import { parseLock } from '../../src/image/lock-file.js';
import { honourLock } from '../../src/image/lock-honour.js';
import { bootstrap } from '../../src/image/bootstrap.js';
import { minbaseTree, minbaseUnavailable } from '../support/minbase.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const imgplay = join(here, '..', '..', 'bin', 'imgplay.js');
const unavailable = lacking(
  root,
  file('/usr/bin/mksquashfs', 'squashfs-tools'),
  file('/usr/bin/apt-ftparchive', 'apt-utils'),
  file('/usr/bin/dpkg-deb', 'dpkg'),
  await minbaseUnavailable(),
);

let scratch: string;
let mountsBefore: string;
let server: Server;
let repoUrl: string;
const started = performance.now();

const repo = () => join(scratch, 'repo');
const project = () => join(scratch, 'project');
const cacheDir = () => join(scratch, 'cache');
const baseImage = () => join(scratch, 'base', 'base.bookworm.6.1.0-1-amd64.squashfs.img');

/** Builds `name_version_all.deb` into the archive's pool (the bytes of `payload` in /usr/share/<name>/payload). */
async function buildDeb(name: string, version: string, opts: { depends?: string; payload?: string } = {}): Promise<string> {
  const tree = join(scratch, 'debs', `${name}-${version}`);
  await rm(tree, { recursive: true, force: true });
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(join(tree, 'usr/share', name), { recursive: true });
  await writeFile(join(tree, 'usr/share', name, 'payload'), opts.payload ?? `${name} ${version}\n`);
  const control = [`Package: ${name}`, `Version: ${version}`, 'Architecture: all', 'Maintainer: imgplay tests <tests@example.invalid>', ...(opts.depends ? [`Depends: ${opts.depends}`] : []), `Description: ${name}, a test package`, ''];
  await writeFile(join(tree, 'DEBIAN', 'control'), control.join('\n'));
  const deb = join(repo(), 'pool', `${name}_${version}_all.deb`);
  await mkdir(join(repo(), 'pool'), { recursive: true });
  await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, deb], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
  return deb;
}

/** Indexes the pool as a flat repository: Packages, Packages.gz and a Release file naming both. */
async function publish(): Promise<void> {
  const packages = (await execa('apt-ftparchive', ['packages', 'pool'], { cwd: repo() })).stdout;
  await writeFile(join(repo(), 'Packages'), `${packages}\n`);
  await execa('sh', ['-c', 'gzip -9nc Packages > Packages.gz'], { cwd: repo() });
  // A new Date each time, as a real archive's: the suite's state changes with every publication.
  const release = (await execa('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Origin=imgplay-test', 'release', '.'], { cwd: repo() })).stdout;
  await writeFile(join(repo(), 'Release'), `${release}\n`);
}

const sha256Of = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

async function run(...args: string[]) {
  const r = await execa('node', [imgplay, ...args, '-e', `build_dir=${scratch}/build`, '-e', `base_image=${baseImage()}`, '-e', `repo_url=${repoUrl}`, '--cache-dir', cacheDir()], {
    cwd: project(),
    reject: false,
    env: { NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000', http_proxy: '', HTTP_PROXY: '' },
  });
  return { code: r.exitCode, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

const lockFile = async () => parseLock(await readFile(join(project(), 'imgplay.lock'), 'utf8'), 'imgplay.lock');
const lockedVersions = async () => (await lockFile()).stages['overlay/tiny']?.map((p) => `${p.name} ${p.version}`);
const overlayFiles = async () => (await execa('sh', ['-c', `gzip -dc '${join(project(), 'builds', 'tiny.overlay.cpio.gz')}' | cpio -t --quiet`])).stdout.split('\n');
const builtPackages = async () => {
  const m = JSON.parse(await readFile(join(project(), 'builds', 'manifest.json'), 'utf8')) as { artifacts: Array<{ name: string; packageDelta?: { added: Array<{ name: string; version: string }> } }> };
  return m.artifacts.find((a) => a.name === 'tiny.overlay.cpio.gz')?.packageDelta?.added.map((p) => `${p.name} ${p.version}`);
};

beforeAll(async () => {
  mountsBefore = await readFile('/proc/mounts', 'utf8');
  scratch = await mkdtemp('/var/tmp/imgplay-lock-test-');
  await buildDeb('imgplay-lock-lib', '1.0');
  await buildDeb('imgplay-lock-hello', '1.0', { depends: 'imgplay-lock-lib' });
  await publish();
  // A static file server over the archive, on loopback only.
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const full = join(repo(), path);
    if (!full.startsWith(`${repo()}/`)) {
      res.writeHead(403).end();
      return;
    }
    stat(full).then(
      (st) => {
        if (!st.isFile()) throw new Error('not a file');
        res.writeHead(200, { 'content-length': st.size });
        createReadStream(full).pipe(res);
      },
      () => res.writeHead(404).end(),
    ).catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  repoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // The base: the minbase tree as a quick squashfs, recorded in its own builds folder (an overlay names its base's entry).
  const tree = await minbaseTree();
  await mkdir(join(scratch, 'base'), { recursive: true });
  await execa('mksquashfs', [tree, baseImage(), '-comp', 'lz4', '-noappend', '-quiet', '-wildcards', '-e', 'proc/*', 'sys/*', 'dev/*', 'run/*', 'tmp/*']);
  const img = await stat(baseImage());
  await recordArtifact(join(scratch, 'base'), {
    name: 'base.bookworm.6.1.0-1-amd64.squashfs.img',
    kind: 'base',
    size: img.size,
    sha256: await sha256Of(baseImage()),
    packages: await installedPackagesOf(tree),
    inputsDigest: `sha256:${'0'.repeat(64)}`,
    builtAt: new Date(1700000000 * 1000).toISOString(),
    imgplayVersion: '0.0.0',
  });
  await cp(join(here, 'lock'), project(), { recursive: true });
}, 300_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  // Every mount the test's runs make is under its folder (build_dir) or a loop device of its base image; other
  // suites on this shared machine mount and unmount elsewhere meanwhile, so /proc/mounts is judged on those.
  const now = await readFile('/proc/mounts', 'utf8');
  expect(now.split('\n').filter((l) => l.includes(scratch)), 'mounts left in the test folder').toEqual([]);
  expect(mountsBefore.split('\n').filter((l) => l.includes(scratch))).toEqual([]);
  expect((await execa('losetup', ['-j', baseImage()])).stdout, 'loop devices left on the base image').toBe('');
  await rm(scratch, { recursive: true, force: true });
  console.log(`lock.test.ts: ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
});

describe.skipIf(skipWithout(unavailable))('imgplay lock', () => {
  it('writes every package the stage installs, with the sha256 of its .deb and its pool path', async () => {
    const r = await run('lock', 'site.yml');
    expect(r.code, r.all).toBe(0);
    expect(r.out).toContain(`wrote ${join(project(), 'imgplay.lock')}: 1 stage, 2 packages from 1 suite`);
    const lock = await lockFile();
    expect(lock.playbook).toBe('playbooks/site.yml');
    expect(lock.suites).toEqual([expect.objectContaining({ id: 'flat', uri: repoUrl.replace(/\/$/, ''), suite: './', indexes: ['Packages'], release: `sha256:${await sha256Of(join(repo(), 'Release'))}` })]);
    expect(lock.stages).toEqual({
      'overlay/tiny': [
        { name: 'imgplay-lock-hello', version: '1.0', arch: 'all', sha256: await sha256Of(join(repo(), 'pool/imgplay-lock-hello_1.0_all.deb')), suite: 'flat', filename: 'pool/imgplay-lock-hello_1.0_all.deb' },
        { name: 'imgplay-lock-lib', version: '1.0', arch: 'all', sha256: await sha256Of(join(repo(), 'pool/imgplay-lock-lib_1.0_all.deb')), suite: 'flat', filename: 'pool/imgplay-lock-lib_1.0_all.deb' },
      ],
    });
    // The build went to a throwaway builds folder, and its stage into the cache.
    await expect(readdir(join(project(), 'builds'))).rejects.toThrow(/ENOENT/);
    expect(r.err).toMatch(/STAGE \[overlay\/tiny\] built in [\d.]+ s and kept in the cache/);
  }, 120_000);

  it('--check says the lock is current; the lock now keys the stage in the cache', async () => {
    const before = await readFile(join(project(), 'imgplay.lock'), 'utf8');
    const r = await run('lock', 'site.yml', '--check', '-v');
    expect(r.code, r.all).toBe(0);
    expect(r.out).toBe('imgplay.lock is current: 1 stage, 2 packages from 1 suite');
    expect(r.err).toContain("STAGE [overlay/tiny] building: the stage's packages in imgplay.lock changed");
    expect(await readFile(join(project(), 'imgplay.lock'), 'utf8')).toBe(before);
  }, 60_000);

  it('a build installs the locked versions (the stage --check built, from the cache), and leaves no pin in the image', async () => {
    const r = await run('site.yml', '--locked');
    expect(r.code, r.all).toBe(0);
    expect(r.all).toMatch(/STAGE \[overlay\/tiny\] cached/);
    expect(await builtPackages()).toEqual(['imgplay-lock-hello 1.0', 'imgplay-lock-lib 1.0']);
    expect(await overlayFiles()).not.toContain('etc/apt/preferences.d/zz-imgplay-lock');
  }, 60_000);

  it('stops before any stage when the archive no longer has a locked version, naming it and the command to update', async () => {
    await rm(join(repo(), 'pool/imgplay-lock-hello_1.0_all.deb'));
    await buildDeb('imgplay-lock-hello', '2.0', { depends: 'imgplay-lock-lib' });
    await publish();
    for (const args of [['site.yml', '--locked'], ['site.yml', '--no-cache']]) {
      const r = await run(...args);
      expect(r.code, r.all).toBe(1);
      expect(r.err).toContain('imgplay-lock-hello (stage overlay/tiny): locked 1.0, the archive has 2.0');
      expect(r.err).toContain('run imgplay lock --update');
      expect(r.all).not.toContain('STAGE [');
      expect(r.all).not.toContain('PLAY [');
    }
    const check = await run('lock', 'site.yml', '--check');
    expect(check.code, check.all).toBe(1);
    expect(check.err).toContain('imgplay.lock is stale');
  }, 120_000);

  it('lock --update takes the new version, and the next build installs it', async () => {
    const update = await run('lock', 'site.yml', '--update');
    expect(update.code, update.all).toBe(0);
    expect(update.out).toContain('overlay/tiny: imgplay-lock-hello 1.0 -> 2.0');
    expect(await lockedVersions()).toEqual(['imgplay-lock-hello 2.0', 'imgplay-lock-lib 1.0']);
    // The build before the update, kept to show what an operator reads before rolling the new one out.
    const old = join(scratch, 'builds-before-update');
    await cp(join(project(), 'builds'), old, { recursive: true });
    const build = await run('site.yml', '--locked');
    expect(build.code, build.all).toBe(0);
    expect(await builtPackages()).toEqual(['imgplay-lock-hello 2.0', 'imgplay-lock-lib 1.0']);
    const diff = await execa('node', [imgplay, 'diff', old, join(project(), 'builds')], { reject: false, env: { NO_COLOR: '1' } });
    expect(diff.exitCode, diff.stderr).toBe(1);
    expect(diff.stdout).toMatch(/imgplay-lock-hello\S* +1\.0 -> 2\.0/);
  }, 120_000);

  it('keeps the locked version when the archive publishes a newer one beside it: the stage stays cached, and a fresh build installs the locked one', async () => {
    await buildDeb('imgplay-lock-hello', '3.0', { depends: 'imgplay-lock-lib' });
    await publish();
    const cached = await run('site.yml', '--locked');
    expect(cached.code, cached.all).toBe(0);
    expect(cached.all).toMatch(/STAGE \[overlay\/tiny\] cached/);
    const fresh = await run('site.yml', '--locked', '--no-cache');
    expect(fresh.code, fresh.all).toBe(0);
    expect(await builtPackages()).toEqual(['imgplay-lock-hello 2.0', 'imgplay-lock-lib 1.0']);
  }, 120_000);

  it('bootstraps with mmdebstrap at the locked version though a newer one is offered, and the tree keeps no pin', async () => {
    const lock = await lockFile();
    const root = join(scratch, 'bootstrapped', 'root');
    honourLock(join(project(), 'imgplay.lock'), lock);
    try {
      // The extract variant installs nothing but the includes: no Debian archive needed.
      await bootstrap({ root, release: 'bookworm', arch: 'amd64', variant: 'extract', mirror: `deb [trusted=yes] copy://${repo()} ./`, include: ['imgplay-lock-hello'] });
    } finally {
      honourLock(undefined);
    }
    expect(await readFile(join(root, 'usr/share/imgplay-lock-hello/payload'), 'utf8')).toBe('imgplay-lock-hello 2.0\n');
    await expect(stat(join(root, 'etc/apt/preferences.d/zz-imgplay-lock'))).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('refuses a package the lock does not have before downloading it; imgplay lock adds it and keeps the locked versions', async () => {
    await buildDeb('imgplay-lock-extra', '1.0');
    await publish();
    const more = ['-e', '{"packages": ["imgplay-lock-hello", "imgplay-lock-extra"]}'];
    const refused = await run('site.yml', '--locked', ...more);
    expect(refused.code, refused.all).toBe(2);
    expect(refused.all).toContain('imgplay-lock-extra 1.0 (all) is not in');
    expect(refused.all).toContain('nothing was downloaded or unpacked');
    const lock = await run('lock', 'site.yml', ...more);
    expect(lock.code, lock.all).toBe(0);
    expect(lock.out).toContain('overlay/tiny: adds imgplay-lock-extra 1.0 (all)');
    expect(await lockedVersions()).toEqual(['imgplay-lock-extra 1.0', 'imgplay-lock-hello 2.0', 'imgplay-lock-lib 1.0']);
  }, 120_000);

  it('refuses a tampered .deb (same version, other bytes) before unpacking it: at once when the index says so, by apt when only the file changed', async () => {
    const deb = join(repo(), 'pool/imgplay-lock-hello_2.0_all.deb');
    const good = await readFile(deb);
    await buildDeb('imgplay-lock-hello', '2.0', { depends: 'imgplay-lock-lib', payload: 'something else\n' });
    const bad = await readFile(deb);
    expect(bad.equals(good)).toBe(false);
    // The file alone: the index still names the good bytes, and apt refuses the download.
    const quiet = await run('site.yml', '--locked', '--no-cache');
    expect(quiet.code, quiet.all).toBe(2);
    expect(quiet.all).toMatch(/Failed to fetch http:\S+imgplay-lock-hello_2.0_all.deb +(Hash Sum mismatch|File has unexpected size)/);
    expect(quiet.all).not.toContain('Unpacking imgplay-lock-hello');
    // Republished: the index names the other bytes, and the run stops before any stage.
    await publish();
    const loud = await run('site.yml', '--locked', '--no-cache');
    expect(loud.code, loud.all).toBe(1);
    expect(loud.err).toContain(`imgplay-lock-hello 2.0 (stage overlay/tiny): the archive's .deb is not the locked one (sha256 ${await sha256Of(deb)}, locked ${createHash('sha256').update(good).digest('hex')})`);
    expect(loud.all).not.toContain('PLAY [');
  }, 120_000);

  it('--locked refuses to build without a lock', async () => {
    await rm(join(project(), 'imgplay.lock'));
    const r = await run('site.yml', '--locked');
    expect(r.code, r.all).toBe(1);
    expect(r.err).toContain(`--locked: there is no ${join(project(), 'imgplay.lock')}`);
    expect(r.err).toContain('run imgplay lock to write it');
  }, 60_000);
});
