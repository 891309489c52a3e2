// A real Debian tree for integration tests: debootstrapped once, cached, and copied privately per test.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, realpath, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { hostAptMirror } from '../../src/image/mirror.js';
import { removeTree } from '../../src/host/mount-table.js';
import { testProxyUrl } from './apt-proxy.js';
import { isAlive, lockFile } from './lock-file.js';

const SUITE = 'bookworm';
const NAME = `minbase-${SUITE}`;
const BUILD_TIMEOUT_MS = 20 * 60_000;

function cacheDir(): string {
  return process.env.IMGPLAY_TEST_CACHE ?? '/var/cache/imgplay-test';
}

/** Why the minbase tree cannot be had on this machine, or undefined if it can (for `describe.skipIf`). */
export async function minbaseUnavailable(): Promise<string | undefined> {
  if (existsSync(join(cacheDir(), NAME))) return undefined;
  if (process.getuid?.() !== 0) return 'building the minbase tree with debootstrap needs root';
  if (!existsSync('/usr/sbin/debootstrap')) return 'debootstrap is not installed (apt-get install debootstrap)';
  if ((await hostAptMirror()) === undefined) return 'the build host has no Debian mirror in /etc/apt sources to debootstrap from';
  return undefined;
}

let building: Promise<string> | undefined;

/** The cached `debootstrap --variant=minbase bookworm` tree (amd64); built on first use, never modified by tests. */
export async function minbaseTree(): Promise<string> {
  building ??= ensureTree().catch((err: unknown) => {
    building = undefined;
    throw err;
  });
  return building;
}

/** A private copy of the minbase tree; cleanup refuses to delete it while anything is mounted inside. */
export async function minbaseCopy(): Promise<{ root: string; cleanup(): Promise<void> }> {
  const tree = await minbaseTree();
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-minbase-')));
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

/** The current /proc/mounts, to show a test left no mount behind. */
export async function mountsSnapshot(): Promise<string> {
  return readFile('/proc/mounts', 'utf8');
}

/** Mount points at or below `dir` (paths decoded from /proc/mounts' octal escapes). */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await mountsSnapshot())
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((field): field is string => field !== undefined)
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((mp) => mp === dir || mp.startsWith(prefix));
}

async function ensureTree(): Promise<string> {
  const final = join(cacheDir(), NAME);
  // The tree only ever appears under its final name by rename, so its presence means it is complete.
  if (existsSync(final)) return final;
  const why = await minbaseUnavailable();
  if (why !== undefined) throw new Error(`cannot build the minbase test tree: ${why}`);
  await execa('mkdir', ['-p', '--', cacheDir()]);
  const release = await lockFile(`${final}.lock`, 'the minbase tree', BUILD_TIMEOUT_MS, () => existsSync(final));
  try {
    if (existsSync(final)) return final;
    await removeStaleBuilds();
    const temp = `${final}.tmp-${process.pid}-${Date.now()}`;
    await debootstrap(temp);
    try {
      await rename(temp, final);
    } catch (err) {
      // Another process without our lock (a stale takeover) finished first: use its tree.
      if (!existsSync(final)) throw err;
      await removeTree(temp);
    }
    return final;
  } finally {
    await release();
  }
}

async function debootstrap(target: string): Promise<void> {
  const mirror = await hostAptMirror();
  if (mirror === undefined) throw new Error('cannot build the minbase test tree: no Debian mirror in the host apt sources');
  const proxy = testProxyUrl();
  const r = await execa(
    'debootstrap',
    ['--variant=minbase', '--arch=amd64', '--components=main', SUITE, target, mirror.uri],
    {
      reject: false,
      all: true,
      timeout: BUILD_TIMEOUT_MS,
      env: { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', ...(proxy ? { http_proxy: proxy } : {}) },
    },
  );
  const leaked = await mountPointsUnder(target);
  if (r.exitCode !== 0 || leaked.length > 0) {
    const log = await readFile(join(target, 'debootstrap/debootstrap.log'), 'utf8').catch(() => '');
    const tail = (log || (r.all ?? '')).split('\n').slice(-30).join('\n');
    if (leaked.length === 0) await removeTree(target).catch(() => undefined);
    throw new Error(
      `debootstrap of the minbase test tree from ${mirror.uri}${proxy ? ` through the proxy ${proxy}` : ''} failed (exit ${r.exitCode ?? r.signal})` +
        (leaked.length > 0 ? `; it left mounts behind: ${leaked.join(', ')}` : '') +
        `\n${tail}`,
    );
  }
  // The downloaded .debs would only make every per-test copy slower.
  await execa('sh', ['-c', 'rm -f -- "$1"/var/cache/apt/archives/*.deb', 'sh', target]);
}

// A build interrupted by a crash leaves NAME.tmp-PID-TIME behind; remove those whose process is gone.
async function removeStaleBuilds(): Promise<void> {
  for (const name of await readdir(cacheDir())) {
    const m = new RegExp(`^${NAME}\\.tmp-(\\d+)-\\d+$`).exec(name);
    if (m === null || isAlive(Number(m[1]))) continue;
    await removeTree(join(cacheDir(), name)).catch((err: unknown) => {
      console.warn(`leaving an interrupted minbase build in place: ${(err as Error).message}`);
    });
  }
}
