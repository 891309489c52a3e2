// Copies a controller file or directory (or inline content, or a file already on the target) to the target, as Ansible's copy does.
import { access, constants, stat } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import { Accounts } from './support/accounts.js';
import { AttrError, pathInfo } from './support/file-attrs.js';
import { type FileStateArgs, FileStateError, type FsContext, ensureDirectory, ensureSymlink } from './support/file-states.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { formatMode } from './support/mode.js';
import { type PutContext, type PutFileRequest, putFile } from './support/put-file.js';
import { pyJsonDumps } from './support/py-json.js';
import { boolArg, fileAttrProperties, strArg } from './support/schema.js';
import { walkSource } from './support/source-tree.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { mergeTree } from './support/target-tree.js';
import { failed, type Module, type ModuleContext, type ModuleResult } from './types.js';

/** copy's arguments as they arrive (validated, defaults applied). */
export interface CopyArgs {
  src?: string;
  content?: unknown;
  dest?: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  force: boolean;
  backup: boolean;
  follow: boolean;
  local_follow: boolean;
  remote_src: boolean;
  directory_mode?: string | number;
  validate?: string;
  checksum?: string;
  decrypt: boolean;
}

export const copy: Module<CopyArgs> = {
  name: 'copy',
  aliases: ['ansible.builtin.copy', 'ansible.legacy.copy'],
  schema: {
    type: 'object',
    properties: {
      src: strArg,
      // Any YAML value: a dict or list is written as JSON, as Ansible does.
      content: {},
      dest: strArg,
      force: boolArg(true),
      backup: boolArg(false),
      follow: boolArg(false),
      local_follow: boolArg(true),
      remote_src: boolArg(false),
      directory_mode: { type: ['string', 'integer'] },
      validate: strArg,
      checksum: strArg,
      decrypt: boolArg(true),
      ...fileAttrProperties,
    },
    additionalProperties: false,
  },
  checkMode: true,
  diff: true,
  async run(ctx) {
    const { args } = ctx;
    const fs: PutContext = { conn: ctx.conn, accounts: new Accounts(ctx.conn), check: ctx.check, diff: ctx.diff, warnings: [] };
    if ((args.src === undefined || args.src === '') && args.content === undefined) return failed('src (or content) is required');
    if (args.dest === undefined || args.dest === '') return failed('dest is required');
    if (args.src !== undefined && args.src !== '' && args.content !== undefined) return failed('src and content are mutually exclusive');
    if (args.content !== undefined && args.dest.endsWith('/')) return failed('can not use content with a dir as dest');
    try {
      const result =
        args.content !== undefined
          ? await copyContent(fs, args, args.dest)
          : args.remote_src
            ? await copyOnTarget(fs, args, args.src as string, args.dest)
            : await copyFromController(ctx, fs, args.src as string, args.dest);
      if (fs.warnings.length > 0) result.warnings = fs.warnings;
      return result;
    } catch (err) {
      if (err instanceof FileStateError) return failed(err.message, err.extra);
      if (err instanceof AttrError) return failed(err.message, { path: err.path, ...(err.details === undefined ? {} : { details: err.details }) });
      if (isFsError(err)) return failed(`failed to copy to ${args.dest}: ${describeFsError(err)}`);
      throw err;
    }
  },
};

function request(args: CopyArgs, dest: string, rel: string, source: PutFileRequest['source'], label: string | undefined, extra: Partial<PutFileRequest> = {}): PutFileRequest {
  return {
    dest,
    rel,
    source,
    label,
    isContent: label === undefined,
    mode: args.mode,
    owner: args.owner,
    group: args.group,
    force: args.force,
    backup: args.backup,
    follow: args.follow,
    validate: args.validate,
    directoryMode: args.directory_mode,
    expectedChecksum: args.checksum,
    ...extra,
  };
}

// Inline content is text; a dict or list becomes JSON and a bare number or boolean its Python spelling.
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (typeof content === 'boolean') return content ? 'True' : 'False';
  if (typeof content === 'number') return String(content);
  return pyJsonDumps(content);
}

async function copyContent(fs: PutContext, args: CopyArgs, dest: string): Promise<ModuleResult> {
  if (args.mode === 'preserve') return failed("mode=preserve needs a source file; it cannot be used with content");
  const r = await putFile(fs, request(args, dest, basename(dest), { data: contentText(args.content) }, undefined));
  return r ?? { changed: false, dest };
}

async function copyFromController(ctx: ModuleContext<CopyArgs>, fs: PutContext, src: string, destArg: string): Promise<ModuleResult> {
  const { args } = ctx;
  let source: string;
  try {
    source = await ctx.findFile('files', src);
  } catch (err) {
    return failed((err as Error).message);
  }
  // findFile drops a trailing slash, which decides whether a directory or only its contents is copied.
  if (src.endsWith('/') && !source.endsWith('/')) source += '/';
  if (!src.endsWith('/') && source.endsWith('/') && source !== '/') source = source.slice(0, -1);

  const isDir = (await stat(source)).isDirectory();
  const tree = isDir ? await walkSource(source, args.local_follow) : { files: [[source, basename(source)]] as [string, string][], directories: [], symlinks: [] };
  const dest = isDir && !destArg.endsWith('/') ? `${destArg}/` : destArg;
  // Inside a directory copy links are never followed on the target: they are what is being copied.
  const follow = tree.directories.length > 0 ? false : args.follow;

  let changed = false;
  let executed = false;
  let last: ModuleResult = { changed: false };
  for (const [abs, rel] of tree.files) {
    const mode = args.mode === 'preserve' ? formatMode((await stat(abs)).mode) : args.mode;
    const r = await putFile(fs, request(args, dest, rel, { file: abs }, abs, { follow, mode }));
    if (r === undefined) continue;
    if (r.failed) return r;
    executed = true;
    last = r;
    changed = changed || r.changed === true;
  }
  const fileArgs = (path: string, extra: Partial<FileStateArgs>): FileStateArgs => ({
    path,
    owner: args.owner,
    group: args.group,
    force: false,
    follow: true,
    recurse: false,
    mtime: 'preserve',
    atime: 'preserve',
    ...extra,
  });
  for (const [, rel] of tree.directories) {
    const { result } = await ensureDirectory(fs, fileArgs(posix.join(dest, rel), { mode: args.directory_mode }));
    executed = true;
    last = await withInfo(fs, result);
    changed = changed || result.changed === true;
  }
  for (const [target, rel] of tree.symlinks) {
    const mode = args.mode === 'preserve' ? undefined : args.mode;
    const { result } = await ensureSymlink(fs, fileArgs(posix.join(dest, rel), { src: target, force: true, mode, follow: tree.directories.length > 0 ? false : args.follow }));
    executed = true;
    last = await withInfo(fs, result);
    changed = changed || result.changed === true;
  }
  if (executed && tree.files.length === 1) {
    return { ...last, dest: last.dest ?? last.path };
  }
  return { dest, src: source, changed };
}

async function withInfo(fs: FsContext, result: ModuleResult): Promise<ModuleResult> {
  const path = typeof result.path === 'string' ? result.path : typeof result.dest === 'string' ? result.dest : undefined;
  return path === undefined ? result : { ...result, ...(await pathInfo(fs.conn, fs.accounts, path)) };
}

// remote_src: the source is a path on the target itself; nothing crosses from the controller.
async function copyOnTarget(fs: PutContext, args: CopyArgs, src: string, dest: string): Promise<ModuleResult> {
  const srcHost = await hostPathFollow(fs.conn, src);
  const st = await statOrUndefined(srcHost);
  if (st === undefined) return failed(`Source ${src} not found`);
  if (!(await access(srcHost, constants.R_OK).then(() => true, () => false))) return failed(`Source ${src} not readable`);
  const mode = args.mode === 'preserve' ? formatMode(st.mode) : args.mode;
  if (st.isFile()) {
    const r = await putFile(fs, request(args, dest, basename(src), { file: srcHost }, src, { mode }));
    return r ?? { changed: false, msg: 'file already exists', src, dest };
  }
  if (!st.isDirectory()) return failed(`Cannot copy invalid source '${src}': not a file`);
  // Like rsync: 'dir/' merges the contents into dest, 'dir' puts the directory itself inside dest.
  const into = src.endsWith('/') ? dest : posix.join(dest, posix.basename(src));
  // Ansible reports dest as it rewrites it for an existing directory (Python's basename of 'dir/' is '').
  const destIsDir = (await statOrUndefined(await hostPathFollow(fs.conn, dest)))?.isDirectory() ?? false;
  const shown = !destIsDir ? dest : src.endsWith('/') ? (dest.endsWith('/') ? dest : `${dest}/`) : into;
  let changed = await mergeTree(fs, src, into, { owner: args.owner, group: args.group });
  const { result } = await ensureDirectoryAttrs(fs, dest, mode);
  changed = changed || result.changed === true;
  return withInfo(fs, { dest: shown, src, md5sum: null, checksum: null, changed });
}

// Ansible applies copy's mode to the destination directory itself after a remote directory copy.
async function ensureDirectoryAttrs(fs: FsContext, dest: string, mode: string | number | undefined): Promise<{ result: ModuleResult }> {
  if (mode === undefined || (fs.check && (await statOrUndefined(await hostPathFollow(fs.conn, dest))) === undefined)) {
    return { result: { changed: false } };
  }
  return ensureDirectory(fs, { path: dest, mode, force: false, follow: true, recurse: false, mtime: 'preserve', atime: 'preserve' });
}
