// The `diff` a module returns under --diff, with Ansible's limits on what it will show.
import { readFile } from 'node:fs/promises';
import type { ModuleResult } from '../types.js';
import { lstatOrUndefined } from './target-path.js';

/** A module's diff: text before and after, with the names shown above each side. */
export type Diff = NonNullable<ModuleResult['diff']>;

/** Ansible's MAX_FILE_SIZE_FOR_DIFF: larger files are not shown. */
export const MAX_DIFF_SIZE = 104448;

/** Bytes as diff text, or undefined when Ansible would not show them (binary or too large). */
export function diffText(data: Buffer): string | undefined {
  if (data.length > MAX_DIFF_SIZE || data.includes(0)) return undefined;
  return data.toString('utf8');
}

/**
 * The diff for replacing the file at a host path with `after`: an absent file diffs as empty, and a
 * side Ansible would not show (binary, too large) is left out rather than shown wrongly.
 */
export async function fileDiff(host: string, after: Buffer, beforeHeader: string, afterHeader: string): Promise<Diff> {
  const diff: Diff = {};
  const st = await lstatOrUndefined(host);
  if (st === undefined || !st.isFile()) {
    diff.before = '';
  } else if (st.size <= MAX_DIFF_SIZE) {
    const before = await readFile(host);
    // Ansible peeks at the first 8 KiB of the destination to decide it is binary.
    if (!before.subarray(0, 8192).includes(0)) {
      diff.before = before.toString('utf8');
      diff.before_header = beforeHeader;
    }
  }
  const text = diffText(after);
  if (text !== undefined) {
    diff.after = text;
    diff.after_header = afterHeader;
  }
  return diff;
}

/**
 * A structured diff (the file module's {path, state, mode...}) as text, the way Ansible's callback
 * renders one: JSON with sorted keys and four-space indents.
 */
export function structuredDiff(before: Record<string, unknown>, after: Record<string, unknown>): Diff {
  return { before: serialize(before), after: serialize(after) };
}

function serialize(value: Record<string, unknown>): string {
  return `${JSON.stringify(sortKeys(value), null, 4)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
