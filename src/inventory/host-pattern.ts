// Host patterns (`hosts:` and --limit): `web:&prod:!web03`, `web*`, `~regex`, `group[0:2]`, resolved the way
// Ansible's InventoryManager does, including its quirks (plain names first, then `&`, then `!`).
import { ImgplayError, ValidationError } from '../errors.js';
import { readInputText } from '../yaml/load.js';
import { parseAddress } from './host-name.js';
import { LOCALHOST_NAMES } from './graph.js';

/** What pattern matching needs to know about an inventory. */
export interface PatternTarget<H extends { name: string }> {
  /** Every group name, `all` and `ungrouped` included, in inventory order. */
  groupNames(): string[];
  /** The hosts of a group and of its descendants, in inventory order. */
  groupHosts(group: string): H[];
  /** The hosts the inventory defines (never the implicit localhost), in inventory order. */
  definedHosts(): H[];
  /** The host that answers to a localhost name when nothing else matched. */
  localhost(name: string): H | undefined;
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/s;

/** Splits `a:b,c` into single patterns; a lone address like `web1:22` or `fe80::1` is kept whole. */
export function splitHostPattern(pattern: string | readonly string[]): string[] {
  if (typeof pattern !== 'string') return pattern.flatMap((p) => splitHostPattern(p));
  let parts: string[];
  if (pattern.includes(',')) parts = pattern.split(',');
  else if (parseAddress(pattern, true)) parts = [pattern];
  // The ':' separator is kept for compatibility; it leaves [x:y] brackets alone.
  else parts = pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** The hosts matching `pattern`, in inventory order and without duplicates. Throws ValidationError on a malformed pattern. */
export function selectHosts<H extends { name: string }>(target: PatternTarget<H>, pattern: string | readonly string[]): H[] {
  const patterns = orderPatterns(splitHostPattern(pattern));
  const byName = new Map(target.definedHosts().map((h) => [h.name, h]));
  let hosts: H[] = [];
  for (const p of patterns) {
    const exact = byName.get(p);
    if (exact) {
      hosts.push(exact);
      continue;
    }
    const that = matchOne(target, p);
    if (p[0] === '!') {
      const drop = new Set(that);
      hosts = hosts.filter((h) => !drop.has(h));
    } else if (p[0] === '&') {
      const keep = new Set(that);
      hosts = hosts.filter((h) => keep.has(h));
    } else hosts.push(...that);
  }
  return [...new Set(hosts)];
}

/** Hosts of `hosts` that the --limit pattern also selects (`@file` reads one pattern per line from a file). */
export async function applyLimit<H extends { name: string }>(target: PatternTarget<H>, hosts: readonly H[], limit: string | readonly string[]): Promise<H[]> {
  const allowed = new Set(selectHosts(target, await expandLimit(limit)));
  return hosts.filter((h) => allowed.has(h));
}

/** The single patterns of a --limit, each `@file` replaced by the lines of that file (read up to the YAML input limit). */
export async function expandLimit(limit: string | readonly string[]): Promise<string[]> {
  const patterns: string[] = [];
  for (const p of splitHostPattern(limit)) {
    if (p[0] !== '@') {
      patterns.push(p);
      continue;
    }
    const file = p.slice(1);
    let text: string;
    try {
      // The loader's reader: a device (/dev/zero) or a huge file is refused at the limit instead of read forever.
      text = await readInputText(file);
    } catch (err) {
      // ansible-core 2.14 ends with exit 1 here, not the exit 5 of a bad option.
      const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      const why = code === 'ENOENT' ? `limit file not found: ${file}` : code === 'EISDIR' ? `a limit starting with '@' must name a file, not a directory: ${file}` : `cannot read limit file ${file}: ${(err as Error).message}`;
      throw new ImgplayError(why, { cause: err });
    }
    patterns.push(...text.split('\n').map((l) => l.trim()));
  }
  return patterns;
}

/** Plain patterns first, then intersections, then exclusions; only `&`/`!` patterns means "all" first. */
function orderPatterns(patterns: string[]): string[] {
  const regular = patterns.filter((p) => p !== '' && p[0] !== '!' && p[0] !== '&');
  const and = patterns.filter((p) => p[0] === '&');
  const not = patterns.filter((p) => p[0] === '!');
  return [...(regular.length > 0 ? regular : ['all']), ...and, ...not];
}

function matchOne<H extends { name: string }>(target: PatternTarget<H>, original: string): H[] {
  const pattern = original[0] === '&' || original[0] === '!' ? original.slice(1) : original;
  if (pattern === '') {
    throw new ValidationError(`host pattern '${original}' has nothing after '${original[0]}'`, {
      hint: `write '${original[0]}group' to ${original[0] === '!' ? 'exclude' : 'intersect with'} a group or host`,
    });
  }
  const [expr, subscript] = splitSubscript(pattern);
  const hosts = enumerateMatches(target, expr);
  if (hosts.length === 0 || !subscript) return hosts;
  const [start, end] = subscript;
  if (end !== undefined && end !== 0) {
    // Python slicing: an open end (-1 here) runs to the last host, and out-of-range bounds are clipped.
    const stop = end === -1 ? hosts.length : end + 1;
    return hosts.slice(start, stop);
  }
  const one = hosts.at(start);
  if (one === undefined) {
    throw new ValidationError(`no hosts matched the subscripted pattern '${pattern}'`, {
      hint: `'${expr}' matches ${hosts.length} host${hosts.length === 1 ? '' : 's'}, numbered from 0`,
    });
  }
  return [one];
}

function splitSubscript(pattern: string): [string, [number, number | undefined] | undefined] {
  if (pattern[0] === '~') return [pattern, undefined];
  const m = SUBSCRIPT.exec(pattern);
  if (!m) return [pattern, undefined];
  if (m[2] !== undefined) return [m[1]!, [Number(m[2]), undefined]];
  return [m[1]!, [Number(m[3]), m[5] ? Number(m[5]) : -1]];
}

function enumerateMatches<H extends { name: string }>(target: PatternTarget<H>, pattern: string): H[] {
  const re = compile(pattern);
  const results: H[] = [];
  const groups = target.groupNames().filter((g) => re(g));
  for (const g of groups) results.push(...target.groupHosts(g));
  if (groups.length === 0 || pattern[0] === '~' || /[.?*[]/.test(pattern)) {
    for (const h of target.definedHosts()) if (re(h.name)) results.push(h);
  }
  if (results.length === 0 && LOCALHOST_NAMES.includes(pattern)) {
    const local = target.localhost(pattern);
    if (local) results.push(local);
  }
  return results;
}

/** A matcher for one pattern: `~` is a regular expression anchored at the start, anything else a shell glob. */
function compile(pattern: string): (name: string) => boolean {
  if (pattern[0] !== '~') {
    const re = new RegExp(`^(?:${fnmatchToRegex(pattern)})$`, 's');
    return (name) => re.test(name);
  }
  const source = pattern
    .slice(1)
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$');
  let re: RegExp;
  try {
    re = new RegExp(source, 'y');
  } catch (err) {
    throw new ValidationError(`invalid regular expression in host pattern '${pattern}': ${(err as Error).message}`, {
      hint: "a pattern starting with '~' is a regular expression matched against group and host names",
    });
  }
  return (name) => {
    re.lastIndex = 0;
    return re.test(name);
  };
}

/** Python's fnmatch.translate: `*`, `?`, `[seq]` and `[!seq]`, everything else literal. */
export function fnmatchToRegex(pat: string): string {
  let res = '';
  let i = 0;
  const n = pat.length;
  let star = false;
  while (i < n) {
    const c = pat[i]!;
    i++;
    const wasStar = star;
    star = c === '*';
    if (c === '*') {
      if (!wasStar) res += '.*';
    } else if (c === '?') res += '.';
    else if (c === '[') {
      let j = i;
      if (j < n && pat[j] === '!') j++;
      if (j < n && pat[j] === ']') j++;
      while (j < n && pat[j] !== ']') j++;
      if (j >= n) {
        res += '\\[';
        continue;
      }
      let stuff = bracketBody(pat, i, j);
      i = j + 1;
      if (stuff === '') res += '(?!)';
      else if (stuff === '!') res += '.';
      else {
        if (stuff[0] === '!') stuff = '^' + stuff.slice(1);
        else if (stuff[0] === '^' || stuff[0] === '[') stuff = '\\' + stuff;
        res += `[${stuff.replace(/([&~|])/g, '\\$1')}]`;
      }
    } else res += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return res;
}

function bracketBody(pat: string, start: number, j: number): string {
  const inner = pat.slice(start, j);
  if (!inner.includes('-')) return inner.replace(/\\/g, '\\\\');
  const chunks: string[] = [];
  let i = start;
  let k = pat[i] === '!' ? i + 2 : i + 1;
  for (;;) {
    k = pat.indexOf('-', k);
    if (k < 0 || k >= j) break;
    chunks.push(pat.slice(i, k));
    i = k + 1;
    k = k + 3;
  }
  const last = pat.slice(i, j);
  if (last !== '') chunks.push(last);
  else chunks[chunks.length - 1] += '-';
  // A range whose ends are reversed matches nothing in Python; drop it as fnmatch does.
  for (let m = chunks.length - 1; m > 0; m--) {
    const prev = chunks[m - 1]!;
    const cur = chunks[m]!;
    if (prev !== '' && cur !== '' && prev[prev.length - 1]! > cur[0]!) {
      chunks[m - 1] = prev.slice(0, -1) + cur.slice(1);
      chunks.splice(m, 1);
    }
  }
  return chunks.map((s) => s.replace(/\\/g, '\\\\').replace(/-/g, '\\-')).join('-');
}
