// Room on the file systems a build writes to: a full build tmpfs is named with the variable that sizes
// it, and an artifact folder without room for the artifacts is refused before any stage starts.
import { existsSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ImgplayError } from '../errors.js';
import { MANIFEST_FILE } from './manifest.js';
import { mountTable } from '../host/mount-table.js';

/** Not enough room for a build's output, said before the build starts. */
export class NoSpaceError extends ImgplayError {}

interface SizedRoot {
  size: string;
  /** The playbook variable the size came from, e.g. basefs_tmpfs_size. */
  sizeVar: string | undefined;
}

const sizedRoots = new Map<string, SizedRoot>();

/** Remembers the size of a build tmpfs (and the variable that set it), for the message when it fills up. */
export function rememberBuildRoot(path: string, size: string, sizeVar: string | undefined): void {
  sizedRoots.set(path, { size, sizeVar });
}

/** Bytes in a human unit, e.g. 1.5 GiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

// The mount that holds `path`: the longest mount point that is a prefix of it.
async function mountHolding(path: string): Promise<{ mountPoint: string; fstype: string }> {
  let best = { mountPoint: '/', fstype: '' };
  for (const e of await mountTable()) {
    const mp = e.mountPoint;
    if ((path === mp || path.startsWith(mp.endsWith('/') ? mp : `${mp}/`)) && mp.length >= best.mountPoint.length) best = { mountPoint: mp, fstype: e.fstype };
  }
  return best;
}

async function room(path: string): Promise<{ size: number; free: number } | undefined> {
  let p = path;
  while (!existsSync(p) && p !== '/') p = p.slice(0, p.lastIndexOf('/')) || '/';
  const s = await statfs(p).catch(() => undefined);
  return s === undefined ? undefined : { size: s.blocks * s.bsize, free: s.bavail * s.bsize };
}

/** One line saying which file system under `path` is full, its type, size and what is left. */
export async function noSpaceNote(path: string, lines: number): Promise<string> {
  const m = await mountHolding(path);
  const r = await room(m.mountPoint);
  const size = r === undefined ? '' : `, ${formatBytes(r.size)}, ${formatBytes(r.free)} free`;
  return `the file system holding ${path} is full: ${m.mountPoint} (${m.fstype || 'unknown type'}${size}); ${lines} "No space left on device" line${lines === 1 ? '' : 's'} in the output`;
}

/** What to do about a full build tree: raise the variable that sizes its tmpfs, if one is known. */
export function spaceHint(path: string): string {
  for (const [root, s] of sizedRoots) {
    if (path !== root && !path.startsWith(`${root}/`)) continue;
    if (s.sizeVar !== undefined) return `raise ${s.sizeVar} (now ${s.size}), e.g. -e ${s.sizeVar}=${bigger(s.size)}`;
    return `give the build tmpfs at ${root} more room than ${s.size} (imgplay_build_root's size)`;
  }
  return `free some space on the file system holding ${path}`;
}

function bigger(size: string): string {
  const m = /^(\d+)([KMGT]?)$/i.exec(size);
  return m === null ? size : `${Number(m[1]) * 2}${m[2] ?? ''}`;
}

/**
 * Refuses to start a build whose artifacts will not fit in `dir`: the sizes come from the previous
 * build's manifest.json there (each artifact is written beside the old one, then renamed over it).
 * With no earlier build the sizes are unknown and nothing is checked.
 */
export async function checkArtifactRoom(dir: string): Promise<{ need: number; free: number } | undefined> {
  const text = await readFile(join(dir, MANIFEST_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let need = 0;
  try {
    const m = JSON.parse(text) as { artifacts?: Array<{ size?: unknown }> };
    for (const a of m.artifacts ?? []) if (typeof a.size === 'number' && a.size > 0) need += a.size;
  } catch {
    return undefined;
  }
  const r = await room(dir);
  if (r === undefined || need === 0) return undefined;
  if (r.free < need) {
    throw new NoSpaceError(`not enough room in artifact_dir ${dir}: the last build's artifacts (manifest.json there) need ${formatBytes(need)}, ${formatBytes(r.free)} is free`, {
      hint: `free at least ${formatBytes(need - r.free)} there, or set artifact_dir to a folder with room`,
    });
  }
  return { need, free: r.free };
}
