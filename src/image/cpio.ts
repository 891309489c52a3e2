// Overlay archives: the upper layer of an overlayfs as a gzip'd newc cpio, and a reader for them.
//
// buildOverlayCpio archives an overlayfs upper directory (after the overlay is unmounted) with GNU
// cpio, -H newc --reproducible, from a NUL-separated file list sorted bytewise (LC_ALL=C order), then
// gzip -n -6 (no name, no timestamp; -9 buys 0.5% for 2.6x the time). cpio keeps owners, modes,
// symlinks, hard links, device nodes, fifos and the overlay's whiteouts (character devices 0/0), so
// a file the overlay deleted stays deleted when the archive is unpacked into the upper layer at boot.
// cpio cannot carry xattrs, so the directories overlayfs marked opaque (a directory that replaced a
// lower one) are listed, one path relative to the upper root per line, in the archive's
// `.imgplay/opaque`; the boot script must set trusted.overlay.opaque=y on each (setfattr from the
// `attr` package in the initrd) and delete `.imgplay` before mounting the overlay. With a
// SOURCE_DATE_EPOCH every mtime later than it is set to it IN THE UPPER DIRECTORY ITSELF (GNU cpio
// has no mtime override and a copy would cost as much as the archive): the upper layer is thrown
// away after archiving, so this is the cheap honest choice. `.imgplay` is written into the upper
// directory for the archive and removed afterwards; an upper that already has `.imgplay` is refused.
// The archive is written as `dest.tmp-<pid>-<rand>` and renamed when complete.
//
// opaqueDirs finds the opaque directories. Node cannot read xattrs, and getfattr (Debian `attr`) is
// not on every host, so GNU tar (always there) is asked for the directories' headers with
// trusted.overlay.* xattrs and its pax records are read here.
//
// listCpio reads a .cpio.gz back in TypeScript (gunzip with node:zlib, newc headers parsed here),
// so tests and manifests can inspect an archive without tools. A hard-linked file's data rides on
// its last link: earlier links show size 0.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { execa } from 'execa';
import { inGroup } from '../host/process-group.js';
import { indentedTail } from './tool-output.js';
import { ImgplayError } from '../errors.js';
import { checksumFile } from '../host/checksum.js';
import { MountedTreeError, mountTable, mountsUnder } from '../host/mount-table.js';

/** What to archive and where. */
export interface OverlayCpioOptions {
  upper: string;
  dest: string;
  sourceDateEpoch?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** A finished overlay archive. */
export interface OverlayCpioResult {
  path: string;
  size: number;
  sha256: string;
  /** Archive members, `.` and `.imgplay/opaque` included, the trailer not. */
  entries: number;
}

/** The kinds of file a newc archive holds. */
export type CpioEntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One member of a newc archive, as its header describes it. */
export interface CpioEntry {
  /** Relative to the archive root, without a leading `./`; the root itself is `.`. */
  path: string;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  type: CpioEntryType;
  /** For character and block devices; a whiteout is char 0/0. */
  rdev?: { major: number; minor: number };
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  nlink: number;
  /** A symlink's target. */
  target?: string;
}

/** An archive that could not be made or read: the reason, the command, then the tool's words. */
export class CpioError extends ImgplayError {}

/** Where the archive lists opaque directories, relative to its root. */
export const OPAQUE_LIST = '.imgplay/opaque';

// Measured on a 168 MB cpio of minbase: -9 is 0.5% smaller (60.3 vs 60.6 MB) for 2.6x the time (21.6 vs 8.3 s).
const GZIP_LEVEL = '-6';

/** Archives an overlayfs upper directory as a reproducible gzip'd newc cpio at `dest`, atomically. */
export async function buildOverlayCpio(opts: OverlayCpioOptions): Promise<OverlayCpioResult> {
  const upper = await realpath(opts.upper).catch((err: unknown) => {
    throw new CpioError(`cannot archive ${opts.upper}: it does not exist`, { cause: err });
  });
  const mounted = mountsUnder(await mountTable(), upper);
  if (mounted.length > 0) {
    throw new MountedTreeError(`refusing to archive ${upper}: mounted inside it: ${mounted.join(', ')}`, {
      hint: 'unmount these first: an upper directory is archived after its overlay is gone',
    });
  }
  const meta = join(upper, '.imgplay');
  if ((await stat(meta).catch(() => undefined)) !== undefined) {
    throw new CpioError(`refusing to archive ${upper}: it has a .imgplay entry, a name imgplay reserves for the opaque directory list`);
  }
  const opaque = await opaqueDirs(upper);
  const tmp = join(dirname(opts.dest), `${basename(opts.dest)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const raw = join(tmpdir(), `imgplay-cpio-${process.pid}-${randomBytes(4).toString('hex')}.cpio`);
  // Groups of their own, stopped whole on interrupt (see host/process-group.ts).
  const run = { cwd: upper, reject: false, all: true, detached: true } as const;
  // Claims the temporary name first: a destination that cannot be written fails before any work.
  await writeFile(tmp, '', { flag: 'wx', mode: 0o644 }).catch((err: NodeJS.ErrnoException) => {
    throw new CpioError(`cannot write the archive ${opts.dest}: ${err.code === 'ENOENT' ? `${dirname(opts.dest)} does not exist` : err.message}`, { cause: err });
  });
  try {
    await mkdir(meta, { mode: 0o755 });
    await writeFile(join(upper, OPAQUE_LIST), opaque.map((d) => `${d}\n`).join(''), { mode: 0o644 });
    if (opts.sourceDateEpoch !== undefined) await clampMtimes(upper, Math.trunc(opts.sourceDateEpoch), opts.signal);
    const names = await sortedNames(upper, opts.signal);
    const cpioArgs = ['-o', '-H', 'newc', '--reproducible', '--null', '--quiet', '-O', raw];
    const c = await inGroup(execa('cpio', cpioArgs, { ...run, input: Buffer.concat(names.flatMap((n) => [n, Buffer.of(0)])) }), 'cpio', opts.signal);
    check(c, `could not archive ${upper}`, `cpio ${cpioArgs.join(' ')}`, opts.signal);
    const g = await inGroup(execa('gzip', ['-n', GZIP_LEVEL, '-c', raw], { ...run, stdout: { file: tmp } }), 'gzip', opts.signal);
    check(g, `could not compress the archive of ${upper}`, `gzip -n ${GZIP_LEVEL} -c ${raw}`, opts.signal);
    const sha256 = await checksumFile(tmp, 'sha256');
    const { size } = await stat(tmp);
    await rename(tmp, opts.dest);
    return { path: opts.dest, size, sha256, entries: names.length };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  } finally {
    await unlink(raw).catch(() => undefined);
    await rm(meta, { recursive: true, force: true });
  }
}

/** Directories in an overlayfs upper directory marked opaque (trusted.overlay.opaque=y), relative and sorted. */
export async function opaqueDirs(upper: string): Promise<string[]> {
  const dirs = await execa('find', ['.', '-type', 'd', '-print0'], { cwd: upper, encoding: 'buffer', stdin: 'ignore' });
  const tarArgs = ['--xattrs', '--xattrs-include=trusted.overlay.*', '--format=posix', '--no-recursion', '--null', '-T', '-', '-cf', '-'];
  const r = await execa('tar', tarArgs, { cwd: upper, input: dirs.stdout, encoding: 'buffer', reject: false, stderr: 'pipe' });
  if (r.exitCode !== 0) {
    throw new CpioError(`could not read the overlay xattrs in ${upper}: tar exited ${r.exitCode}\n  tar ${tarArgs.join(' ')}\n${indentedTail(Buffer.from(r.stderr).toString())}`);
  }
  const found: string[] = [];
  for (const { path, pax } of tarHeaders(Buffer.from(r.stdout))) {
    if (pax.get('SCHILY.xattr.trusted.overlay.opaque') === 'y') found.push(relative(path));
  }
  return found.filter((p) => p !== '.').sort(byteOrder);
}

/** The members of a gzip'd (or plain) newc cpio archive, in archive order. */
export async function listCpio(path: string): Promise<CpioEntry[]> {
  let data = await readFile(path);
  if (data[0] === 0x1f && data[1] === 0x8b) data = await promisify(gunzip)(data);
  const entries: CpioEntry[] = [];
  let off = 0;
  for (;;) {
    const magic = data.toString('latin1', off, off + 6);
    if (magic !== '070701' && magic !== '070702') throw new CpioError(`${path}: not a newc cpio archive (bad header at byte ${off})`);
    if (off + 110 > data.length) throw new CpioError(`${path}: truncated cpio header at byte ${off}`);
    const field = (i: number): number => parseInt(data.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const [mode, uid, gid, nlink, mtime, size] = [field(1), field(2), field(3), field(4), field(5), field(6)];
    const nameSize = field(11);
    const name = data.toString('utf8', off + 110, off + 110 + nameSize - 1);
    const dataStart = align4(off + 110 + nameSize);
    const next = align4(dataStart + size);
    if (next > data.length) throw new CpioError(`${path}: truncated cpio member '${name}'`);
    if (name === 'TRAILER!!!') return entries;
    const type = typeOf(mode, path, name);
    const entry: CpioEntry = { path: relative(name), mode: mode & 0o7777, type, uid, gid, mtime, size, nlink };
    if (type === 'char' || type === 'block') entry.rdev = { major: field(9), minor: field(10) };
    if (type === 'symlink') entry.target = data.toString('utf8', dataStart, dataStart + size);
    entries.push(entry);
    off = next;
  }
}

// Files created while building have today's mtime; only those later than the epoch move, and
// `touch -h` moves a symlink itself rather than what it points to.
async function clampMtimes(upper: string, epoch: number, signal: AbortSignal | undefined): Promise<void> {
  const script = 'find . -newermt "@$1" -print0 | xargs -0r touch -h -c -d "@$1" --';
  const r = await inGroup(execa('sh', ['-c', script, 'sh', String(epoch)], { cwd: upper, reject: false, all: true, detached: true }), 'find | touch', signal);
  check(r, `could not set mtimes in ${upper} to SOURCE_DATE_EPOCH ${epoch}`, script.replaceAll('$1', String(epoch)), signal);
}

// Byte order, as LC_ALL=C sort gives: the archive must not depend on readdir order or the locale.
async function sortedNames(upper: string, signal: AbortSignal | undefined): Promise<Buffer[]> {
  const r = await inGroup(execa('find', ['.', '-print0'], { cwd: upper, encoding: 'buffer', reject: false, stderr: 'pipe', detached: true }), 'find', signal);
  if (r.exitCode !== 0 || r.isCanceled) {
    throw new CpioError(`could not list ${upper}${r.isCanceled ? ': interrupted' : `: find exited ${r.exitCode}`}\n  find . -print0\n${indentedTail(Buffer.from(r.stderr).toString())}`);
  }
  const out = Buffer.from(r.stdout);
  const names: Buffer[] = [];
  for (let start = 0; start < out.length; ) {
    const end = out.indexOf(0, start);
    names.push(out.subarray(start, end));
    start = end + 1;
  }
  return names.sort(Buffer.compare);
}

interface RunResult {
  exitCode?: number | undefined;
  signal?: string | undefined;
  isCanceled: boolean;
  all?: unknown;
}

function check(r: RunResult, what: string, command: string, signal: AbortSignal | undefined): void {
  if (r.isCanceled) throw new CpioError(`${what}: interrupted\n  ${command}`, { cause: signal?.reason });
  if (r.exitCode === 0) return;
  const why = r.exitCode === undefined ? `killed by ${r.signal ?? 'a signal'}` : `exited ${r.exitCode}`;
  const words = typeof r.all === 'string' ? r.all : Buffer.isBuffer(r.all) || r.all instanceof Uint8Array ? Buffer.from(r.all).toString() : '';
  throw new CpioError(`${what}: ${command.split(' ')[0] ?? ''} ${why}\n  ${command}\n${indentedTail(words)}`.trimEnd());
}

// A ustar/pax stream: each member's path and the pax records (xattrs among them) that precede it.
function* tarHeaders(buf: Buffer): Generator<{ path: string; pax: Map<string, string> }> {
  let pax = new Map<string, string>();
  for (let off = 0; off + 512 <= buf.length; ) {
    const block = buf.subarray(off, off + 512);
    if (block.every((b) => b === 0)) return;
    const size = parseInt(cstring(block, 124, 12).trim() || '0', 8);
    const flag = String.fromCharCode(block[156] ?? 0);
    const body = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'x') {
      pax = parsePax(body);
      continue;
    }
    if (flag === 'g') continue;
    const prefix = cstring(block, 345, 155);
    const name = cstring(block, 0, 100);
    yield { path: pax.get('path') ?? (prefix !== '' ? `${prefix}/${name}` : name), pax };
    pax = new Map();
  }
}

// Records are "<length> <key>=<value>\n", the length counting the whole record in bytes.
function parsePax(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  for (let off = 0; off < body.length; ) {
    const space = body.indexOf(0x20, off);
    const len = parseInt(body.toString('latin1', off, space), 10);
    if (space < 0 || !(len > 0)) break;
    const record = body.subarray(space + 1, off + len - 1);
    const eq = record.indexOf(0x3d);
    records.set(record.toString('utf8', 0, eq), record.toString('utf8', eq + 1));
    off += len;
  }
  return records;
}

function cstring(block: Buffer, start: number, len: number): string {
  const field = block.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.toString('utf8', 0, nul < 0 ? len : nul);
}

function relative(name: string): string {
  const p = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return p === '' ? '.' : p;
}

function typeOf(mode: number, archive: string, name: string): CpioEntryType {
  switch (mode & 0o170000) {
    case 0o100000: return 'file';
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o020000: return 'char';
    case 0o060000: return 'block';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    default: throw new CpioError(`${archive}: member '${name}' has an unknown file type (mode ${mode.toString(8)})`);
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

