// Manages a path's kind (file, directory, symlink, hard link, absent) and attributes, as Ansible's file module does.
import { posix } from 'node:path';
import { Accounts } from './support/accounts.js';
import { structuredDiff } from './support/diff.js';
import { AttrError, pathInfo } from './support/file-attrs.js';
import {
  type FileStateArgs,
  type FsContext,
  FileStateError,
  type StateOutcome,
  type TimeSpec,
  ensureAbsent,
  ensureDirectory,
  ensureFile,
  ensureHardlink,
  ensureSymlink,
  touch,
} from './support/file-states.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { boolArg, fileAttrProperties, firstSet } from './support/schema.js';
import { hostPathFollow, hostPathNoFollow, pathState, statOrUndefined } from './support/target-path.js';
import { parseTime } from './support/strptime.js';
import type { Module, ModuleResult } from './types.js';

const STATES = ['absent', 'directory', 'file', 'hard', 'link', 'touch'] as const;
type State = (typeof STATES)[number];

/** The file module's arguments as they arrive: `dest` and `name` are aliases of `path`. */
export interface FileArgs {
  path?: string;
  dest?: string;
  name?: string;
  state?: State;
  src?: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  recurse: boolean;
  force: boolean;
  follow: boolean;
  modification_time?: string;
  modification_time_format: string;
  access_time?: string;
  access_time_format: string;
}

export const file: Module<FileArgs> = {
  name: 'file',
  aliases: ['ansible.builtin.file', 'ansible.legacy.file'],
  schema: {
    type: 'object',
    properties: {
      path: { type: 'string' },
      dest: { type: 'string' },
      name: { type: 'string' },
      state: { enum: [...STATES] },
      src: { type: 'string' },
      recurse: boolArg(false),
      force: boolArg(false),
      follow: boolArg(true),
      modification_time: { type: 'string' },
      modification_time_format: { type: 'string', default: '%Y%m%d%H%M.%S' },
      access_time: { type: 'string' },
      access_time_format: { type: 'string', default: '%Y%m%d%H%M.%S' },
      ...fileAttrProperties,
    },
    additionalProperties: false,
  },
  checkMode: true,
  diff: true,
  async run(ctx) {
    const { args, conn, check } = ctx;
    let path = firstSet(args.path, args.dest, args.name);
    if (path === undefined) return { failed: true, changed: false, msg: 'missing required arguments: path' };
    const fs: FsContext = { conn, accounts: new Accounts(conn), check, warnings: [] };
    const recurse = args.recurse;
    let state = args.state;
    const src = args.src;

    // A file placed into an existing directory takes src's name, as Ansible does for copy's sake.
    if (state !== 'link' && state !== 'absent' && src !== undefined && (await isDir(ctx.conn, path))) {
      path = posix.join(path, posix.basename(src));
    }
    const prev = await pathState(await hostPathNoFollow(conn, path));
    // No state means "whatever is there", so a task that only sets a mode works on files and directories alike.
    state ??= prev !== 'absent' ? prev : recurse ? 'directory' : 'file';
    if (recurse && state !== 'directory') return failure(fs, { msg: "recurse option requires state to be 'directory'", path });
    if (src !== undefined && state !== 'link' && state !== 'hard') {
      return failure(fs, { msg: "src option requires state to be 'link' or 'hard'", path });
    }
    if (check && state !== 'absent') await warnUnknownAccounts(fs, args);

    let mtime: TimeSpec;
    let atime: TimeSpec;
    try {
      mtime = timeSpec(args.modification_time, args.modification_time_format, state);
      atime = timeSpec(args.access_time, args.access_time_format, state);
    } catch (err) {
      if (err instanceof FileStateError) return failure(fs, { msg: err.message });
      throw err;
    }
    const a: FileStateArgs = {
      path,
      src,
      mode: args.mode,
      owner: args.owner,
      group: args.group,
      force: args.force,
      follow: args.follow,
      recurse,
      mtime,
      atime,
    };
    let outcome: StateOutcome;
    try {
      outcome = await byState[state](fs, a);
    } catch (err) {
      if (err instanceof FileStateError) return failure(fs, { ...err.extra, msg: err.message });
      if (err instanceof AttrError) return failure(fs, { path: err.path, msg: err.message, ...(err.details === undefined ? {} : { details: err.details }) });
      if (isFsError(err)) return failure(fs, { path, msg: describeFsError(err, path) });
      throw err;
    }
    const result: ModuleResult = { ...outcome.result };
    if (ctx.diff && outcome.diff !== undefined) result.diff = structuredDiff(outcome.diff.before, outcome.diff.after);
    return finish(fs, result);
  },
};

const byState: Record<State, (fs: FsContext, a: FileStateArgs) => Promise<StateOutcome>> = {
  absent: (fs, a) => ensureAbsent(fs, a.path),
  directory: ensureDirectory,
  file: ensureFile,
  hard: ensureHardlink,
  link: ensureSymlink,
  touch,
};

async function isDir(conn: FsContext['conn'], path: string): Promise<boolean> {
  return (await statOrUndefined(await hostPathFollow(conn, path)))?.isDirectory() ?? false;
}

// Ansible keeps timestamps unless asked, except touch, whose point is to set them to now.
function timeSpec(value: string | undefined, format: string, state: State): TimeSpec {
  const v = value ?? (state === 'touch' ? 'now' : 'preserve');
  if (v === 'preserve' || v === 'now') return v;
  try {
    return parseTime(v, format);
  } catch (err) {
    throw new FileStateError(`Error while obtaining timestamp for time ${v} using format ${format}: ${(err as Error).message}`);
  }
}

// In check mode the accounts may be created by an earlier task that did not run, so this only warns.
async function warnUnknownAccounts(fs: FsContext, args: FileArgs): Promise<void> {
  if (args.owner !== undefined && (await fs.accounts.uid(args.owner)) === undefined) {
    fs.warnings.push(`failed to look up user ${args.owner}. Create user up to this point in real play`);
  }
  if (args.group !== undefined && (await fs.accounts.gid(args.group)) === undefined) {
    fs.warnings.push(`failed to look up group ${args.group}. Create group up to this point in real play`);
  }
}

function failure(fs: FsContext, result: ModuleResult): Promise<ModuleResult> {
  return finish(fs, { changed: false, ...result, failed: true });
}

// Like Ansible's add_path_info, every result naming an existing path describes it.
async function finish(fs: FsContext, result: ModuleResult): Promise<ModuleResult> {
  const path = typeof result.path === 'string' ? result.path : typeof result.dest === 'string' ? result.dest : undefined;
  const out: ModuleResult = path === undefined ? result : { ...result, ...(await pathInfo(fs.conn, fs.accounts, path)) };
  if (fs.warnings.length > 0) out.warnings = fs.warnings;
  return out;
}
