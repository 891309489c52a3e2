// Maps paths seen inside a chroot to host paths, resolving symlinks the way the kernel does after chroot(2).
import { lstat, readlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ImgplayError } from '../errors.js';

/** Linux gives up after 40 symlinks in one lookup (MAXSYMLINKS); so do we. */
export const MAX_SYMLINKS = 40;

/** A lookup that met more than MAX_SYMLINKS links, like the kernel's ELOOP. */
export class SymlinkLoopError extends ImgplayError {
  readonly code = 'ELOOP';
  constructor(
    readonly root: string,
    readonly path: string,
  ) {
    super(`too many levels of symbolic links resolving '${path}' inside ${root}`, {
      hint: `more than ${MAX_SYMLINKS} symlinks were followed; look for a link that points back at itself`,
    });
  }
}

/**
 * Maps `path` as seen inside `root` to the host path that holds it. Every symlink is read and resolved
 * against the root (absolute targets start at the root, `..` stops at it), so the result never leaves
 * the root, whatever the tree contains. Missing components are kept as they are, so the result can
 * name a file that is about to be created. `followLast: false` leaves a final symlink unresolved.
 */
export async function resolveInRoot(root: string, path: string, opts: { followLast?: boolean } = {}): Promise<string> {
  const hostRoot = resolve(root);
  // A trailing slash makes the kernel follow the last link whatever the caller asked for.
  const followLast = (opts.followLast ?? true) || /\/\.?$/.test(path);
  // Components still to walk, last first, so a link's target can be pushed on top of the rest.
  const pending = splitReversed(path);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (name === '.') continue;
    if (name === '..') {
      done.pop();
      continue;
    }
    const isLast = pending.length === 0;
    const target = isLast && !followLast ? undefined : await linkTarget(join(hostRoot, [...done, name]));
    if (target === undefined) {
      done.push(name);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(hostRoot, path);
    if (target.startsWith('/')) done.length = 0;
    pending.push(...splitReversed(target));
  }
  return join(hostRoot, done);
}

function splitReversed(path: string): string[] {
  return path.split('/').filter((c) => c !== '').reverse();
}

function join(root: string, parts: readonly string[]): string {
  if (parts.length === 0) return root;
  return root === '/' ? `/${parts.join('/')}` : `${root}/${parts.join('/')}`;
}

// The link's target, or undefined for anything that is not a symlink (missing paths included:
// the walk goes on lexically, and a later `..` brings it back to real directories that are checked again).
async function linkTarget(hostPath: string): Promise<string | undefined> {
  try {
    const st = await lstat(hostPath);
    return st.isSymbolicLink() ? await readlink(hostPath) : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
