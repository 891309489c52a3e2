// A Debian tree with python3, pip, venv and kmod, so ansible-playbook (over community.general.chroot) and
// imgplay can run the same pip and modprobe playbooks against it: built once with mmdebstrap, cached, and
// copied privately per run.
import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { bootstrap } from '../../src/image/bootstrap.js';
import { hostAptMirror } from '../../src/image/mirror.js';
import { removeTree } from '../../src/host/mount-table.js';
import { testProxyUrl } from './apt-proxy.js';
import { lockFile } from './lock-file.js';

const SUITE = 'bookworm';
const NAME = `minbase-${SUITE}-python3-pip`;
// python3 is what Ansible's modules run with; python3-pip brings setuptools (Ansible's pip module imports
// pkg_resources) and wheel; python3-venv brings ensurepip for `python3 -m venv`; kmod is modprobe.
const INCLUDE = ['python3', 'python3-pip', 'python3-venv', 'kmod'];
const BUILD_TIMEOUT_MS = 20 * 60_000;

function cacheDir(): string {
  return process.env.IMGPLAY_TEST_CACHE ?? '/var/cache/imgplay-test';
}

/** Why the tree cannot be had on this machine, or undefined if it can. */
export async function pipTreeUnavailable(): Promise<string | undefined> {
  if (existsSync(join(cacheDir(), NAME))) return undefined;
  if (process.getuid?.() !== 0) return 'building the pip test tree with mmdebstrap needs root';
  if (!existsSync('/usr/bin/mmdebstrap')) return '/usr/bin/mmdebstrap (Debian package mmdebstrap)';
  if ((await hostAptMirror()) === undefined) return 'a Debian mirror in the host apt sources';
  return undefined;
}

let building: Promise<string> | undefined;

/** The cached tree (minbase + python3, python3-pip, python3-venv, kmod); never modified by tests. */
export async function pipTree(): Promise<string> {
  building ??= ensureTree().catch((err: unknown) => {
    building = undefined;
    throw err;
  });
  return building;
}

/** A private copy of the tree, at `<dir>/root`; cleanup refuses to delete it while anything is mounted inside. */
export async function pipTreeCopy(): Promise<{ root: string; cleanup(): Promise<void> }> {
  const tree = await pipTree();
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-piptree-')));
  const root = join(dir, 'root');
  const cleanup = () => removeTree(dir);
  try {
    await execa('cp', ['-a', '--reflink=auto', '--', tree, root]);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { root, cleanup };
}

async function ensureTree(): Promise<string> {
  const final = join(cacheDir(), NAME);
  if (existsSync(final)) return final;
  const why = await pipTreeUnavailable();
  if (why !== undefined) throw new Error(`cannot build the pip test tree: ${why}`);
  await execa('mkdir', ['-p', '--', cacheDir()]);
  const release = await lockFile(`${final}.lock`, 'the pip test tree', BUILD_TIMEOUT_MS, () => existsSync(final));
  try {
    if (existsSync(final)) return final;
    const temp = `${final}.tmp-${process.pid}-${Date.now()}`;
    try {
      await bootstrap({ root: temp, release: SUITE, arch: 'amd64', variant: 'minbase', components: ['main'], include: INCLUDE, noDocs: true, noRecommends: true, proxy: testProxyUrl() });
      await execa('sh', ['-c', 'rm -f -- "$1"/var/cache/apt/archives/*.deb', 'sh', temp]);
      // The tree only ever appears under its final name by rename, so its presence means it is complete.
      await execa('mv', ['-T', '--', temp, final]);
    } catch (err) {
      await removeMarkers(temp);
      await removeTree(temp).catch(() => undefined);
      throw err;
    }
    await removeMarkers(temp);
    return final;
  } finally {
    await release();
  }
}

// bootstrap() leaves its done-marker beside the tree it made; the cache keeps only trees.
async function removeMarkers(temp: string): Promise<void> {
  for (const what of ['bootstrapping', 'bootstrapped']) await rm(join(dirname(temp), `.${basename(temp)}.imgplay-${what}`), { force: true });
}
