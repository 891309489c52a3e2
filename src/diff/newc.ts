// A newc cpio archive (plain or gzip'd) read as a stream, member by member, without unpacking
// anything: each member's header and the sha256 of its data. Built for hostile archives: a name that
// is absolute, climbs out with `..`, or lies under a symlink an earlier member made (what would write
// outside the root when unpacked) stops the reading with a CpioError, as does any malformed header.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CpioError, type CpioEntryType } from '../image/cpio.js';

/** One member of a newc archive. */
export interface NewcMember {
  /** Relative to the archive's root, without `./`; the root itself is `.`. */
  path: string;
  type: CpioEntryType;
  /** Permission bits with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** sha256 of a regular file's data (hard links: see readNewc). */
  sha256?: string;
  /** A symlink's target. */
  target?: string;
  /** A device's `major,minor`. */
  device?: string;
}

const HEADER = 110;
// PATH_MAX: a longer name is no name a Linux file system holds.
const MAX_NAME = 4096;
const TYPES: Record<number, CpioEntryType> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'char', 0o060000: 'block', 0o010000: 'fifo', 0o140000: 'socket' };

/**
 * The members of the archive at `path`, in archive order (a later member of the same path replaces the
 * earlier one, as unpacking would). Hard-linked files carry their data on one link only: every link
 * gets that data's size and digest.
 */
export async function readNewc(path: string, signal?: AbortSignal): Promise<Map<string, NewcMember>> {
  const fh = await open(path, 'r');
  const magic = Buffer.alloc(2);
  try {
    await fh.read(magic, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const file = createReadStream(path, signal === undefined ? {} : { signal });
  const stream: Readable = magic[0] === 0x1f && magic[1] === 0x8b ? file.pipe(createGunzip()) : file;
  file.on('error', (err) => stream.destroy(err));
  const reader = new Reader(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  const members = new Map<string, NewcMember>();
  const links = new Map<string, NewcMember[]>();
  const symlinks = new Set<string>();
  try {
    for (;;) {
      if (signal?.aborted) throw new CpioError(`reading ${path} was interrupted`, { cause: signal.reason });
      const at = reader.offset;
      const head = await reader.take(HEADER, () => `${path}: truncated cpio header at byte ${at}`);
      const magicText = head.toString('latin1', 0, 6);
      if (magicText !== '070701' && magicText !== '070702') throw new CpioError(`${path}: not a newc cpio archive (bad header at byte ${at})`);
      const field = (i: number): number => {
        const text = head.toString('latin1', 6 + i * 8, 14 + i * 8);
        if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new CpioError(`${path}: corrupt cpio header at byte ${at}`);
        return parseInt(text, 16);
      };
      const [ino, mode, uid, gid, nlink, , size, devMajor, devMinor, rMajor, rMinor, nameSize] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map(field) as number[];
      if (nameSize! < 1 || nameSize! > MAX_NAME) throw new CpioError(`${path}: cpio member at byte ${at} has a name of ${nameSize} bytes`);
      const nameBytes = await reader.take(nameSize!, () => `${path}: truncated cpio member name at byte ${at}`);
      if (nameBytes[nameSize! - 1] !== 0 || nameBytes.subarray(0, nameSize! - 1).includes(0)) throw new CpioError(`${path}: cpio member at byte ${at} has a malformed name`);
      const name = nameBytes.toString('utf8', 0, nameSize! - 1);
      await reader.skip(pad4(HEADER + nameSize!), () => `${path}: truncated cpio member '${name}'`);
      if (name === 'TRAILER!!!') break;
      const type = TYPES[mode! & 0o170000];
      if (type === undefined) throw new CpioError(`${path}: member '${name}' has an unknown file type (mode ${mode!.toString(8)})`);
      const rel = checkedPath(path, name, symlinks);
      const member: NewcMember = { path: rel, type, mode: mode! & 0o7777, uid: uid!, gid: gid!, size: size! };
      const what = () => `${path}: truncated cpio member '${name}'`;
      if (type === 'file') {
        const h = createHash('sha256');
        await reader.pass(size!, (chunk) => h.update(chunk), what);
        member.sha256 = h.digest('hex');
        if (nlink! > 1) {
          const key = `${devMajor}:${devMinor}:${ino}`;
          links.set(key, [...(links.get(key) ?? []), member]);
        }
      } else if (type === 'symlink') {
        if (size! > MAX_NAME) throw new CpioError(`${path}: symlink '${name}' has a target of ${size} bytes`);
        member.target = (await reader.take(size!, what)).toString('utf8');
      } else {
        await reader.skip(size!, what);
        if (type === 'char' || type === 'block') member.device = `${rMajor},${rMinor}`;
      }
      await reader.skip(pad4(size!), what);
      if (type === 'symlink') symlinks.add(rel);
      else symlinks.delete(rel);
      members.set(rel, member);
    }
  } catch (err) {
    if (err instanceof CpioError) throw err;
    // zlib's and the file's own errors: a corrupt gzip stream, an unreadable file, an abort.
    const why = signal?.aborted ? 'interrupted' : (err as Error).message;
    throw new CpioError(`cannot read ${path}: ${why}`, { cause: err });
  } finally {
    stream.destroy();
    file.destroy();
  }
  // GNU cpio writes a hard-linked file's data with its last link and size 0 on the others.
  for (const group of links.values()) {
    const withData = group.findLast((m) => m.size > 0) ?? group[group.length - 1]!;
    for (const m of group) Object.assign(m, { size: withData.size, sha256: withData.sha256 });
  }
  return members;
}

// A member unpacked at a name like these would land outside the directory it is unpacked into.
function checkedPath(archive: string, name: string, symlinks: ReadonlySet<string>): string {
  const rel = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  const parts = rel.split('/');
  if (name.startsWith('/') || parts.includes('..')) {
    throw new CpioError(`${archive}: member '${name}' points outside the archive's root (an absolute name or '..'): refusing to read it further`);
  }
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (symlinks.has(dir)) throw new CpioError(`${archive}: member '${name}' lies under '${dir}', a symlink earlier in the archive: unpacking it would write wherever that link points; refusing to read it further`);
  }
  return rel === '' || rel === '.' ? '.' : rel;
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

// Bytes from a stream of chunks: `take` a few into memory, `pass` many through a callback, `skip` them.
class Reader {
  private buf: Buffer = Buffer.alloc(0);
  offset = 0;
  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    const next = await this.chunks.next();
    if (next.done === true) return false;
    this.buf = this.buf.length === 0 ? next.value : Buffer.concat([this.buf, next.value]);
    return true;
  }

  async take(n: number, truncated: () => string): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.fill())) throw new CpioError(truncated());
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  async pass(n: number, sink: (chunk: Buffer) => void, truncated: () => string): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw new CpioError(truncated());
      const part = this.buf.subarray(0, Math.min(left, this.buf.length));
      sink(part);
      this.buf = this.buf.subarray(part.length);
      this.offset += part.length;
      left -= part.length;
    }
  }

  async skip(n: number, truncated: () => string): Promise<void> {
    await this.pass(n, () => undefined, truncated);
  }
}
