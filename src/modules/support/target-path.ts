// Moving between target paths (what the playbook names) and host paths (where node's fs finds them).
import type { Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { resolveInRoot } from '../../connection/confine.js';
import type { Connection } from '../../connection/types.js';

/** The host path of a target path without following a final symlink (for lstat, unlink, link creation). */
export async function hostPathNoFollow(conn: Connection, path: string): Promise<string> {
  return conn.hostPath(path, { followLast: false });
}

/**
 * The host path of a target path with every symlink resolved, like realpath(3) but tolerant of a
 * dangling link (the path it names is returned). For a local target the links are resolved here,
 * since a local connection only makes the path absolute.
 */
export async function hostPathFollow(conn: Connection, path: string): Promise<string> {
  const host = await conn.hostPath(path, { followLast: true });
  return conn.root === '/' ? resolveInRoot('/', resolve(host)) : host;
}

/** The target path that a host path (inside the target's root) stands for, for results and messages. */
export function targetPathOf(conn: Connection, host: string): string {
  const root = conn.root.replace(/\/+$/, '');
  if (root === '') return host;
  if (host === root) return '/';
  return host.startsWith(`${root}/`) ? host.slice(root.length) : host;
}

/** lstat, or undefined if nothing is there. */
export async function lstatOrUndefined(host: string): Promise<Stats | undefined> {
  return lstat(host).catch(missingAsUndefined);
}

/** stat (following links), or undefined if nothing is there or a link dangles. */
export async function statOrUndefined(host: string): Promise<Stats | undefined> {
  return stat(host).catch(missingAsUndefined);
}

function missingAsUndefined(err: unknown): undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw err;
}

/** Ansible's file states, as its modules see an existing path (a file with other links is 'hard'). */
export type PathState = 'absent' | 'file' | 'directory' | 'link' | 'hard';

/** The state of whatever is at a host path, judged as Ansible's file module does. */
export async function pathState(host: string): Promise<PathState> {
  const st = await lstatOrUndefined(host);
  if (st === undefined) return 'absent';
  if (st.isSymbolicLink()) return 'link';
  if (st.isDirectory()) return 'directory';
  return st.nlink > 1 ? 'hard' : 'file';
}
