// What a chroot needs from the host to run package scripts: /proc, /sys, /dev, /dev/pts, and a
// resolv.conf that can reach the mirror. All of it is undone when the session ends.
import { lstat, mkdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMountPoint, mountTable } from './mount-table.js';
import type { MountGuard, MountRequest } from './mount-guard.js';

// The same set mmdebstrap and debootstrap provide; /proc is mounted fresh so the chroot's view
// of processes is the kernel's, the rest are bound from the host.
const SYSTEM_MOUNTS: ReadonlyArray<{ dir: string; req: Omit<MountRequest, 'target'> }> = [
  { dir: 'proc', req: { source: 'proc', fstype: 'proc', options: ['nosuid', 'nodev', 'noexec'] } },
  { dir: 'sys', req: { source: '/sys', bind: true } },
  { dir: 'dev', req: { source: '/dev', bind: true } },
  { dir: 'dev/pts', req: { source: '/dev/pts', bind: true } },
];

/** Mounts /proc, /sys, /dev and /dev/pts into `root` through the guard, skipping any already mounted there. */
export async function mountSystemDirs(guard: MountGuard, root: string): Promise<void> {
  for (const { dir, req } of SYSTEM_MOUNTS) {
    const target = join(root, dir);
    if (isMountPoint(await mountTable(), target)) continue;
    // A missing directory is made; a symlink in its place is left for the guard to refuse.
    const st = await lstat(target).catch(() => undefined);
    if (st === undefined) await mkdir(target, { recursive: true, mode: 0o755 });
    await guard.mount({ ...req, target });
  }
}

type Saved = { kind: 'absent' } | { kind: 'link'; target: string } | { kind: 'file'; data: Buffer; mode: number };

/**
 * Puts the host's resolver configuration into the tree so apt can resolve the mirror, and returns
 * the function that puts the tree's own back. A provisioner that replaced the file on purpose
 * (e.g. by installing a resolver) keeps its version.
 */
export async function lendResolvConf(root: string, hostFile = '/etc/resolv.conf'): Promise<() => Promise<void>> {
  const path = join(root, 'etc/resolv.conf');
  const hostText = await readFile(hostFile).catch(() => undefined);
  // Without /etc in the tree or a host resolver there is nothing to lend.
  if (hostText === undefined || (await lstat(join(root, 'etc')).catch(() => undefined))?.isDirectory() !== true) return async () => {};
  const saved = await save(path);
  await rm(path, { force: true });
  await writeFile(path, hostText, { mode: 0o644 });
  return async () => {
    const now = await readFile(path).catch(() => undefined);
    const st = await lstat(path).catch(() => undefined);
    if (now === undefined || st?.isSymbolicLink() || !now.equals(hostText)) return;
    await rm(path, { force: true });
    if (saved.kind === 'link') await symlink(saved.target, path);
    else if (saved.kind === 'file') await writeFile(path, saved.data, { mode: saved.mode });
  };
}

async function save(path: string): Promise<Saved> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return { kind: 'absent' };
  if (st.isSymbolicLink()) return { kind: 'link', target: await readlink(path) };
  return { kind: 'file', data: await readFile(path), mode: st.mode & 0o7777 };
}
