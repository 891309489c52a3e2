// Globbing on the target, as Python's glob.glob does it for command's creates/removes.
import { readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Connection } from '../../connection/types.js';
import { hostPathFollow, hostPathNoFollow, lstatOrUndefined } from './target-path.js';

const MAGIC = /[*?[]/;

/**
 * True if anything on the target matches `pattern` (a relative one is taken from `cwd`). As in Python,
 * `*` and `?` never match a name's leading dot, and a pattern without wildcards matches a dangling link.
 */
export async function globExists(conn: Connection, pattern: string, cwd: string): Promise<boolean> {
  const absolute = pattern.startsWith('/');
  let candidates = [absolute ? '/' : cwd];
  for (const part of pattern.split('/').filter((p) => p !== '')) {
    if (!MAGIC.test(part)) {
      candidates = candidates.map((c) => posix.join(c, part));
      continue;
    }
    const re = fnmatchToRegExp(part);
    const next: string[] = [];
    for (const dir of candidates) {
      const names = await readdir(await hostPathFollow(conn, dir)).catch(() => [] as string[]);
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (re.test(name)) next.push(posix.join(dir, name));
      }
    }
    candidates = next;
    if (candidates.length === 0) return false;
  }
  for (const c of candidates) {
    if ((await lstatOrUndefined(await hostPathNoFollow(conn, c))) !== undefined) return true;
  }
  return false;
}

/** Python's fnmatch.translate for one path component: *, ?, [seq] and [!seq]. */
export function fnmatchToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, j).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      else if (body.startsWith('^')) body = `\\${body}`;
      out += `[${body}]`;
      i = j;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}
