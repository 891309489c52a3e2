// A content address for what a stage is built from, so an unchanged stage can be recognised (and later skipped).
import { createHash, type Hash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { ImgplayError } from '../errors.js';
import { checksumFile, verifiedSha256 } from '../host/checksum.js';

/** What a stage's output depends on. */
export interface StageInputs {
  /** The stage's variables: any JSON-like value, hashed as canonical JSON (object keys sorted). */
  vars?: unknown;
  /** Files or directories (walked recursively), in the order given; each hashed under its own basename. */
  files?: readonly string[];
  /** The inputs digest of the stage this one builds on (an overlay's base). */
  base?: string;
}

// Bumped whenever the byte stream below changes meaning, so old and new digests never collide.
const FORMAT = 'imgplay-inputs/1';
const SLASH = Buffer.from('/');

/**
 * The digest ('sha256:<hex>') of a stage's inputs: the same on every run and machine for the same
 * variables, file contents, modes, names and symlink targets; mtimes, owners and where the listed
 * directories sit on disk do not count.
 */
export async function inputsDigest(inputs: StageInputs): Promise<string> {
  const h = createHash('sha256');
  h.update(`${FORMAT}\n`);
  if (inputs.vars !== undefined) h.update(`vars ${canonicalJson(inputs.vars)}\n`);
  if (inputs.base !== undefined) h.update(`base ${JSON.stringify(inputs.base)}\n`);
  for (const file of inputs.files ?? []) {
    const root = resolve(file);
    const name = Buffer.from(basename(root));
    await hashEntry(h, Buffer.from(root), name);
  }
  return `sha256:${h.digest('hex')}`;
}

/**
 * What inputsDigest hashes for each entry under a directory, by its path below it ('' for the directory itself):
 * kept beside a directory's digest, it lets a changed directory name the file that changed.
 */
export async function memberLines(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const collect = {
    update(line: string) {
      // `kind mode <path> what`, the path as JSON text: a string, or {"hex": ...} for a name that is not UTF-8.
      const m = /^\S+ \S+ ("(?:[^"\\]|\\.)*"|\{[^}]*\}) /.exec(line);
      const name = m?.[1] ? (JSON.parse(m[1]) as string | { hex: string }) : line;
      const rel = typeof name === 'string' ? name : `<hex ${name.hex}>`;
      out[rel.split('/').slice(1).join('/')] = line;
      return collect;
    },
  };
  const root = resolve(dir);
  await hashEntry(collect as unknown as Hash, Buffer.from(root), Buffer.from(basename(root)));
  return out;
}

/** The first member that differs between two memberLines of a directory, said for a person; undefined if none. */
export function firstMemberChange(before: Record<string, string>, after: Record<string, string>): string | undefined {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const n of names) {
    if (before[n] === after[n]) continue;
    const what = before[n] === undefined ? 'appeared' : after[n] === undefined ? 'was removed' : 'changed';
    return `${n || '.'} ${what}`;
  }
  return undefined;
}

/** JSON with object keys sorted (by code point) and no whitespace: one text per value (NaN and Infinity as bare tokens). */
export function canonicalJson(value: unknown): string {
  return canonical(value, new Set()) ?? 'null';
}

function canonical(value: unknown, seen: Set<object>): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      // JSON would turn NaN and Infinity into null; bare tokens keep them apart from every JSON value.
      return Number.isFinite(value) ? JSON.stringify(value) : String(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      return value.toString();
    default:
      break;
  }
  const obj = value as { toJSON?: () => unknown };
  if (typeof obj.toJSON === 'function') return canonical(obj.toJSON(), seen);
  if (seen.has(obj)) throw new ImgplayError('cannot digest variables that refer to themselves');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return `[${obj.map((v) => canonical(v, seen) ?? 'null').join(',')}]`;
    if (obj instanceof Map) return canonical(Object.fromEntries(obj), seen);
    if (obj instanceof Set) return canonical([...obj], seen);
    const parts: string[] = [];
    for (const key of Object.keys(obj).sort()) {
      const v = canonical((obj as Record<string, unknown>)[key], seen);
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    seen.delete(obj);
  }
}

// One line per file system entry: kind, permission bits, path under the listed root, then what it holds.
// Paths travel as bytes so that names which are not UTF-8 are still read, and told apart.
async function hashEntry(h: Hash, path: Buffer, rel: Buffer): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    throw new ImgplayError(`cannot digest stage input ${path.toString()}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`, { cause: err });
  });
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  const line = (kind: string, what: string) => h.update(`${kind} ${mode} ${pathJson(rel)} ${what}\n`);
  if (st.isFile()) {
    line('file', await fileHash(path, st.size));
  } else if (st.isSymbolicLink()) {
    line('link', pathJson(await readlink(path, { encoding: 'buffer' })));
  } else if (st.isDirectory()) {
    line('dir', '-');
    // Names as bytes, sorted by byte: the order (and the names) stay the same whatever the locale or encoding.
    const names = (await readdir(path, { encoding: 'buffer' })).sort(Buffer.compare);
    for (const child of names) {
      await hashEntry(h, Buffer.concat([path, SLASH, child]), Buffer.concat([rel, SLASH, child]));
    }
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    line(st.isCharacterDevice() ? 'chr' : 'blk', String(st.rdev));
  } else {
    line(st.isFIFO() ? 'fifo' : 'socket', '-');
  }
}

// A path as JSON text when it is valid UTF-8, otherwise its bytes in hex (an object, so never mistaken for a name).
function pathJson(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? JSON.stringify(text) : JSON.stringify({ hex: bytes.toString('hex') });
}

// A stream costs more than it saves on the small files roles are made of. A large one is most often an
// artifact an earlier stage made or put back in this run, whose sha256 is known already.
async function fileHash(path: Buffer, size: number): Promise<string> {
  if (size < 1 << 20) return createHash('sha256').update(await readFile(path)).digest('hex');
  const text = path.toString();
  const known = Buffer.from(text).equals(path) ? await verifiedSha256(text) : undefined;
  return known ?? (await checksumFile(path, 'sha256'));
}
