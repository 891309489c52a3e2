// Unpacks a tar (plain, gz, bz2, xz, zst) or zip archive into a target directory, as Ansible's unarchive does.
// Host tools never write into the target: bsdtar on the controller only rewrites the archive as a plain
// tar, and the target's own GNU tar unpacks it, so absolute symlinks in the archive resolve inside a chroot.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { execa } from 'execa';
import type { Connection } from '../connection/types.js';
import { HTTP_DEFAULTS, downloadToFile } from './get-url.js';
import { Accounts } from './support/accounts.js';
import { AttrError, applyFileAttrs, pathInfo } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { fnmatchToRegExp } from './support/glob.js';
import { boolArg, fileAttrProperties, strArg } from './support/schema.js';
import { hostPathFollow, hostPathNoFollow, statOrUndefined } from './support/target-path.js';
import { type Module, type ModuleContext, type ModuleResult, failed } from './types.js';

/** unarchive's arguments (copy is the old inverse of remote_src; decrypt and io_buffer_size are accepted and ignored). */
export interface UnarchiveArgs {
  src: string;
  dest: string;
  remote_src: boolean;
  copy?: boolean;
  creates?: string;
  list_files: boolean;
  keep_newer: boolean;
  exclude: string[];
  include: string[];
  extra_opts: string[];
  validate_certs: boolean;
  io_buffer_size?: number;
  decrypt: boolean;
  mode?: string | number;
  owner?: string;
  group?: string;
}

// The lines of `tar --diff` that mean the tree differs, Ansible's list (Contents/Size differ alone do not count).
const OWNER_DIFF_RE = /: Uid differs$/;
const GROUP_DIFF_RE = /: Gid differs$/;
const MODE_DIFF_RE = /: Mode differs$/;
const MOD_TIME_DIFF_RE = /: Mod time differs$/;
const EMPTY_FILE_RE = /: : Warning: Cannot stat: No such file or directory$/;
const MISSING_FILE_RE = /: Warning: Cannot stat: No such file or directory$/;
const INVALID_OWNER_RE = /: Invalid owner/;
const INVALID_GROUP_RE = /: Invalid group/;

// tar answers in the C locale so the lines above can be recognised.
const C_LOCALE = { LANG: 'C', LC_ALL: 'C', LC_MESSAGES: 'C', LANGUAGE: 'C' };

const listOf = { type: 'array', items: strArg, default: [] };

export const unarchive: Module<UnarchiveArgs> = {
  name: 'unarchive',
  aliases: ['ansible.builtin.unarchive', 'ansible.legacy.unarchive'],
  schema: {
    type: 'object',
    required: ['src', 'dest'],
    properties: {
      src: strArg,
      dest: strArg,
      remote_src: boolArg(false),
      copy: boolArg(),
      creates: strArg,
      list_files: boolArg(false),
      keep_newer: boolArg(false),
      exclude: listOf,
      include: listOf,
      extra_opts: listOf,
      validate_certs: boolArg(true),
      io_buffer_size: { type: 'integer' },
      decrypt: boolArg(true),
      ...fileAttrProperties,
    },
    additionalProperties: false,
  },
  checkMode: true,
  async run(ctx) {
    const { args } = ctx;
    if (args.exclude.length > 0 && args.include.length > 0) return failed('parameters are mutually exclusive: include|exclude');
    if (args.copy !== undefined && args.remote_src && args.copy) return failed('parameters are mutually exclusive: copy|remote_src');
    const work = await mkdtemp(join(tmpdir(), 'imgplay-unarchive-'));
    try {
      return await unpack(ctx, work);
    } catch (err) {
      if (err instanceof AttrError) return failed(err.message, { path: err.path, ...(err.details === undefined ? {} : { details: err.details }) });
      if (err instanceof UnarchiveError) return failed(err.message, err.extra);
      if (isFsError(err)) return failed(describeFsError(err));
      throw err;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};

class UnarchiveError extends Error {
  constructor(
    message: string,
    readonly extra: Omit<ModuleResult, 'failed' | 'msg'> = {},
  ) {
    super(message);
  }
}

async function unpack(ctx: ModuleContext<UnarchiveArgs>, work: string): Promise<ModuleResult> {
  const { args, conn } = ctx;
  const remote = args.remote_src || args.copy === false;
  if (args.creates !== undefined && (await statOrUndefined(await hostPathFollow(conn, args.creates))) !== undefined) {
    return { changed: false, skipped: true, msg: `skipped, since ${args.creates} exists` };
  }
  const archive = await locateSource(ctx, remote, work);
  const size = (await stat(archive)).size;
  if (size === 0) return failed(`Invalid archive '${args.src}', the file is 0 bytes`);
  const destSt = await statOrUndefined(await hostPathFollow(conn, args.dest));
  if (!destSt?.isDirectory()) return failed(`Destination '${args.dest}' is not a directory`);

  const handler = await handlerName(archive);
  const plain = join(work, 'plain.tar');
  const converted = await execa('bsdtar', ['-c', '-f', plain, '--format', 'pax', `@${archive}`], { reject: false, stdin: 'ignore' });
  if (converted.exitCode !== 0) {
    throw new UnarchiveError(`Failed to find handler for "${args.src}". Make sure the required command to extract the file is installed.\n${lastLines(converted.stderr)}`);
  }
  const inTarget = `/tmp/.imgplay-unarchive-${process.pid}-${randomBytes(4).toString('hex')}.tar`;
  await conn.putFile(plain, inTarget);
  try {
    return await unpackInTarget(ctx, inTarget, handler);
  } finally {
    await rm(await conn.hostPath(inTarget, { followLast: false }), { force: true });
  }
}

// The archive as a controller file: found in files/, read from the target (remote_src), or downloaded.
async function locateSource(ctx: ModuleContext<UnarchiveArgs>, remote: boolean, work: string): Promise<string> {
  const { args, conn } = ctx;
  if (!remote) {
    try {
      return await ctx.findFile('files', args.src);
    } catch (err) {
      throw new UnarchiveError((err as Error).message.split('\n')[0] ?? `Could not find or access '${args.src}'`);
    }
  }
  if (args.src.includes('://')) {
    const file = join(work, 'download');
    try {
      await downloadToFile(args.src, file, { ...HTTP_DEFAULTS, validate_certs: args.validate_certs }, ctx.environment, ctx.signal);
    } catch (err) {
      throw new UnarchiveError((err as Error).message);
    }
    return file;
  }
  // A host path inside the target's root: bsdtar only reads it, never writes there.
  const host = await hostPathFollow(conn, args.src);
  if ((await statOrUndefined(host)) === undefined) throw new UnarchiveError(`Source '${args.src}' does not exist`);
  return host;
}

async function unpackInTarget(ctx: ModuleContext<UnarchiveArgs>, tarFile: string, handler: string): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  const excludes = args.exclude.map((p) => p.replace(/\/+$/, ''));
  const opts = args.extra_opts.length > 0 ? ['--show-transformed-names', ...args.extra_opts] : [];
  const excludeFlags = excludes.map((e) => `--exclude=${e}`);
  const run = (argv: string[]) => conn.exec(argv, { cwd: args.dest, env: { ...ctx.environment, ...C_LOCALE }, signal: ctx.signal });

  const listed = await run(['tar', '--list', '-C', args.dest, ...opts, ...excludeFlags, '-f', tarFile, ...args.include]);
  if (listed.rc !== 0) {
    throw new UnarchiveError(`Failed to find handler for "${args.src}": tar could not list the archive: ${lastLines(listed.stderr)}`);
  }
  const excludeRes = excludes.map(fnmatchToRegExp);
  const files = listed.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => unescapeTarName(l).replace(/^\//, ''))
    .filter((f) => !excludeRes.some((re) => re.test(f)));
  if (files.length === 0) throw new UnarchiveError(`Failed to find handler for "${args.src}": found no files in archive. Empty archive files are not supported.`);

  const attrFlags = [
    ...(args.owner !== undefined ? [`--owner=${args.owner}`] : []),
    ...(args.group !== undefined ? [`--group=${args.group}`] : []),
    ...(args.keep_newer ? ['--keep-newer-files'] : []),
  ];
  const tail = [...opts, ...attrFlags, ...excludeFlags, '-f', tarFile, ...args.include];
  const diff = await run(['tar', '--diff', '-C', args.dest, ...tail]);
  const unarchived = differences(diff.stdout, diff.stderr, args).length === 0;

  const result: ModuleResult = { changed: false, handler, dest: args.dest, src: args.src };
  if (check) {
    result.changed = !unarchived;
  } else if (!unarchived) {
    const extracted = await run(['tar', '--extract', '-C', args.dest, ...tail]);
    const extract = { cmd: extracted.command, rc: extracted.rc, out: extracted.stdout, err: lastLines(extracted.stderr) };
    if (extracted.rc !== 0) throw new UnarchiveError(`failed to unpack ${args.src} to ${args.dest}: ${lastLines(extracted.stderr)}`, { ...result, extract_results: extract });
    result.extract_results = extract;
    result.changed = true;
  }
  const accounts = new Accounts(conn);
  if (!check) {
    const tops = new Set<string>();
    for (const f of files) {
      if (await applyAttrs(conn, accounts, posix.join(args.dest, f), args)) result.changed = true;
      if (f.includes('/')) tops.add(f.split('/')[0] as string);
    }
    for (const top of tops) if (await applyAttrs(conn, accounts, posix.join(args.dest, top), args)) result.changed = true;
  }
  if (args.list_files) result.files = files;
  return { ...result, ...(await pathInfo(conn, accounts, args.dest)) };
}

// An excluded or missing member has nothing to set: Ansible's set_fs_attributes ignores it too.
async function applyAttrs(conn: Connection, acc: Accounts, path: string, args: UnarchiveArgs): Promise<boolean> {
  const host = await hostPathNoFollow(conn, path);
  if ((await statOrUndefined(host)) === undefined) return false;
  return applyFileAttrs({ accounts: acc, check: false }, host, path, args);
}

/** The lines of `tar --diff` output that mean extracting would change the tree, filtered as Ansible filters them. */
export function differences(out: string, err: string, attrs: { owner?: string | undefined; group?: string | undefined; mode?: string | number | undefined }): string[] {
  const root = process.getuid?.() === 0;
  const found: string[] = [];
  for (const line of [...out.split('\n'), ...err.split('\n')]) {
    if (EMPTY_FILE_RE.test(line)) continue;
    if (
      (root && attrs.owner === undefined && OWNER_DIFF_RE.test(line)) ||
      (root && attrs.group === undefined && GROUP_DIFF_RE.test(line)) ||
      (attrs.mode === undefined && MODE_DIFF_RE.test(line)) ||
      MOD_TIME_DIFF_RE.test(line) ||
      MISSING_FILE_RE.test(line) ||
      INVALID_OWNER_RE.test(line) ||
      INVALID_GROUP_RE.test(line)
    ) {
      found.push(line);
    }
  }
  return found;
}

/** A member name as GNU tar prints it (escape quoting: \\, \n, \t, \ooo octal bytes) back to its text. */
export function unescapeTarName(name: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { '\\': 0x5c, n: 0x0a, t: 0x09, r: 0x0d, a: 0x07, b: 0x08, f: 0x0c, v: 0x0b, '?': 0x3f };
  const raw = Buffer.from(name, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c !== 0x5c || i + 1 >= raw.length) {
      bytes.push(c);
      continue;
    }
    const next = String.fromCharCode(raw[i + 1] as number);
    const oct = /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1')) ? raw.subarray(i + 1, i + 4).toString('latin1') : undefined;
    if (oct !== undefined) {
      bytes.push(parseInt(oct, 8));
      i += 3;
    } else if (simple[next] !== undefined) {
      bytes.push(simple[next] as number);
      i += 1;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// Ansible's handler class for the archive's format, from its first bytes.
async function handlerName(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(6);
    await fh.read(head, 0, 6, 0);
    if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])) || head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x05, 0x06]))) return 'ZipArchive';
    if (head[0] === 0x1f && head[1] === 0x8b) return 'TgzArchive';
    if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'TarBzipArchive';
    if (head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'TarXzArchive';
    if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'TarZstdArchive';
    return 'TarArchive';
  } finally {
    await fh.close();
  }
}

// A tool's complaint trimmed to its last few lines: enough to see why, never a wall of output.
function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}
