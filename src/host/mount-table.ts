// Reads the kernel's mount table, and deletes build trees without ever crossing into a mount.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { ImgplayError } from '../errors.js';

/** One line of /proc/self/mountinfo, reduced to what the guard needs. */
export interface MountEntry {
  id: number;
  parent: number;
  mountPoint: string;
  fstype: string;
  source: string;
  /** Propagation tags such as `shared:1` or `master:2` (empty: private). */
  propagation: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses the text of /proc/self/mountinfo. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    entries.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      mountPoint: unescape(f[4] ?? ''),
      propagation: f.slice(6).filter((t) => t !== ''),
      fstype: r[0] ?? '',
      source: unescape(r[1] ?? ''),
    });
  }
  return entries;
}

/** The mounts this process sees now. */
export async function mountTable(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The mounts this process sees now, read synchronously (for exit-time clean-up). */
export function mountTableSync(): MountEntry[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(table: readonly MountEntry[], dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const found = table.map((e) => e.mountPoint).filter((mp) => mp === dir || mp.startsWith(prefix));
  return [...new Set(found)].sort((a, b) => b.length - a.length);
}

/** True if something is mounted exactly at `dir`. */
export function isMountPoint(table: readonly MountEntry[], dir: string): boolean {
  return table.some((e) => e.mountPoint === dir);
}

/** Refused: a tree still has something mounted inside it. */
export class MountedTreeError extends ImgplayError {}

/**
 * Deletes a build tree, refusing while anything is mounted at or below it: a tree with the host's
 * /proc, /sys or /dev bound into it would otherwise take the host with it. `rm --one-file-system`
 * also stays off any mount that appears after the check.
 */
export async function removeTree(dir: string): Promise<void> {
  if (dir === '/' || dir === '') throw new MountedTreeError(`refusing to delete '${dir || '(empty path)'}'`);
  const mounted = mountsUnder(await mountTable(), dir);
  if (mounted.length > 0) {
    throw new MountedTreeError(`refusing to delete ${dir}: still mounted inside it: ${mounted.join(', ')}`, {
      hint: `unmount these first, innermost first (umount ${mounted.join(' ')}); imgplay undoes its own mounts, and a killed run's on its next run on that build_dir`,
    });
  }
  const r = await execa('rm', ['-rf', '--one-file-system', '--', dir], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new ImgplayError(`could not delete ${dir}: rm exited ${r.exitCode}\n${r.stderr}`);
}
