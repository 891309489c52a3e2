// Unpacks a tar (plain, gz, bz2, xz, zst) or zip archive into a target directory, as Ansible's unarchive does.
// Host tools never write into the target: the controller only decompresses the archive to a plain tar (bsdtar
// rewrites a zip), and the target's own GNU tar unpacks it, so absolute symlinks in the archive resolve inside a chroot.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { execa } from 'execa';
import type { Connection } from '../connection/types.js';
import { HTTP_DEFAULTS, downloadToFile } from './get-url.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { applyFileAttrs, pathInfo } from './support/file-attrs.js';
import { fileAttrArgs } from './support/file-args.js';
import { fnmatchToRegExp } from './support/glob.js';
import { hostPathFollow, hostPathNoFollow, statOrUndefined } from './support/target-path.js';
import { ModuleFailure } from './support/module-failure.js';
import { type ModuleContext, type ModuleResult, failed } from './types.js';

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

const unarchiveArgs = {
  src: {
    type: 'path',
    required: true,
    description:
      "A controller file (searched in the role's `files/`, then the playbook directory), or with `remote_src` a target path or an `http(s)://` URL (downloaded on the controller as get_url does, proxy variables included).",
  },
  dest: { type: 'path', required: true, description: 'An existing directory on the target.' },
  // No default here, unlike Ansible's spec: the action refuses copy with remote_src only when both are given.
  remote_src: { type: 'bool', description: '`src` is on the target (or a URL); unset means false. `copy: false` means the same.' },
  creates: { type: 'path', description: 'A target path; if it exists the task is skipped (`msg: skipped, since PATH exists`).' },
  list_files: { type: 'bool', default: false, description: 'Return `files`: the members as `tar --list` names them (directories end in `/`).' },
  keep_newer: { type: 'bool', default: false, description: 'Do not overwrite files newer than the archive\'s (`--keep-newer-files`).' },
  exclude: { type: 'list', elements: 'str', default: [], description: 'Member patterns not to unpack (GNU tar `--exclude`; trailing `/` dropped).' },
  include: { type: 'list', elements: 'str', default: [], description: 'Only these members.' },
  extra_opts: { type: 'list', elements: 'str', default: [], description: 'More GNU tar options (also for zip archives, since they are unpacked as tar).' },
  validate_certs: { type: 'bool', default: true, description: 'For a `remote_src` URL.' },
  io_buffer_size: { type: 'int', default: 65536, description: 'Accepted and ignored: tar does the reading.' },
  copy: { type: 'bool', description: 'The old inverse of `remote_src` (unset: the opposite of `remote_src`).' },
  decrypt: { type: 'bool', default: true, description: 'Accepted and ignored: imgplay has no vault, so there is nothing to decrypt.' },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

/** unarchive's arguments (copy is the old inverse of remote_src). */
export type UnarchiveArgs = ArgsOf<typeof unarchiveArgs>;

export const unarchive = defineModule(
  {
    name: 'unarchive',
    doc: {
      short: 'Unpacks a tar (plain, gzip, bzip2, xz, zstd) or zip archive into an existing directory of the target.',
      description: `Host tools never write into the target: on the controller a compressed tar is only decompressed (gzip, bzip2, xz or zstd) and a zip rewritten as a plain tar by \`bsdtar\`; that tar is put in the target's \`/tmp\` and unpacked there by the target's own GNU tar (inside the chroot), then removed. An absolute symlink in the archive or already in the tree therefore points into the image, never at the build host. The target needs GNU \`tar\` (every Debian tree has it); the controller needs GNU tar and the archive's compressor, and \`bsdtar\` (libarchive-tools) for zip archives only. \`mode\`, \`owner\` and \`group\` are applied to every member and each top-level directory, names from the target's accounts.

\`changed\` follows Ansible: \`tar --diff\` against \`dest\` decides, counting only missing members and differing mtime, mode (unless \`mode\` is given), uid/gid (unless \`owner\`/\`group\` are given); a file whose contents differ with the same mtime and size does not count. Then \`mode\`/\`owner\`/\`group\` may change.`,
      returns:
        "`changed`, `dest`, `src`, `handler` (`TgzArchive`, `TarArchive`, `TarBzipArchive`, `TarXzArchive`, `TarZstdArchive`, `ZipArchive`), `extract_results` (`cmd`, `rc`, `out`, `err`) when it unpacked, `files` with `list_files`, and dest's `mode`, `owner`, `group`, `uid`, `gid`, `state`. Failures: `Destination 'X' is not a directory`, `Invalid archive 'X', the file is 0 bytes`, `Failed to find handler for \"X\"…` (not an archive, or its tool is missing; the reason follows), `Source 'X' does not exist`, `failed to unpack SRC to DEST: <tar's last lines>`.",
      checkMode:
        'Predicted with `tar --diff` without unpacking (Ansible 2.14 skips tar archives in check mode); `mode`/`owner`/`group` changes are not predicted, as in Ansible.',
      differences: [
        "Zip archives are unpacked by GNU tar after conversion, so `extra_opts` are tar options, not unzip's, and idempotence uses tar's comparison (Ansible compares zip members' size, CRC, mode and mtime itself).",
        "A zip member's owner is root (zip stores none); Ansible's unzip leaves it to the running user too.",
      ],
    },
    args: unarchiveArgs,
    mutuallyExclusive: [['include', 'exclude']],
    checkMode: 'full',
    fsErrors: true,
  },
  async (ctx) => {
    const { args } = ctx;
    // The action's own check, before the module's spec, in its words.
    if (args.copy !== undefined && args.remote_src !== undefined) return failed("parameters are mutually exclusive: ('copy', 'remote_src')");
    const work = await mkdtemp(join(tmpdir(), 'imgplay-unarchive-'));
    try {
      return await unpack(ctx, work);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
);

async function unpack(ctx: ModuleContext<UnarchiveArgs>, work: string): Promise<ModuleResult> {
  const { args, conn } = ctx;
  const remote = args.remote_src === true || args.copy === false;
  if (args.creates !== undefined && (await statOrUndefined(await hostPathFollow(conn, args.creates))) !== undefined) {
    return { changed: false, skipped: true, msg: `skipped, since ${args.creates} exists` };
  }
  const archive = await locateSource(ctx, remote, work);
  const size = (await stat(archive)).size;
  if (size === 0) return failed(`Invalid archive '${args.src}', the file is 0 bytes`);
  const destSt = await statOrUndefined(await hostPathFollow(conn, args.dest));
  if (!destSt?.isDirectory()) return failed(`Destination '${args.dest}' is not a directory`);

  const handler = await handlerName(archive);
  const plain = await plainTar(archive, handler, join(work, 'plain.tar'));
  if (typeof plain !== 'string') {
    throw new ModuleFailure(`Failed to find handler for "${args.src}". Make sure the required command to extract the file is installed.
${plain.reason}`);
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
      throw new ModuleFailure((err as Error).message.split('\n')[0] ?? `Could not find or access '${args.src}'`);
    }
  }
  if (args.src.includes('://')) {
    const file = join(work, 'download');
    try {
      await downloadToFile(args.src, file, { ...HTTP_DEFAULTS, validate_certs: args.validate_certs }, ctx.environment, ctx.signal);
    } catch (err) {
      throw new ModuleFailure((err as Error).message);
    }
    return file;
  }
  // A host path inside the target's root: the controller's tools only read it, never write there.
  const host = await hostPathFollow(conn, args.src);
  if ((await statOrUndefined(host)) === undefined) throw new ModuleFailure(`Source '${args.src}' does not exist`);
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
    throw new ModuleFailure(`Failed to find handler for "${args.src}": tar could not list the archive: ${lastLines(listed.stderr)}`);
  }
  const excludeRes = excludes.map(fnmatchToRegExp);
  const files = listed.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => unescapeTarName(l).replace(/^\//, ''))
    .filter((f) => !excludeRes.some((re) => re.test(f)));
  if (files.length === 0) throw new ModuleFailure(`Failed to find handler for "${args.src}": found no files in archive. Empty archive files are not supported.`);

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
    if (extracted.rc !== 0) throw new ModuleFailure(`failed to unpack ${args.src} to ${args.dest}: ${lastLines(extracted.stderr)}`, { ...result, extract_results: extract });
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
  return applyFileAttrs({ accounts: acc, check: false, conn }, host, path, args);
}

/** The lines of `tar --diff` output that mean extracting would change the tree, filtered as Ansible filters them. */
export function differences(out: string, err: string, attrs: { owner?: string | undefined; group?: string | undefined; mode?: unknown }): string[] {
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

// What turns each compressed tar into a plain one on the controller; GNU tar itself needs none of them.
const decompressors: Record<string, { command: string; pkg: string }> = {
  TgzArchive: { command: 'gzip', pkg: 'gzip' },
  TarBzipArchive: { command: 'bzip2', pkg: 'bzip2' },
  TarXzArchive: { command: 'xz', pkg: 'xz-utils' },
  TarZstdArchive: { command: 'zstd', pkg: 'zstd' },
};

// The archive as a plain tar the target's GNU tar can read (the archive itself when it already is one), or why not.
// Only zip needs bsdtar; tar archives need GNU tar and their compressor, which every Debian host has for gzip and xz.
async function plainTar(archive: string, handler: string, plain: string): Promise<string | { reason: string }> {
  let tar = archive;
  if (handler === 'ZipArchive') {
    const converted = await execa('bsdtar', ['-c', '-f', plain, '--format', 'pax', `@${archive}`], { reject: false, stdin: 'ignore' });
    if (converted.failed && (converted as { code?: string }).code === 'ENOENT') {
      return { reason: 'a zip archive needs bsdtar on the build host (Debian package libarchive-tools)' };
    }
    if (converted.exitCode !== 0) return { reason: lastLines(converted.stderr) };
    tar = plain;
  } else if (decompressors[handler]) {
    const { command, pkg } = decompressors[handler];
    const out = await execa(command, ['-d', '-c', archive], { reject: false, stdin: 'ignore', stdout: { file: plain } });
    if (out.failed && (out as { code?: string }).code === 'ENOENT') return { reason: `${command} is not on the build host (Debian package ${pkg})` };
    if (out.exitCode !== 0) return { reason: lastLines(out.stderr) };
    tar = plain;
  }
  // Read (never extracted) on the controller, so a file that is not a tar is refused before anything reaches the target.
  const listed = await execa('tar', ['--list', '--file', tar], { reject: false, stdin: 'ignore', stdout: 'ignore' });
  if (listed.exitCode !== 0) return { reason: lastLines(listed.stderr) || `tar --list exited ${listed.exitCode}` };
  return tar;
}

// A tool's complaint trimmed to its last few lines: enough to see why, never a wall of output.
function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}
