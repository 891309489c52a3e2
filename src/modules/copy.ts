// Copies a controller file or directory (or inline content, or a file already on the target) to the target, as Ansible's copy does.
import { access, constants, stat } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { AttrError, pathInfo } from './support/file-attrs.js';
import { type FileStateArgs, FileStateError, type FsContext, ensureDirectory, ensureSymlink } from './support/file-states.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { formatMode } from './support/mode.js';
import { type PutContext, type PutFileRequest, putFile } from './support/put-file.js';
import { pyJsonDumps } from './support/py-json.js';
import { fileAttrArgs } from './support/file-args.js';
import { walkSource } from './support/source-tree.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { mergeTree } from './support/target-tree.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

// Ansible's copy is an action plugin before a module: it checks src, content and dest itself, with its
// own words, so they are not required or exclusive here (see run).
const args = {
  src: {
    type: 'path',
    description: 'Controller path, found as Ansible finds it (role `files/`, then the playbook directory). A directory is copied recursively: `dir` copies the directory itself, `dir/` only its contents. With `remote_src`, a path on the target.',
  },
  // Any YAML value: a dict or list is written as JSON, as Ansible's action does.
  content: { type: 'raw', description: "Text to write instead of `src`. A dict or list is written as Python's `json.dumps` would." },
  dest: {
    type: 'path',
    description: 'Target path. An existing directory, or a path ending in `/`, means "inside it" (missing directories are created for a trailing `/`).',
  },
  backup: { type: 'bool', default: false, description: 'Keep a backup of a replaced file (`backup_file` in the result).' },
  force: { type: 'bool', default: true, description: '`false`: never replace an existing file.' },
  validate: { description: 'Command run on the new file (`%s` is its path) before it replaces `dest`; run as argv, no shell.' },
  directory_mode: { type: 'raw', description: 'Mode for directories a recursive copy creates.' },
  remote_src: { type: 'bool', default: false, description: '`src` is a path on the target.' },
  local_follow: { type: 'bool', default: true, description: 'In a directory `src`, copy what links point at; `false` recreates the links.' },
  checksum: { description: 'The sha1 `src` must have.' },
  follow: { type: 'bool', default: false, description: 'Write through a symlink at `dest` instead of replacing the link.' },
  decrypt: { type: 'bool', default: true, description: 'Accepted and ignored: imgplay has no vault, so there is nothing to decrypt.' },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

type CopyArgs = ArgsOf<typeof args>;

export const copy = defineModule(
  {
    name: 'copy',
    doc: {
      short: 'Copies a controller file or directory (or inline content, or a file already on the target) to the target.',
      description:
        'Only differing content is written (sha1 compared); attributes alone may still change.\n\nQuirks kept from Ansible: an empty source directory given without a trailing slash creates nothing; a directory source holding exactly one file returns the last directory\'s result (which may say `changed: false` even though the file was copied).',
      returns:
        'For a single file: `dest`, `src`, `checksum`, `md5sum`, `backup_file`, and `uid gid owner group mode state size`; for a directory: `dest`, `src`, `changed`. Under `--diff` the old and new text is shown (not for binary files or files over 104448 bytes).',
      checkMode: 'A changed file is reported as `{changed: true}` (plus the diff), as Ansible does.',
      differences: [
        '`src` in a result is the controller source path (Ansible shows a temporary file); for `content` it is left out. The diff\'s `after_header` is the source path (or `content`).',
        "`remote_src` with a directory merges the trees (new and differing files, links kept as links); Ansible's filecmp-based walk has corner cases around links that are not reproduced.",
        '`mode` is never applied to a symlink itself (Linux has no lchmod; Ansible ends up not changing it either).',
      ],
    },
    args,
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
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
);

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
    attributes: args.attributes,
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
async function ensureDirectoryAttrs(fs: FsContext, dest: string, mode: unknown): Promise<{ result: ModuleResult }> {
  if (mode === undefined || (fs.check && (await statOrUndefined(await hostPathFollow(fs.conn, dest))) === undefined)) {
    return { result: { changed: false } };
  }
  return ensureDirectory(fs, { path: dest, mode, force: false, follow: true, recurse: false, mtime: 'preserve', atime: 'preserve' });
}
