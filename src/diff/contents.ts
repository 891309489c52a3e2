// The files inside an artifact, for `imgplay diff --files`: a squashfs base unpacked by unsquashfs into
// a scratch directory and walked (never following a link), an overlay's cpio.gz read as a stream (see
// newc.ts: nothing unpacked at all), an initrd unpacked by initramfs-tools' unmkinitramfs (its early
// uncompressed archives and its compressed main one, whatever the compressor) and walked. Before either, the file is checked against its manifest entry, so
// the files compared are those of the artifact the manifest describes.
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ARTIFACT_KINDS } from '../image/artifact-kinds.js';
import { CpioError } from '../image/cpio.js';
import type { ArtifactEntry } from '../image/manifest.js';
import { indentedTail } from '../image/tool-output.js';
import { checksumFile } from '../host/checksum.js';
import { inGroup } from '../host/process-group.js';
import { readNewc, type NewcMember } from './newc.js';
import { DiffError } from './outcome.js';

/** One file of an artifact: what unpacking it makes, times left out (a reproducible build pins them all). */
export type FileFacts = NewcMember;

/** The files of one artifact, by path relative to its root. */
export interface ArtifactFiles {
  files: Map<string, FileFacts>;
  /** Whether owners are real: unsquashfs can only keep them when run as root. */
  ownersKnown: boolean;
}

/** Whether `--files` can look inside an artifact of this kind. */
export function filesReadable(entry: ArtifactEntry): boolean {
  const format = ARTIFACT_KINDS[entry.kind].format;
  return format === 'squashfs' || format === 'cpio.gz' || format === 'initramfs';
}

/**
 * The files of the artifact `entry` in the builds folder `dir`, checked first against the entry's size
 * and sha256; a squashfs is unpacked into `scratch` (a fresh directory the caller removes).
 */
export async function artifactFiles(dir: string, entry: ArtifactEntry, scratch: string, signal?: AbortSignal): Promise<ArtifactFiles> {
  const path = join(dir, entry.name);
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    throw new DiffError(`${path}: ${err.code === 'ENOENT' ? `missing: manifest.json lists ${entry.name} but the builds folder has no such file` : err.message}`, { cause: err });
  });
  if (!st.isFile()) throw new DiffError(`${path} is not a regular file`);
  if (st.size !== entry.size) throw new DiffError(`${path} has ${st.size} bytes but manifest.json says ${entry.size}: it is not the artifact the manifest describes`);
  const sha256 = await checksumFile(path, 'sha256');
  if (sha256 !== entry.sha256) throw new DiffError(`${path}: its sha256 ${sha256} is not the ${entry.sha256} manifest.json records: it is not the artifact the manifest describes`);
  switch (ARTIFACT_KINDS[entry.kind].format) {
    case 'squashfs':
      return squashfsFiles(path, scratch, signal);
    case 'cpio.gz':
      try {
        return { files: await readNewc(path, signal), ownersKnown: true };
      } catch (err) {
        if (err instanceof CpioError) throw new DiffError(err.message, { cause: err });
        throw err;
      }
    case 'initramfs':
      return initramfsFiles(path, scratch, signal);
    default:
      throw new DiffError(`${entry.name}: the files of a ${entry.kind} (${ARTIFACT_KINDS[entry.kind].format}) cannot be listed`);
  }
}

// unsquashfs (squashfs-tools 4.5.1 and later) refuses names that climb out of the destination and
// links it would have to write through; the walk never follows a link either. Its exit 2 is "non-fatal
// errors": without root, device nodes and owners cannot be made; they are left out.
function squashfsFiles(path: string, scratch: string, signal: AbortSignal | undefined): Promise<ArtifactFiles> {
  const root = join(scratch, 'root');
  const asRoot = process.getuid?.() === 0;
  return unpackedFiles({ tool: 'unsquashfs', pkg: 'squashfs-tools', argv: ['-no-progress', '-quiet', '-no-xattrs', '-d', root, path], okExit: asRoot ? [0] : [0, 2] }, path, root, signal);
}

// unmkinitramfs extracts with cpio's --no-absolute-filenames, and cpio (2.13) will not extract through a
// link it made; a microcode-style initrd comes out as early/, early2/... and main/, a single archive as is.
function initramfsFiles(path: string, scratch: string, signal: AbortSignal | undefined): Promise<ArtifactFiles> {
  const root = join(scratch, 'root');
  return unpackedFiles({ tool: 'unmkinitramfs', pkg: 'initramfs-tools-core', argv: [path, root], okExit: [0] }, path, root, signal);
}

// Unpacks the artifact at `path` into `root` with a tool (its own process group, stopped by `signal`), then walks
// what it made; a tool that could not be started says which Debian package brings it. Owners are real only as root.
async function unpackedFiles(
  t: { tool: string; pkg: string; argv: string[]; okExit: number[] },
  path: string,
  root: string,
  signal: AbortSignal | undefined,
): Promise<ArtifactFiles> {
  const r = await inGroup(execa(t.tool, t.argv, { reject: false, all: true, stdin: 'ignore', detached: true }), t.tool, signal);
  if (r.isCanceled) throw new DiffError(`unpacking ${path} was interrupted`, { cause: signal?.reason });
  if ((r as { code?: string }).code === 'ENOENT') throw new DiffError(`${t.tool} is not installed: --files needs it for this artifact (Debian package ${t.pkg})`);
  if (r.exitCode === undefined || !t.okExit.includes(r.exitCode)) {
    const why = r.exitCode === undefined ? `was killed by ${r.signal ?? 'a signal'}` : `exited ${r.exitCode}`;
    throw new DiffError(`cannot unpack ${path}: ${t.tool} ${why}\n  ${t.tool} ${t.argv.join(' ')}\n${indentedTail(r.all ?? '', 15)}`.trimEnd());
  }
  const files = new Map<string, FileFacts>();
  await walk(root, '', files, signal);
  return { files, ownersKnown: process.getuid?.() === 0 };
}

async function walk(root: string, rel: string, out: Map<string, FileFacts>, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw new DiffError('interrupted', { cause: signal.reason });
  const here = rel === '' ? root : join(root, rel);
  const st = await lstat(here);
  const type: FileFacts['type'] = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'socket';
  const facts: FileFacts = { path: rel === '' ? '.' : rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' || type === 'symlink' ? st.size : 0 };
  if (type === 'file') facts.sha256 = await checksumFile(here, 'sha256');
  if (type === 'symlink') facts.target = await readlink(here);
  if (type === 'char' || type === 'block') facts.device = `${Math.floor(st.rdev / 256) & 0xfff},${(st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)}`;
  out.set(facts.path, facts);
  if (type === 'dir') for (const name of (await readdir(here)).sort()) await walk(root, rel === '' ? name : `${rel}/${name}`, out, signal);
}

/** A path whose file differs: only in b (added), only in a (removed), or in both with the fields that differ. */
export interface FileChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** The file's type, for added and removed paths. */
  type?: FileFacts['type'];
  /** For changed paths: each differing field (type, mode, owner, size, target, device, content) as a and b. */
  fields?: Array<{ field: string; a: string; b: string }>;
}

/** Every path whose file differs between two artifacts' files, in byte order of the paths. */
export function compareFiles(a: ArtifactFiles, b: ArtifactFiles): FileChange[] {
  const owners = a.ownersKnown && b.ownersKnown;
  const paths = [...new Set([...a.files.keys(), ...b.files.keys()])].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  const out: FileChange[] = [];
  for (const path of paths) {
    const x = a.files.get(path);
    const y = b.files.get(path);
    if (x === undefined) out.push({ path, change: 'added', type: y!.type });
    else if (y === undefined) out.push({ path, change: 'removed', type: x.type });
    else {
      const fields = fileFields(x, y, owners);
      if (fields.length > 0) out.push({ path, change: 'changed', fields });
    }
  }
  return out;
}

function fileFields(x: FileFacts, y: FileFacts, owners: boolean): Array<{ field: string; a: string; b: string }> {
  const fields: Array<{ field: string; a: string; b: string }> = [];
  const add = (field: string, a: string | undefined, b: string | undefined) => {
    if (a !== b) fields.push({ field, a: a ?? '', b: b ?? '' });
  };
  add('type', x.type, y.type);
  add('mode', octal(x.mode), octal(y.mode));
  if (owners) add('owner', `${x.uid}:${x.gid}`, `${y.uid}:${y.gid}`);
  if (x.type === y.type) {
    if (x.type === 'file') add('size', String(x.size), String(y.size));
    add('target', x.target, y.target);
    add('device', x.device, y.device);
    if (x.type === 'file' && x.sha256 !== y.sha256) fields.push({ field: 'content', a: x.sha256 ?? '', b: y.sha256 ?? '' });
  }
  return fields;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
