// The base image: a read-only squashfs of a finished root tree, built with mksquashfs.
//
// buildSquashfs squashes `root` into `dest`. It refuses while anything is mounted at or below the
// root: a tree with the host's /proc, /sys or /dev bound inside would squash the host's live state
// (or never finish). The contents of proc, sys, dev, run and tmp are left out but the directories
// themselves are kept, so the booted system still has its mount points. With a SOURCE_DATE_EPOCH
// every timestamp (files and superblock) is set to it and mksquashfs runs in -reproducible mode:
// two builds of the same tree give the same bytes. Owners are kept as they are in the tree. The
// image is written as `dest.tmp-<pid>-<rand>` beside `dest` and renamed when complete, so a failed
// or aborted build never leaves a half image under the final name.
//
// treeKernelVersions lists the kernels a tree carries (the directories of lib/modules), which name
// the artifact base.<release>.<kver>.squashfs.img.
import { randomBytes } from 'node:crypto';
import { readdir, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { inGroup } from '../host/process-group.js';
import { noSpaceNote } from './free-space.js';
import { indentedTail } from './tool-output.js';
import { ImgplayError } from '../errors.js';
import { checksumFile } from '../host/checksum.js';
import { MountedTreeError, mountTable, mountsUnder } from '../host/mount-table.js';

/** The compressors mksquashfs and the boot kernel both understand. */
export type SquashfsCompression = 'xz' | 'zstd' | 'gzip' | 'lz4';

/** What to squash, where to, and how. */
export interface SquashfsOptions {
  root: string;
  dest: string;
  compression: SquashfsCompression;
  /** -Xcompression-level (gzip 1-9, zstd 1-22); xz and lz4 have no level. */
  level?: number | undefined;
  /** mksquashfs -b, e.g. '128K' or '1M'. */
  blockSize?: string | undefined;
  /** Paths relative to root whose contents are left out (the directories stay). */
  excludes?: readonly string[] | undefined;
  sourceDateEpoch?: number | undefined;
  processors?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** A finished image. */
export interface SquashfsResult {
  path: string;
  size: number;
  sha256: string;
  seconds: number;
}

/** A squashfs build that failed: the reason, the command, then mksquashfs's last words. */
export class SquashfsError extends ImgplayError {}

/** Directories whose contents belong to the running system, never to the image. */
export const DEFAULT_EXCLUDES: readonly string[] = ['proc', 'sys', 'dev', 'run', 'tmp'];

const LEVELS: Record<SquashfsCompression, readonly [number, number] | undefined> = {
  gzip: [1, 9],
  zstd: [1, 22],
  xz: undefined,
  lz4: undefined,
};

/** Squashes a root tree into a squashfs image at `dest`, atomically, refusing trees with mounts inside. */
export async function buildSquashfs(opts: SquashfsOptions): Promise<SquashfsResult> {
  const root = await realpath(opts.root).catch((err: unknown) => {
    throw new SquashfsError(`cannot build a squashfs of ${opts.root}: it does not exist`, { cause: err });
  });
  const mounted = mountsUnder(await mountTable(), root);
  if (mounted.length > 0) {
    throw new MountedTreeError(`refusing to build a squashfs of ${root}: mounted inside it: ${mounted.join(', ')}`, {
      hint: `unmount these first, innermost first (umount ${mounted.join(' ')}): a squashfs of a tree with /proc, /sys or /dev bound inside holds the host, not the image`,
    });
  }
  const excludes = opts.excludes ?? DEFAULT_EXCLUDES;
  for (const e of excludes) checkExclude(e);
  const tmp = join(dirname(opts.dest), `${basename(opts.dest)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const excludeFile = join(tmpdir(), `imgplay-squashfs-exclude-${process.pid}-${randomBytes(4).toString('hex')}`);
  const argv = [root, tmp, '-noappend', '-no-progress', '-quiet', '-comp', opts.compression];
  argv.push(...levelArgs(opts.compression, opts.level));
  if (opts.blockSize !== undefined) argv.push('-b', opts.blockSize);
  if (opts.processors !== undefined) argv.push('-processors', String(opts.processors));
  if (opts.sourceDateEpoch !== undefined) {
    const t = String(Math.trunc(opts.sourceDateEpoch));
    argv.push('-reproducible', '-mkfs-time', t, '-all-time', t);
  }
  const started = process.hrtime.bigint();
  try {
    if (excludes.length > 0) {
      // `dir/*` alone skips dotfiles (fnmatch with FNM_PERIOD): tmp/.X11-unix would slip through.
      await writeFile(excludeFile, excludes.flatMap((e) => [`${e}/*`, `${e}/.*`]).join('\n') + '\n', { flag: 'wx' });
      argv.push('-wildcards', '-ef', excludeFile);
    }
    // mksquashfs refuses SOURCE_DATE_EPOCH in its environment together with the options that say the same.
    const { SOURCE_DATE_EPOCH: _ignored, ...env } = process.env;
    const r = await inGroup(execa('mksquashfs', argv, { env, extendEnv: false, reject: false, all: true, stdin: 'ignore', detached: true }), 'mksquashfs', opts.signal);
    if (r.isCanceled) throw new SquashfsError(`squashfs build of ${root} was interrupted\n  mksquashfs ${argv.join(' ')}`, { cause: opts.signal?.reason });
    if (r.exitCode !== 0) {
      const why = r.exitCode === undefined ? `was killed by ${r.signal ?? 'a signal'}` : `exited ${r.exitCode}`;
      const full = /No space left on device/i.test(r.all ?? '') ? `\n${await noSpaceNote(dirname(opts.dest), 1)}` : '';
      throw new SquashfsError(`could not build a squashfs of ${root}: mksquashfs ${why}${full}\n  mksquashfs ${argv.join(' ')}\n${indentedTail(r.all ?? '', 15)}`.trimEnd(), {
        hint: full === '' ? undefined : `free space in ${dirname(opts.dest)} (artifact_dir) or point artifact_dir elsewhere`,
      });
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const sha256 = await checksumFile(tmp, 'sha256');
    const { size } = await stat(tmp);
    await rename(tmp, opts.dest);
    return { path: opts.dest, size, sha256, seconds };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  } finally {
    await unlink(excludeFile).catch(() => undefined);
  }
}

/** The kernel versions a root tree holds modules for (lib/modules/*), sorted; empty when it has none. */
export async function treeKernelVersions(root: string): Promise<string[]> {
  const entries = await readdir(join(root, 'lib', 'modules'), { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

function levelArgs(compression: SquashfsCompression, level: number | undefined): string[] {
  if (level === undefined) return [];
  const range = LEVELS[compression];
  if (range === undefined) throw new SquashfsError(`squashfs compression ${compression} takes no level (got ${level})`);
  if (!Number.isInteger(level) || level < range[0] || level > range[1]) {
    throw new SquashfsError(`squashfs ${compression} level must be an integer from ${range[0]} to ${range[1]} (got ${level})`);
  }
  return ['-Xcompression-level', String(level)];
}

// Excludes are literal paths; a glob character or an escape from the root would exclude something else.
function checkExclude(e: string): void {
  if (e === '' || e.startsWith('/') || e.split('/').some((p) => p === '..' || p === '.' || p === '') || /[*?[\]\\!@+()|]/.test(e)) {
    throw new SquashfsError(`squashfs exclude '${e}' must be a plain path relative to the root (no globs, no '..')`);
  }
}

