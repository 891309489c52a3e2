// Lists files on the target by name, type, age, size and content, as Ansible's find module does.
import type { Stats } from 'node:fs';
import { lstat, opendir, readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { pyType } from './spec-check.js';
import { Accounts } from './support/accounts.js';
import { checksumFile } from '../host/checksum.js';
import { isFsError, strerror } from './support/fs-error.js';
import { fnmatchToRegExp } from './support/glob.js';
import { PyRegexError, compilePyRegex, toBytes } from './support/py-regex.js';
import { hostPathFollow, hostPathNoFollow } from './support/target-path.js';
import { statFields } from './support/stat-fields.js';
import type { Connection } from '../connection/types.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

// paths, patterns and excludes are Ansible lists, declared raw: Ansible splits a string on commas
// without trimming, so 'a, b' means 'a' and ' b', where the generic list check trims (see toList).
const LIST = 'A list, or a comma-separated string (split without trimming, as Ansible does).';

const args = {
  paths: { type: 'raw', required: true, aliases: ['name', 'path'], description: `Directories to search. ${LIST}` },
  patterns: {
    type: 'raw',
    default: [],
    aliases: ['pattern'],
    description: `Names to take (default \`*\`, \`.*\` with \`use_regex\`): shell globs (fnmatch: \`*\` also matches a leading dot), or with \`use_regex\` Python regexes matched at the start of the name. ${LIST}`,
  },
  excludes: { type: 'raw', aliases: ['exclude'], description: `Names to drop, in the same syntax. ${LIST}` },
  contains: { description: 'A regex a line must match from its start (`file_type=file` only).' },
  read_whole_file: { type: 'bool', default: false, description: 'Search `contains` anywhere in the whole file instead.' },
  file_type: { default: 'file', choices: ['any', 'directory', 'file', 'link'], description: '`file` means regular files. Judged without following links.' },
  age: { description: '`<n>` with an optional unit `s`, `m`, `h`, `d`, `w`: at least that old; negative: at most that old.' },
  age_stamp: { default: 'mtime', choices: ['atime', 'ctime', 'mtime'], description: 'The time `age` is judged by.' },
  size: { description: '`<n>` with an optional unit `b`, `k`, `m`, `g`, `t` (powers of 1024): at least that big; negative: at most (regular files only).' },
  recurse: { type: 'bool', default: false, description: 'Walk subdirectories.' },
  hidden: { type: 'bool', default: false, description: 'Take names starting with `.` (hidden directories are walked either way, as in Ansible).' },
  follow: { type: 'bool', default: false, description: 'Walk into symlinked directories.' },
  get_checksum: { type: 'bool', default: false, description: 'Add `checksum` (sha1) to regular files.' },
  use_regex: { type: 'bool', default: false, description: 'Read `patterns` and `excludes` as regexes.' },
  depth: { type: 'int', description: "With `recurse`, the deepest level taken (1 = the path's own entries; 0 = no limit)." },
} as const satisfies Record<string, ArgSpec>;

type FindArgs = ArgsOf<typeof args>;
type Lists = Record<'paths' | 'patterns' | 'excludes', string[]>;

/** The find module: target paths filtered by name, type, age, size and content. */
export const find = defineModule(
  {
    name: 'find',
    doc: {
      short: 'Lists files on the target by name, type, age, size and content.',
      description:
        "It only reads, so it is never `changed` and runs in full under `--check`.\n\nOrder: as Ansible's `os.walk`, top-down and depth first; within a directory its files, then its subdirectories, each in the order the file system lists them (not sorted). Sort the paths when the order matters: `{{ found.files | map(attribute='path') | sort }}`.",
      returns:
        "`files` (each: `path`, `mode` `'0644'`, `isdir`, `isreg`, `islnk`, `ischr`, `isblk`, `isfifo`, `issock`, `uid`, `gid`, `pw_name`, `gr_name` (from the target's accounts, `''` when unknown), `size`, `inode`, `dev`, `nlink`, `atime`, `mtime`, `ctime`, the `r/w/x` bits, `isuid`, `isgid`, `checksum`), `matched`, `examined` (every entry listed while walking, filtered or not), `msg` and `skipped_paths` (path -> reason, e.g. `'/x' is not a directory`, with a warning each).",
      differences: [
        '`~` and `$VAR` in `paths` are not expanded.',
        'A malformed regex in `patterns`, `excludes` or `contains` fails the task; Ansible records it in `skipped_paths` for each path.',
        '`contains` reads the file as bytes (Python reads text with universal newlines, so a `\\r\\n` file can differ); a file that is not UTF-8 does not match, as in Ansible.',
      ],
    },
    args,
    checkMode: 'full',
  },
  async (ctx) => {
    const { args } = ctx;
    const lists: Partial<Lists> = {};
    for (const name of ['paths', 'patterns', 'excludes'] as const) {
      const list = toList(args[name]);
      if (typeof list === 'string') return failed(`argument '${name}' is of type <class '${pyType(args[name])}'> and we were unable to convert to list: ${list}`);
      lists[name] = list;
    }
    const age = parseAmount(args.age, { s: 1, m: 60, h: 3600, d: 86400, w: 604800 });
    if (age === null) return { changed: false, failed: true, age: args.age, msg: 'failed to process age' };
    const size = parseAmount(args.size, { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 });
    if (size === null) return { changed: false, failed: true, size: args.size, msg: 'failed to process size' };
    try {
      return await search(ctx, lists as Lists, age, size);
    } catch (err) {
      if (err instanceof PyRegexError) return failed(err.message);
      throw err;
    }
  },
);

// Ansible's check_type_list: a list as it is, a string split on commas (not trimmed), a number as its text; otherwise why not.
function toList(value: unknown): string[] | string {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.split(',');
  if (typeof value === 'number') return [String(value)];
  // Python's bool is an int.
  if (typeof value === 'boolean') return [value ? 'True' : 'False'];
  return `<class '${pyType(value)}'> cannot be converted to a list`;
}

// Ansible's '<int><unit>' amounts (age '-2d', size '10k'): undefined when not given, null when malformed.
function parseAmount(text: string | undefined, units: Record<string, number>): number | undefined | null {
  if (text === undefined) return undefined;
  const m = new RegExp(`^(-?\\d+)([${Object.keys(units).join('')}])?$`).exec(text.toLowerCase());
  if (m === null) return null;
  return Number(m[1]) * (m[2] === undefined ? 1 : (units[m[2]] as number));
}

type Matcher = (name: string) => boolean;

// Python's re.match (anchored at the start only), or fnmatch.fnmatch (the whole name; '*' takes leading dots).
function matcher(pattern: string, useRegex: boolean): Matcher {
  if (!useRegex) {
    const re = fnmatchToRegExp(pattern);
    return (name) => re.test(name);
  }
  const re = compilePyRegex(pattern);
  const sticky = new RegExp(re.source, `${re.flags.replace(/[gy]/g, '')}y`);
  return (name) => {
    sticky.lastIndex = 0;
    return sticky.test(toBytes(name));
  };
}

async function search(ctx: ModuleContext<FindArgs>, lists: Lists, age: number | undefined, size: number | undefined): Promise<ModuleResult> {
  const { args, conn } = ctx;
  const { paths } = lists;
  const patterns = (lists.patterns.length > 0 ? lists.patterns : [args.use_regex ? '.*' : '*']).map((p) => matcher(p, args.use_regex));
  const excludes = lists.excludes.map((p) => matcher(p, args.use_regex));
  const contains = args.contains === undefined ? undefined : compilePyRegex(args.contains);
  // Ansible's pfilter: some pattern matches and no exclude does.
  const nameOk = (name: string) => patterns.some((p) => p(name)) && !excludes.some((e) => e(name));
  const now = Date.now() / 1000;
  const ageOk = (st: Stats) => {
    if (age === undefined) return true;
    const elapsed = now - st[`${args.age_stamp}Ms`] / 1000;
    return age >= 0 ? elapsed >= age : elapsed <= -age;
  };
  const sizeOk = (st: Stats) => size === undefined || (size >= 0 ? st.size >= size : st.size <= -size);
  const accounts = new Accounts(conn);

  const files: Record<string, unknown>[] = [];
  const skipped: Record<string, string> = {};
  const warnings: string[] = [];
  let examined = 0;

  for (const npath of paths) {
    try {
      const top = await stat(await hostPathFollow(conn, npath)).catch(() => undefined);
      if (!top?.isDirectory()) throw new Error(`'${npath}' is not a directory`);
      const topDepth = `${npath.replace(/\/+$/, '')}/`.split('/').length - 1;
      // os.walk, top-down: each directory's entries in the order the file system keeps them (as
      // os.scandir returns them; readdir would sort), files before directories.
      const pending: string[] = [npath];
      while (pending.length > 0) {
        const root = pending.shift() as string;
        const { files: names, dirs, walkInto } = await walkLevel(conn, root, args.follow);
        examined += names.length + dirs.length;
        let descend = walkInto;
        for (const name of [...names, ...dirs]) {
          const fsname = posix.normalize(posix.join(root, name));
          if (args.depth) {
            if (fsname.split('/').length - 1 - topDepth + 1 > args.depth) {
              descend = [];
              continue;
            }
          }
          if (name.startsWith('.') && !args.hidden) continue;
          let st: Stats;
          try {
            st = await lstat(await hostPathNoFollow(conn, fsname));
          } catch (err) {
            if (!isFsError(err)) throw err;
            const why = pyOsError(err, fsname);
            warnings.push(`Skipped entry '${fsname}' due to this access issue: ${why}\n`);
            skipped[fsname] = why;
            continue;
          }
          const type = args.file_type;
          const wanted =
            type === 'any' ||
            (type === 'directory' && st.isDirectory()) ||
            (type === 'file' && st.isFile()) ||
            (type === 'link' && st.isSymbolicLink());
          if (!wanted || !nameOk(name) || !ageOk(st)) continue;
          if (st.isFile() && !sizeOk(st)) continue;
          if (type === 'file' && contains !== undefined && !(await containsMatch(conn, fsname, contains, args.read_whole_file))) continue;
          const entry: Record<string, unknown> = { path: fsname, ...(await statInfo(st, accounts)) };
          if (st.isFile() && args.get_checksum) entry.checksum = await checksumFile(await hostPathNoFollow(conn, fsname));
          files.push(entry);
        }
        if (!args.recurse) break;
        // os.walk joins names onto the directory as it was given, and steps into links only with follow.
        pending.unshift(...descend.map((d) => posix.join(root, d)));
      }
    } catch (err) {
      if (!(err instanceof Error) || err instanceof PyRegexError) throw err;
      const why = isFsError(err) ? pyOsError(err, npath) : err.message;
      skipped[npath] = why;
      warnings.push(`Skipped '${npath}' path due to this access issue: ${why}\n`);
    }
  }
  const result: ModuleResult = {
    files,
    changed: false,
    msg: warnings.length > 0 ? 'Not all paths examined, check warnings for details' : 'All paths examined',
    matched: files.length,
    examined,
    skipped_paths: skipped,
  };
  if (warnings.length > 0) result.warnings = warnings;
  return result;
}

// One os.walk step: the directory's files and directories (is_dir() follows links), and the
// directories it steps into (links only with followlinks). Errors name the target path, as Python's do.
async function walkLevel(conn: Connection, root: string, follow: boolean): Promise<{ files: string[]; dirs: string[]; walkInto: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walkInto: string[] = [];
  try {
    for await (const entry of await opendir(await hostPathFollow(conn, root))) {
      const isLink = entry.isSymbolicLink();
      const isDir = isLink ? ((await stat(await hostPathFollow(conn, posix.join(root, entry.name))).catch(() => undefined))?.isDirectory() ?? false) : entry.isDirectory();
      if (!isDir) files.push(entry.name);
      else {
        dirs.push(entry.name);
        if (follow || !isLink) walkInto.push(entry.name);
      }
    }
  } catch (err) {
    if (isFsError(err)) throw new Error(pyOsError(err, root));
    throw err;
  }
  return { files, dirs, walkInto };
}

// str() of a Python OSError about a target path.
function pyOsError(err: NodeJS.ErrnoException, path: string): string {
  return `[Errno ${Math.abs(err.errno ?? 0)}] ${strerror(err)}: '${path}'`;
}

// Ansible's contentfilter: re.match on each line (newline kept), or re.search on the whole file;
// an unreadable or undecodable file simply does not match.
async function containsMatch(conn: Connection, path: string, re: RegExp, wholeFile: boolean): Promise<boolean> {
  let text: string;
  try {
    const data = await readFile(await hostPathNoFollow(conn, path));
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    text = data.toString('latin1');
  } catch {
    return false;
  }
  if (wholeFile) return new RegExp(re.source, re.flags.replace(/[gy]/g, '')).test(text);
  const sticky = new RegExp(re.source, `${re.flags.replace(/[gy]/g, '')}y`);
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    sticky.lastIndex = 0;
    if (sticky.test(line)) return true;
  }
  return false;
}

// The stat-like dict Ansible's find gives each match; names come from the target's accounts ('' if unknown).
async function statInfo(st: Stats, accounts: Accounts): Promise<Record<string, unknown>> {
  return {
    ...statFields(st),
    gr_name: (await accounts.groupName(st.gid)) ?? '',
    pw_name: (await accounts.userName(st.uid)) ?? '',
  };
}
