// Putting one file's bytes at a destination, the common core of copy and template (Ansible's copy action + module).
import { lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ModuleResult } from '../types.js';
import { type FileData, atomicWrite } from '../../host/atomic-write.js';
import { backupFile } from './backup.js';
import { checksumData, checksumFile } from '../../host/checksum.js';
import { fileDiff, structuredDiff } from './diff.js';
import { type AttrDiff, type FileAttrArgs, applyFileAttrs, pathInfo } from './file-attrs.js';
import type { FsContext } from './file-states.js';
import { ValidateError, runValidate } from './validate.js';
import { hostPathFollow, hostPathNoFollow, lstatOrUndefined, statOrUndefined, targetPathOf } from './target-path.js';

/** One file to put in place, with copy's options. */
export interface PutFileRequest extends FileAttrArgs {
  /** The destination as written: a trailing slash (or an existing directory) means "inside it". */
  dest: string;
  /** The name (or relative path, for a directory copy) used below a directory destination. */
  rel: string;
  source: FileData;
  /** How the source is named in results and diff headers (undefined for inline content). */
  label: string | undefined;
  isContent: boolean;
  force: boolean;
  backup: boolean;
  follow: boolean;
  validate?: string | undefined;
  directoryMode?: unknown;
  /** copy's `checksum`: the sha1 the source must have. */
  expectedChecksum?: string | undefined;
}

/** A run of copy or template: the file-state context plus whether a diff is wanted. */
export interface PutContext extends FsContext {
  diff: boolean;
}

/** Joins like Python's os.path.join: an absolute second part replaces the first. */
function joinPath(dir: string, name: string): string {
  return name.startsWith('/') ? name : posix.join(dir, name);
}

async function destStat(ctx: FsContext, path: string, follow: boolean) {
  return follow ? statOrUndefined(await hostPathFollow(ctx.conn, path)) : lstatOrUndefined(await hostPathNoFollow(ctx.conn, path));
}

async function sourceBytes(source: FileData): Promise<Buffer> {
  if ('file' in source) return readFile(source.file);
  return Buffer.isBuffer(source.data) ? source.data : Buffer.from(source.data);
}

async function sourceChecksum(source: FileData, algorithm: 'sha1' | 'md5'): Promise<string> {
  return 'file' in source ? checksumFile(source.file, algorithm) : checksumData(source.data, algorithm);
}

/**
 * Puts the source at the destination if its content differs, then applies mode/owner/group. Returns
 * undefined when force=false and something is already there (Ansible skips the file silently).
 */
export async function putFile(ctx: PutContext, req: PutFileRequest): Promise<ModuleResult | undefined> {
  const trailing = req.dest.endsWith('/');
  let dest = trailing ? joinPath(req.dest, req.rel) : req.dest;
  let st = await destStat(ctx, dest, req.follow);
  if (st?.isDirectory()) {
    if (req.isContent) return { failed: true, changed: false, msg: 'can not use content with a dir as dest' };
    dest = joinPath(req.dest, req.rel);
    st = await destStat(ctx, dest, req.follow);
  }
  if (st !== undefined && !req.force) return undefined;

  const checksum = await sourceChecksum(req.source, 'sha1');
  const destChecksum = st?.isFile() ? await checksumFile(await hostPathFollow(ctx.conn, dest)) : undefined;
  if (checksum === destChecksum) return sameContent(ctx, req, dest, checksum);

  if (ctx.check) {
    const result: ModuleResult = { changed: true };
    // Ansible's copy action (template's too) returns its diffs as a list, one per file.
    if (ctx.diff) result.diff = [await fileDiff(await hostPathFollow(ctx.conn, dest), await sourceBytes(req.source), dest, req.label ?? 'content')];
    return result;
  }
  if (req.expectedChecksum !== undefined && req.expectedChecksum !== checksum) {
    return { failed: true, changed: false, msg: 'Copied file does not match the expected checksum. Transfer failed.', checksum, expected_checksum: req.expectedChecksum };
  }
  const diff = ctx.diff ? await fileDiff(await hostPathFollow(ctx.conn, dest), await sourceBytes(req.source), dest, req.label ?? 'content') : undefined;

  if (trailing) await makeParents(ctx, req, posix.dirname(dest));
  let host = await hostPathNoFollow(ctx.conn, dest);
  let existing = await lstatOrUndefined(host);
  if (existing?.isSymbolicLink() && req.follow && (await statOrUndefined(await hostPathFollow(ctx.conn, dest))) !== undefined) {
    host = await hostPathFollow(ctx.conn, dest);
    dest = targetPathOf(ctx.conn, host);
    existing = await lstat(host);
  }
  if (existing === undefined) {
    const parent = await statOrUndefined(await hostPathFollow(ctx.conn, posix.dirname(dest)));
    if (parent === undefined) return { failed: true, changed: false, checksum, msg: `Destination directory ${posix.dirname(dest)} does not exist` };
  }

  const result: ModuleResult = { changed: true, dest, ...(req.label === undefined ? {} : { src: req.label }) };
  result.md5sum = await sourceChecksum(req.source, 'md5');
  result.checksum = checksum;
  if (req.backup && existing !== undefined && !existing.isSymbolicLink()) {
    result.backup_file = targetPathOf(ctx.conn, await backupFile(host));
  }
  // A symlink is replaced by a real file (follow=false), never written through.
  if (existing?.isSymbolicLink()) await unlink(host);
  try {
    await atomicWrite(host, req.source, req.validate === undefined ? undefined : (tmp) => validateCandidate(ctx, req.validate as string, tmp));
  } catch (err) {
    if (err instanceof ValidationFailed) return { failed: true, changed: false, ...err.result };
    if (err instanceof ValidateError) return { failed: true, changed: false, msg: err.message };
    throw err;
  }
  await applyFileAttrs(ctx, host, dest, req);
  if (diff !== undefined) result.diff = [diff];
  return { ...result, ...(await pathInfo(ctx.conn, ctx.accounts, dest)) };
}

class ValidationFailed extends Error {
  constructor(readonly result: ModuleResult) {
    super(String(result.msg));
  }
}

async function validateCandidate(ctx: FsContext, validate: string, tmpHost: string): Promise<void> {
  const res = await runValidate(ctx.conn, validate, targetPathOf(ctx.conn, tmpHost));
  if (res.rc !== 0) throw new ValidationFailed({ msg: 'failed to validate', exit_status: res.rc, stdout: res.stdout, stderr: res.stderr });
}

// The content is already right: only attributes may change (Ansible hands this to the file module).
async function sameContent(ctx: PutContext, req: PutFileRequest, dest: string, checksum: string): Promise<ModuleResult> {
  let path = dest;
  if ((await lstatOrUndefined(await hostPathNoFollow(ctx.conn, path)))?.isSymbolicLink()) {
    path = targetPathOf(ctx.conn, await hostPathFollow(ctx.conn, path));
  }
  const diff: AttrDiff = { before: { path }, after: { path } };
  const changed = await applyFileAttrs(ctx, await hostPathNoFollow(ctx.conn, path), path, req, diff);
  const result: ModuleResult = { changed, checksum, dest: path, path };
  if (ctx.diff) result.diff = structuredDiff(diff.before, diff.after);
  return { ...result, ...(await pathInfo(ctx.conn, ctx.accounts, path)) };
}

// Directories a trailing-slash destination needs, made like `mkdir -p`; only new ones get directory_mode, owner, group.
async function makeParents(ctx: FsContext, req: PutFileRequest, dir: string): Promise<void> {
  const missing: string[] = [];
  let cur = dir;
  while (cur !== '/' && cur !== '.' && (await statOrUndefined(await hostPathFollow(ctx.conn, cur))) === undefined) {
    missing.unshift(cur);
    cur = posix.dirname(cur);
  }
  for (const d of missing) {
    const host = await hostPathNoFollow(ctx.conn, d);
    await mkdir(host);
    await applyFileAttrs(ctx, host, d, { mode: req.directoryMode, owner: req.owner, group: req.group });
  }
}

