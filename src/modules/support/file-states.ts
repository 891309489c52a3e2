// The states of Ansible's file module (file, directory, link, hard, touch, absent), shared with copy.
import { link, mkdir, readdir, readlink, rename, rm, rmdir, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Connection } from '../../connection/types.js';
import { mountTable, mountsUnder } from '../../host/mount-table.js';
import type { ModuleResult } from '../types.js';
import type { Accounts } from './accounts.js';
import { type AttrDiff, type FileAttrArgs, applyFileAttrs } from './file-attrs.js';
import { describeFsError, isFsError } from './fs-error.js';
import {
  type PathState,
  hostPathFollow,
  hostPathNoFollow,
  pathState,
  statOrUndefined,
  targetPathOf,
} from './target-path.js';

/** What the file states need from the run: the target, its accounts, check mode, and where warnings go. */
export interface FsContext {
  conn: Connection;
  accounts: Accounts;
  check: boolean;
  warnings: string[];
}

/** A timestamp request: keep the current one, set it to now, or to these epoch seconds. */
export type TimeSpec = 'preserve' | 'now' | number;

/** The file module's arguments after aliases and defaults are settled. */
export interface FileStateArgs extends FileAttrArgs {
  path: string;
  src?: string | undefined;
  force: boolean;
  follow: boolean;
  recurse: boolean;
  mtime: TimeSpec;
  atime: TimeSpec;
}

/** A failure with Ansible's message and the extra keys its result carries (path, src, state). */
export class FileStateError extends Error {
  constructor(
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A file state's outcome: the result keys, and the before/after record Ansible shows under --diff. */
export interface StateOutcome {
  result: ModuleResult;
  diff?: AttrDiff | undefined;
}

async function stateOf(ctx: FsContext, path: string): Promise<PathState> {
  return pathState(await hostPathNoFollow(ctx.conn, path));
}

async function exists(ctx: FsContext, path: string): Promise<boolean> {
  return (await statOrUndefined(await hostPathFollow(ctx.conn, path))) !== undefined;
}

async function realTarget(ctx: FsContext, path: string): Promise<string> {
  return targetPathOf(ctx.conn, await hostPathFollow(ctx.conn, path));
}

// The path attributes apply to: a followed symlink hands them on to what it points at.
async function attrPath(ctx: FsContext, path: string, follow: boolean): Promise<string> {
  if (follow && (await stateOf(ctx, path)) === 'link') return realTarget(ctx, path);
  return path;
}

function initialDiff(path: string, state: string, prev: PathState): AttrDiff {
  const diff: AttrDiff = { before: { path }, after: { path } };
  if (prev !== state) {
    diff.before.state = prev;
    diff.after.state = state;
  }
  return diff;
}

async function setAttrs(ctx: FsContext, path: string, a: FileStateArgs, diff: AttrDiff): Promise<boolean> {
  const changed = await applyFileAttrs(ctx, await hostPathNoFollow(ctx.conn, path), path, a, diff);
  return (await setTimes(ctx, path, a.mtime, a.atime, diff)) || changed;
}

/** Port of update_timestamp_for_file: 'now' for both always counts as a change, as touch(1) does. */
async function setTimes(ctx: FsContext, path: string, mtime: TimeSpec, atime: TimeSpec, diff: AttrDiff): Promise<boolean> {
  if (mtime === 'preserve' && atime === 'preserve') return false;
  const host = await hostPathFollow(ctx.conn, path);
  try {
    const st = await stat(host);
    const nowSecs = Date.now() / 1000;
    const prevM = st.mtimeMs / 1000;
    const prevA = st.atimeMs / 1000;
    const m = mtime === 'preserve' ? prevM : mtime === 'now' ? nowSecs : mtime;
    const at = atime === 'preserve' ? prevA : atime === 'now' ? nowSecs : atime;
    if (!(mtime === 'now' && atime === 'now') && m === prevM && at === prevA) return false;
    if (!ctx.check) await utimes(host, at, m);
    if (m !== prevM) {
      diff.before.mtime = prevM;
      diff.after.mtime = m;
    }
    if (at !== prevA) {
      diff.before.atime = prevA;
      diff.after.atime = at;
    }
    return true;
  } catch (err) {
    if (!isFsError(err)) throw err;
    throw new FileStateError(`Error while updating modification or access time: ${describeFsError(err, path)}`, { path });
  }
}

/** state=file: the path must already be a file; only its attributes are managed. */
export async function ensureFile(ctx: FsContext, a: FileStateArgs): Promise<StateOutcome> {
  let path = a.path;
  let prev = await stateOf(ctx, path);
  if (prev === 'link' && a.follow) {
    path = await realTarget(ctx, path);
    prev = await stateOf(ctx, path);
  }
  if (prev !== 'file' && prev !== 'hard') {
    throw new FileStateError(`file (${path}) is ${prev}, cannot continue`, { path, state: prev });
  }
  const diff = initialDiff(path, 'file', prev);
  const changed = await setAttrs(ctx, path, a, diff);
  return { result: { path, changed }, diff };
}

/** state=directory: creates the path like `mkdir -p` (every new directory gets the attributes) or fixes its attributes. */
export async function ensureDirectory(ctx: FsContext, a: FileStateArgs): Promise<StateOutcome> {
  let path = a.path;
  let prev = await stateOf(ctx, path);
  if (prev === 'link' && a.follow) {
    path = await realTarget(ctx, path);
    prev = await stateOf(ctx, path);
  }
  const diff = initialDiff(path, 'directory', prev);
  let changed = false;
  if (prev === 'absent') {
    if (ctx.check) return { result: { path, changed: true }, diff };
    let cur = path.startsWith('/') ? '' : '.';
    for (const part of path.split('/').filter((p) => p !== '')) {
      cur = cur === '.' ? part : `${cur}/${part}`;
      if (await exists(ctx, cur)) continue;
      try {
        await mkdir(await hostPathNoFollow(ctx.conn, cur));
      } catch (err) {
        if (!isFsError(err)) throw err;
        if (!(err.code === 'EEXIST' && (await stateOf(ctx, cur)) === 'directory')) {
          throw new FileStateError(`There was an issue creating ${cur} as requested: ${describeFsError(err, cur)}`, { path });
        }
      }
      changed = true;
      changed = (await applyFileAttrs(ctx, await hostPathNoFollow(ctx.conn, cur), cur, a, diff)) || changed;
    }
    changed = (await setTimes(ctx, path, a.mtime, a.atime, diff)) || changed;
    return { result: { path, changed }, diff };
  }
  if (prev !== 'directory') throw new FileStateError(`${path} already exists as a ${prev}`, { path });
  changed = await setAttrs(ctx, path, a, diff);
  if (a.recurse) changed = (await setAttrsRecursively(ctx, path, a)) || changed;
  return { result: { path, changed }, diff };
}

// Port of recursive_set_attributes: everything below the directory, links themselves, and with
// follow what they point at (descending into linked directories).
async function setAttrsRecursively(ctx: FsContext, dir: string, a: FileStateArgs): Promise<boolean> {
  let changed = false;
  const scratch: AttrDiff = { before: {}, after: {} };
  const host = await hostPathNoFollow(ctx.conn, dir);
  const entries = await readdir(host, { withFileTypes: true });
  for (const e of entries) {
    const child = posix.join(dir, e.name);
    changed = (await setAttrs(ctx, child, a, scratch)) || changed;
    if (e.isDirectory()) {
      changed = (await setAttrsRecursively(ctx, child, a)) || changed;
    } else if (e.isSymbolicLink() && a.follow) {
      const target = posix.join(dir, await readlink(posix.join(host, e.name)));
      if (!(await exists(ctx, target))) continue;
      if ((await stat(await hostPathFollow(ctx.conn, target))).isDirectory()) {
        changed = (await setAttrsRecursively(ctx, await realTarget(ctx, target), a)) || changed;
      }
      changed = (await setAttrs(ctx, await realTarget(ctx, target), a, scratch)) || changed;
    }
  }
  return changed;
}

/** state=link: a symlink at path pointing at src (as written, relative or absolute). */
export async function ensureSymlink(ctx: FsContext, a: FileStateArgs): Promise<StateOutcome> {
  const { path, force, follow } = a;
  const host = await hostPathNoFollow(ctx.conn, path);
  const prev = await pathState(host);
  let src = a.src;
  if (src === undefined && follow && (await exists(ctx, path)) && prev === 'link') src = await readlink(host);
  const base = prev === 'directory' ? path : posix.dirname(path);
  // A relative src is relative to the link's directory, as the kernel will read it.
  const resolvedSrc = src === undefined ? undefined : src.startsWith('/') ? src : `${base}/${src}`;
  if (!force && resolvedSrc !== undefined && !(await exists(ctx, resolvedSrc))) {
    throw new FileStateError(`src file does not exist, use "force=yes" if you really want to create the link: ${resolvedSrc}`, { path, src });
  }
  if (prev === 'directory') {
    if (!force) throw new FileStateError(`refusing to convert from ${prev} to symlink for ${path}`, { path });
    if ((await readdir(host)).length > 0) throw new FileStateError(`the directory ${path} is not empty, refusing to convert it`, { path });
  } else if ((prev === 'file' || prev === 'hard') && !force) {
    throw new FileStateError(`refusing to convert from ${prev} to symlink for ${path}`, { path });
  }
  const diff = initialDiff(path, 'link', prev);
  let changed = false;
  if (prev !== 'link') {
    if (src === undefined) throw new FileStateError('src is required for creating new symlinks');
    changed = true;
  } else if (src !== undefined) {
    const old = await readlink(host);
    if (old !== src) {
      diff.before.src = old;
      diff.after.src = src;
      changed = true;
    }
  }
  if (changed && !ctx.check && src !== undefined) {
    await replaceWith(path, host, prev, (p) => symlink(src, p), 'linking');
  }
  if (ctx.check && !(await exists(ctx, path))) return { result: { dest: path, src, changed }, diff };
  const target = await attrPath(ctx, path, follow);
  if (follow && (await stateOf(ctx, path)) === 'link' && !(await exists(ctx, path))) {
    ctx.warnings.push('Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this.');
  } else {
    changed = (await setAttrs(ctx, target, a, diff)) || changed;
  }
  return { result: { dest: path, src, changed }, diff };
}

// Puts a new link in place: beside the old entry, then renamed over it, so the path never goes missing.
async function replaceWith(
  path: string,
  host: string,
  prev: PathState,
  create: (hostPath: string) => Promise<void>,
  verb: string,
): Promise<void> {
  if (prev === 'absent') {
    try {
      await create(host);
    } catch (err) {
      if (!isFsError(err)) throw err;
      throw new FileStateError(`Error while ${verb}: ${describeFsError(err, path)}`, { path });
    }
    return;
  }
  const tmp = posix.join(posix.dirname(host), `.${process.pid}.${Date.now() / 1000}.tmp`);
  try {
    if (prev === 'directory') await rmdir(host);
    await create(tmp);
    await rename(tmp, host);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (!isFsError(err)) throw err;
    throw new FileStateError(`Error while replacing: ${describeFsError(err, path)}`, { path });
  }
}

/** state=hard: path is another name for src's inode. */
export async function ensureHardlink(ctx: FsContext, a: FileStateArgs): Promise<StateOutcome> {
  const { path, src, force } = a;
  const host = await hostPathNoFollow(ctx.conn, path);
  const prev = await pathState(host);
  const target = await attrPath(ctx, path, a.follow);
  if (prev !== 'hard' && src === undefined) throw new FileStateError('src is required for creating new hardlinks');
  if (src !== undefined && !(await exists(ctx, src))) throw new FileStateError('src does not exist', { dest: path, src });
  const srcHost = src === undefined ? undefined : await hostPathFollow(ctx.conn, src);
  const diff = initialDiff(path, 'hard', prev);
  let changed = false;
  const sameInode = async () => srcHost !== undefined && (await stat(await hostPathFollow(ctx.conn, path))).ino === (await stat(srcHost)).ino;
  if (prev === 'absent') {
    changed = true;
  } else if (prev === 'link') {
    const old = await readlink(host);
    if (old !== src) {
      diff.before.src = old;
      diff.after.src = src;
      changed = true;
    }
  } else if (prev === 'hard') {
    if (src !== undefined && !(await sameInode())) {
      changed = true;
      if (!force) throw new FileStateError('Cannot link, different hard link exists at destination', { dest: path, src });
    }
  } else if (prev === 'file') {
    changed = true;
    if (!force) throw new FileStateError(`Cannot link, ${prev} exists at destination`, { dest: path, src });
  } else {
    changed = true;
    if (await sameInode()) return { result: { path, changed: false } };
    if (!force) throw new FileStateError('Cannot link: different hard link exists at destination', { dest: path, src });
  }
  if (changed && !ctx.check && srcHost !== undefined) {
    await replaceWith(path, host, prev, (p) => link(srcHost, p), 'linking');
  }
  if (ctx.check && !(await exists(ctx, path))) return { result: { dest: path, src, changed }, diff };
  changed = (await setAttrs(ctx, target, a, diff)) || changed;
  return { result: { dest: path, src, changed }, diff };
}

/** state=touch: creates an empty file if needed and sets its times (to now unless told otherwise). */
export async function touch(ctx: FsContext, a: FileStateArgs): Promise<StateOutcome> {
  const { path } = a;
  const host = await hostPathNoFollow(ctx.conn, path);
  const prev = await pathState(host);
  let changed = false;
  if (prev === 'absent') {
    if (ctx.check) return { result: { dest: path, changed: true } };
    try {
      await writeFile(host, '', { flag: 'wx' });
    } catch (err) {
      if (!isFsError(err)) throw err;
      throw new FileStateError(`Error, could not touch target: ${describeFsError(err, path)}`, { path });
    }
    changed = true;
  }
  const diff = initialDiff(path, 'touch', prev);
  try {
    changed = (await setAttrs(ctx, await attrPath(ctx, path, a.follow), a, diff)) || changed;
  } catch (err) {
    // A file made only to fail on its attributes is taken away again, as Ansible does.
    if (prev === 'absent') await unlink(host).catch(() => undefined);
    throw err;
  }
  return { result: { dest: path, changed }, diff };
}

/** state=absent: removes a file, link or whole directory tree. */
export async function ensureAbsent(ctx: FsContext, path: string): Promise<StateOutcome> {
  const host = await hostPathNoFollow(ctx.conn, path);
  const prev = await pathState(host);
  if (prev === 'absent') return { result: { path, changed: false, state: 'absent' } };
  // Deleting a build root with the host's /dev or /proc bound inside would wipe the host's.
  if (prev === 'directory') {
    const mounted = mountsUnder(await mountTable(), host);
    if (mounted.length > 0) {
      throw new FileStateError(`refusing to delete ${path}: something is mounted inside it (${mounted.map((m) => targetPathOf(ctx.conn, m)).join(', ')}); unmount it first`, { path });
    }
  }
  const diff = initialDiff(path, 'absent', prev);
  if (prev === 'directory') diff.before.path_content = await listTree(host, path);
  if (!ctx.check) {
    try {
      if (prev === 'directory') await rm(host, { recursive: true });
      else await unlink(host);
    } catch (err) {
      if (!isFsError(err)) throw err;
      if (prev === 'directory') throw new FileStateError(`rmtree failed: ${describeFsError(err, path)}`);
      if (err.code !== 'ENOENT') throw new FileStateError(`unlinking failed: ${describeFsError(err, path)} `, { path });
    }
  }
  return { result: { path, changed: true, state: 'absent' }, diff };
}

// The directories and files a removal takes with it, as Ansible lists them in the diff.
async function listTree(host: string, path: string): Promise<{ directories: string[]; files: string[] }> {
  const out = { directories: [] as string[], files: [] as string[] };
  const walk = async (h: string, p: string): Promise<void> => {
    for (const e of await readdir(h, { withFileTypes: true })) {
      if (e.isDirectory()) {
        out.directories.push(posix.join(p, e.name));
        await walk(posix.join(h, e.name), posix.join(p, e.name));
      } else {
        out.files.push(posix.join(p, e.name));
      }
    }
  };
  await walk(host, path);
  return out;
}
