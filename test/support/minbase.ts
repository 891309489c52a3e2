// A real Debian tree for integration tests: debootstrapped once, cached, and copied privately per test.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { hostAptMirror } from '../../src/image/mirror.js';
import { removeTree } from '../../src/host/mount-table.js';
import { testProxyUrl } from './apt-proxy.js';
import { cachedTree } from './cached-tree.js';

const SUITE = 'bookworm';
const BUILD_TIMEOUT_MS = 20 * 60_000;

const minbase = cachedTree({
  name: `minbase-${SUITE}`,
  what: 'the minbase test tree',
  async unbuildable() {
    if (process.getuid?.() !== 0) return 'building the minbase tree with debootstrap needs root';
    if (!existsSync('/usr/sbin/debootstrap')) return 'debootstrap is not installed (apt-get install debootstrap)';
    if ((await hostAptMirror()) === undefined) return 'the build host has no Debian mirror in /etc/apt sources to debootstrap from';
    return undefined;
  },
  build: debootstrap,
});

/** Why the minbase tree cannot be had on this machine, or undefined if it can (for `describe.skipIf`). */
export function minbaseUnavailable(): Promise<string | undefined> {
  return minbase.unavailable();
}

/** The cached `debootstrap --variant=minbase bookworm` tree (amd64); built on first use, never modified by tests. */
export function minbaseTree(): Promise<string> {
  return minbase.tree();
}

/** A private copy of the minbase tree; cleanup refuses to delete it while anything is mounted inside. */
export function minbaseCopy(): Promise<{ root: string; cleanup(): Promise<void> }> {
  return minbase.copy('imgplay-minbase-');
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

/** Unmounts, innermost first, what is mounted under `dir` now and was not in `before`; returns those mount points.
 *  A run may leave mounts in its tree (Ansible's mount module in a chroot really mounts, and nothing undoes it). */
export async function takeDownMountsUnder(dir: string, before: ReadonlySet<string>): Promise<string[]> {
  const left = (await mountPointsUnder(dir)).filter((m) => !before.has(m));
  for (const m of [...left].reverse()) {
    const u = await execa('umount', [m], { reject: false });
    if (u.exitCode !== 0) await execa('umount', ['-l', m], { reject: false });
  }
  return left;
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
}
