// Manages a path's kind (file, directory, symlink, hard link, absent) and attributes, as Ansible's file module does.
import { posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
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
import { fileAttrArgs } from './support/file-args.js';
import { hostPathFollow, hostPathNoFollow, pathState, statOrUndefined } from './support/target-path.js';
import { parseTime } from './support/strptime.js';
import type { ModuleResult } from './types.js';

const STATES = ['absent', 'directory', 'file', 'hard', 'link', 'touch'] as const;
type State = (typeof STATES)[number];

const TIME = 'A time in the matching `*_time_format`, `now`, or `preserve` (the default, except `touch`: `now`).';

const args = {
  state: { choices: STATES, description: 'What the path should be; without it, what it already is, else `file` (`directory` with `recurse`).' },
  path: { type: 'path', required: true, aliases: ['dest', 'name'], description: 'The path on the target.' },
  recurse: { type: 'bool', default: false, description: 'With `state: directory`, apply mode/owner/group to everything below.' },
  force: { type: 'bool', default: false, description: 'Replace a file/empty directory with a link, create a link to a missing src.' },
  follow: { type: 'bool', default: true, description: 'Apply attributes to what a symlink points at.' },
  src: { type: 'path', description: "Link target (`link`: written as given, relative to the link's directory; `hard`: an existing file)." },
  modification_time: { description: TIME },
  modification_time_format: { default: '%Y%m%d%H%M.%S', description: 'The strftime format of `modification_time`.' },
  access_time: { description: TIME },
  access_time_format: { default: '%Y%m%d%H%M.%S', description: 'The strftime format of `access_time`.' },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

type FileArgs = ArgsOf<typeof args>;

export const file = defineModule(
  {
    name: 'file',
    doc: {
      short: "Manages a path's kind (file, directory, symlink, hard link, absent) and attributes.",
      description:
        'Messages are Ansible\'s, e.g. `file (/x) is absent, cannot continue`, `/x already exists as a file`, `refusing to convert from file to symlink for /x`, `src file does not exist, use "force=yes" if you really want to create the link: /x`. `state: directory` creates parents like `mkdir -p`, giving each new directory the mode. `state: touch` changes times, so it always reports a change.',
      returns: 'Results carry `path` (or `dest` for link/hard/touch) and `uid gid owner group mode state size`.',
      differences: [
        "The diff (Ansible: a dict of path/state/mode/owner changes) is given as that dict rendered as JSON text, as Ansible's callback displays it.",
        'Time formats support `%Y %y %m %d %H %M %S %%` only; other directives are refused by name.',
      ],
    },
    args,
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
    const { args, conn, check } = ctx;
    let path = args.path;
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
      attributes: args.attributes,
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
);

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
