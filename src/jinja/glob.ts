// Shell patterns over one directory, as Python's glob and fnmatch read them (the fileglob lookup and filters).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The files in dir whose names match a shell pattern (Python's glob of one path component), sorted. */
export function globFiles(dir: string, pattern: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const re = globRegExp(pattern);
  return names
    .filter((n) => re.test(n) && (pattern.startsWith('.') || !n.startsWith('.')))
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    })
    .sort();
}

/** Python's fnmatch translated to a RegExp: `*`, `?`, `[seq]`, `[!seq]`. */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, close);
        const neg = body.startsWith('!');
        if (neg) body = body.slice(1);
        re += `[${neg ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/^\^/, '\\^')}]`;
        i = close;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}
