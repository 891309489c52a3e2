// The `diff` a module returns under --diff, with Ansible's limits on what it will show.
import { open, readFile } from 'node:fs/promises';
import type { DiffData } from '../types.js';
import { lstatOrUndefined } from './target-path.js';

/** A module's diff: text before and after, with the names shown above each side. */
export type Diff = DiffData;

/** Ansible's MAX_FILE_SIZE_FOR_DIFF: larger files are not shown. */
export const MAX_DIFF_SIZE = 104448;

/**
 * The diff for replacing the file at a host path with `after`: an absent file diffs as empty, and a
 * side Ansible will not show is marked as its copy action marks it (`dst_binary`, `dst_larger`,
 * `src_larger`, `src_binary`), so the output says why no diff is shown.
 */
export async function fileDiff(host: string, after: Buffer, beforeHeader: string, afterHeader: string): Promise<Diff> {
  const diff: Diff = {};
  const st = await lstatOrUndefined(host);
  if (st === undefined || !st.isFile()) {
    diff.before = '';
  } else {
    // Ansible's file module peeks at the first 8 KiB of the destination to decide it is binary, before its size.
    const before = st.size <= MAX_DIFF_SIZE ? await readFile(host) : await firstBytes(host, 8192);
    if (before.subarray(0, 8192).includes(0)) diff.dst_binary = 1;
    else if (st.size > MAX_DIFF_SIZE) diff.dst_larger = MAX_DIFF_SIZE;
    else {
      diff.before = before.toString('utf8');
      diff.before_header = beforeHeader;
    }
  }
  // The source: its size first, then its bytes.
  if (after.length > MAX_DIFF_SIZE) diff.src_larger = MAX_DIFF_SIZE;
  else if (after.includes(0)) diff.src_binary = 1;
  else {
    diff.after = after.toString('utf8');
    diff.after_header = afterHeader;
  }
  return diff;
}

/**
 * A structured diff (the file module's {path, state, mode...}): kept as mappings in the result, as Ansible
 * keeps them; its callback (and imgplay's) shows them as JSON with sorted keys and four-space indents.
 */
export function structuredDiff(before: Record<string, unknown>, after: Record<string, unknown>): Diff {
  return { before, after };
}


async function firstBytes(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
