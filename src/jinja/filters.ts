// Ansible's and Jinja's filters (`x | default('d')`) and tests (`x is defined`) with their Python behaviour:
// the same names, argument names and results ansible-core 2.14 gives, so playbooks render the same text.
import { createHash } from 'node:crypto';
import { lstatSync, statSync } from 'node:fs';
import { Document, isScalar, visit } from 'yaml';
import { didYouMean, ImgplayError, TemplateError } from '../errors.js';
import { parseYamlDocuments } from '../yaml/load.js';
import { binaryOp, bindArgs, contains, formatFloat, getItem, isFloat, isMapping, isNumber, MISSING, noAttribute, num, printf, pyCompare, pyEquals, pyFloat, pyRepr, pyStr, pyTypeName, setKey, toPlain, truthy, tuple, UndefinedValue } from './values.js';
import { decodeText, encodeText, MORE_FILTERS, typeFail } from './filters-more.js';

/** What a filter or test may use besides its arguments: the variables in scope. */
export interface CallEnv {
  scope: Readonly<Record<string, unknown>>;
}

type Fn = (input: unknown, args: unknown[], kwargs: Record<string, unknown>, env: CallEnv) => unknown;

interface Def {
  /** Argument names after the input, in order; keyword arguments are bound to them. Absent: the filter binds its own. */
  params?: readonly string[];
  /** The filter receives undefined input (default, mandatory) instead of failing on it. */
  undefinedOk?: boolean;
  /** The filter receives undefined arguments (default's value, ternary's branches, extract's container) and
   *  uses them only if it must, as Jinja passes them; any other filter fails on one before it runs. */
  undefinedArgsOk?: boolean;
  fn: Fn;
}

// A filter of fixed arguments: fn receives them bound by position and name.
const fixed = (params: readonly string[], fn: (input: unknown, ...args: any[]) => unknown, undefinedOk = false): Def => ({
  params,
  undefinedOk,
  fn: (input, args) => fn(input, ...args),
});

// A filter that takes undefined arguments and uses them only when it must (Def.undefinedArgsOk).
const lazyArgs = (def: Def): Def => ({ ...def, undefinedArgsOk: true });

// ---------------------------------------------------------------------------------------------------------------
// Helpers

// Errors whose message the user wrote (mandatory's msg): shown without the filter's name in front.
const verbatimErrors = new WeakSet<Error>();

function verbatim(err: Error): Error {
  verbatimErrors.add(err);
  return err;
}

function fail(message: string): never {
  throw new TemplateError(message);
}

/** Python's repr of a value's type, as `%s % type(x)` prints it: `<class 'int'>`. */
function pyClass(v: unknown): string {
  return `<class '${pyTypeName(v)}'>`;
}

function str(v: unknown): string {
  return pyStr(v ?? null);
}

/** Python's list(value): a list of a string's characters, of a dict's keys, or a copy of a list. */
function iterate(v: unknown, what: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isMapping(v)) return Object.keys(v);
  fail(`${what} expects a list, string or dict, got ${pyTypeName(v)}`);
}

function pyLen(v: unknown): number {
  if (typeof v === 'string') return codePoints(v);
  if (Array.isArray(v)) return v.length;
  if (isMapping(v)) return Object.keys(v).length;
  fail(`object of type '${pyTypeName(v)}' has no len()`);
}

// Python's len() of a str: code points, counted without making an array of them (a long text would fill the heap).
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function dict(v: unknown, what: string): Record<string, unknown> {
  if (!isMapping(v)) fail(`${what} expects a dict, got ${pyTypeName(v)}`);
  return v;
}

/** Follows a dotted attribute path (`a.b.0`) as Jinja's map/selectattr/sort do; MISSING if any part is absent. */
function attrPath(item: unknown, path: unknown): unknown {
  let v = item;
  for (const part of typeof path === 'string' ? path.split('.') : [path]) {
    const key = typeof part === 'string' && /^\d+$/.test(part) && Array.isArray(v) ? Number(part) : part;
    v = getItem(v, key);
    if (v === MISSING) return MISSING;
  }
  return v;
}

function attrOrUndefined(item: unknown, path: unknown): unknown {
  const v = attrPath(item, path);
  return v === MISSING ? new UndefinedValue(String(path), () => noAttribute(item, String(path))) : v;
}

// Jinja compares strings case-insensitively in sort, unique, min and max unless case_sensitive is set.
function sortKey(caseSensitive: unknown): (v: unknown) => unknown {
  return truthy(caseSensitive ?? false) ? (v) => v : (v) => (typeof v === 'string' ? v.toLowerCase() : v);
}

function hashKey(v: unknown): string | undefined {
  if (typeof v === 'string') return `s${v}`;
  if (isNumber(v)) return `n${num(v)}`;
  if (v === null || v === undefined) return 'none';
  return undefined;
}

function uniqueBy(items: unknown[], key: (v: unknown) => unknown): unknown[] {
  const seen = new Set<string>();
  const seenObjects: unknown[] = [];
  const out: unknown[] = [];
  for (const item of items) {
    const k = key(item);
    const h = hashKey(k);
    if (h !== undefined) {
      if (seen.has(h)) continue;
      seen.add(h);
    } else {
      if (seenObjects.some((o) => pyEquals(o, k))) continue;
      seenObjects.push(k);
    }
    out.push(item);
  }
  return out;
}

function toBool(a: unknown): boolean | null {
  if (a === null || a === undefined || typeof a === 'boolean') return (a ?? null) as boolean | null;
  const v = typeof a === 'string' ? a.toLowerCase() : a;
  return v === 'yes' || v === 'on' || v === '1' || v === 'true' || (isNumber(v) && num(v) === 1);
}

const INT_RE: Record<number, RegExp> = {
  2: /^[+-]?(0[bB])?_?[01](_?[01])*$/,
  8: /^[+-]?(0[oO])?_?[0-7](_?[0-7])*$/,
  10: /^[+-]?\d(_?\d)*$/,
  16: /^[+-]?(0[xX])?_?[0-9a-fA-F](_?[0-9a-fA-F])*$/,
};

function parseIntPy(s: string, base: number): number | undefined {
  const t = s.trim();
  const re = INT_RE[base];
  if (re ? !re.test(t) : !/^[+-]?[0-9a-zA-Z_]+$/.test(t)) return undefined;
  const neg = t.startsWith('-');
  const body = t.replace(/^[+-]/, '').replace(/^0[bBoOxX]/, '').replace(/_/g, '');
  const n = parseInt(body, base);
  return Number.isNaN(n) ? undefined : neg ? -n : n;
}

function parseFloatPy(s: string): number | undefined {
  const t = s.trim().replace(/(\d)_(?=\d)/g, '$1');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function toInt(value: unknown, dflt: unknown = 0, base: unknown = 10): unknown {
  if (typeof value === 'string') {
    const n = parseIntPy(value, num(base as number));
    if (n !== undefined) return n;
    const f = parseFloatPy(value);
    if (f === undefined) return dflt;
    if (!Number.isFinite(f)) fail(`cannot convert float ${formatFloat(f)} to integer`);
    return Math.trunc(f);
  }
  if (isNumber(value)) {
    const n = num(value);
    if (!Number.isFinite(n)) fail(`cannot convert float ${formatFloat(n)} to integer`);
    return Math.trunc(n);
  }
  return dflt;
}

function toFloat(value: unknown, dflt: unknown = pyFloat(0)): unknown {
  if (isNumber(value)) return pyFloat(num(value));
  if (typeof value === 'string') {
    const f = parseFloatPy(value);
    return f === undefined ? dflt : pyFloat(f);
  }
  return dflt;
}

// Python's round(): halves go to the even neighbour (round(2.5) is 2).
function roundHalfEven(x: number, digits: number): number {
  const m = 10 ** digits;
  const v = x * m;
  const r = Math.round(v);
  const isHalf = Math.abs(v % 1) === 0.5;
  return (isHalf && r % 2 !== 0 ? r - 1 : r) / m;
}

function posixBasename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function posixDirname(p: string): string {
  let head = p.slice(0, p.lastIndexOf('/') + 1);
  if (head && !/^\/+$/.test(head)) head = head.replace(/\/+$/, '');
  return head;
}

function posixSplitext(p: string): [string, string] {
  const sep = p.lastIndexOf('/');
  const dot = p.lastIndexOf('.');
  if (dot <= sep) return [p, ''];
  // A name that is only dots before its last dot (".bashrc") has no extension.
  let i = sep + 1;
  while (i < dot && p[i] === '.') i++;
  return i === dot ? [p, ''] : [p.slice(0, dot), p.slice(dot)];
}

function shellQuote(s: string): string {
  if (s === '') return "''";
  if (!/[^\w@%+=:,./-]/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON and YAML as Python's json.dumps and PyYAML write them

interface JsonOpts {
  indent: string | undefined;
  sortKeys: boolean;
  ensureAscii: boolean;
  itemSep: string;
  keySep: string;
}

function jsonString(s: string, ascii: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || (ascii && c > 0x7e)) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

function pyJson(v: unknown, o: JsonOpts, level = 0): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isNumber(v)) {
    const n = num(v);
    if (Number.isNaN(n)) return 'NaN';
    if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
    return isFloat(v) ? formatFloat(n) : pyStr(n);
  }
  if (typeof v === 'string') return jsonString(v, o.ensureAscii);
  if (v instanceof UndefinedValue) throw v.error();
  const nl = o.indent === undefined ? '' : `\n${o.indent.repeat(level + 1)}`;
  const close = o.indent === undefined ? '' : `\n${o.indent.repeat(level)}`;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${nl}${v.map((x) => pyJson(x, o, level + 1)).join(o.itemSep + nl)}${close}]`;
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return '{}';
    if (o.sortKeys) keys.sort();
    const rec = v as Record<string, unknown>;
    return `{${nl}${keys.map((k) => `${jsonString(k, o.ensureAscii)}${o.keySep}${pyJson(rec[k], o, level + 1)}`).join(o.itemSep + nl)}${close}}`;
  }
  return jsonString(String(v), o.ensureAscii);
}

function toJson(value: unknown, kw: Record<string, unknown>, nice: boolean): string {
  for (const k of Object.keys(kw)) {
    if (!['indent', 'sort_keys', 'ensure_ascii', 'separators'].includes(k)) fail(`unexpected keyword argument '${k}'`);
  }
  const indent = kw.indent ?? (nice ? 4 : null);
  const ind = indent === null ? undefined : typeof indent === 'string' ? indent : ' '.repeat(num(indent as number));
  const seps = Array.isArray(kw.separators) ? kw.separators.map(str) : undefined;
  return pyJson(value, {
    indent: ind,
    sortKeys: truthy(kw.sort_keys ?? nice),
    ensureAscii: truthy(kw.ensure_ascii ?? true),
    itemSep: seps?.[0] ?? (ind === undefined ? ', ' : ','),
    keySep: seps?.[1] ?? ': ',
  });
}

// Strings PyYAML (YAML 1.1) would read back as something else, so it quotes them: yes/no/on/off, ~, 0x1f, 1_000, 12:30.
const YAML11_IMPLICIT =
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|=|<<|[-+]?(?:0b[01_]+|0[0-7_]+|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|\.(?:inf|Inf|INF))|\.(?:nan|NaN|NAN)|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?)$/;

function toYaml(value: unknown, nice: boolean, indent: number): string {
  const plain = toPlain(value);
  const doc = new Document(plain, { version: '1.2', sortMapEntries: true });
  visit(doc, {
    Scalar(_k, node) {
      if (typeof node.value === 'string' && YAML11_IMPLICIT.test(node.value)) node.type = 'QUOTE_SINGLE';
    },
    // PyYAML's default_flow_style=None (to_yaml): collections holding only scalars are written inline.
    Map(_k, node) {
      if (!nice && node.items.every((p) => isScalar(p.value) || p.value === null)) node.flow = true;
    },
    Seq(_k, node) {
      if (!nice && node.items.every((x) => isScalar(x) || x === null)) node.flow = true;
    },
  });
  const out = doc.toString({ indent, indentSeq: nice, singleQuote: true, lineWidth: 80, flowCollectionPadding: false, nullStr: 'null' });
  // PyYAML ends a document that is one plain scalar with an explicit end marker.
  const scalar = plain === null || typeof plain !== 'object';
  return scalar && !/^['"|>]/.test(out) ? `${out}...\n` : out;
}

function fromYaml(text: unknown, all: boolean): unknown {
  if (typeof text !== 'string') return text;
  let values: unknown[];
  try {
    // The playbook loader, so that its limits (size, depth, aliases) and its reading of tags apply here too.
    values = parseYamlDocuments(text, '<from_yaml>');
  } catch (err) {
    if (!(err instanceof ImgplayError)) throw err;
    fail(`the text is not valid YAML: ${err.message}${err.pos ? ` at line ${err.pos.line}, column ${err.pos.col}` : ''}`);
  }
  if (!all && values.length > 1) fail('the text is not valid YAML: expected a single document, found several (use from_yaml_all)');
  return all ? values : (values[0] ?? null);
}

// ---------------------------------------------------------------------------------------------------------------
// Python regular expressions, translated to JavaScript ones

const regexCache = new Map<string, RegExp>();

/** Compiles a Python `re` pattern as a JavaScript RegExp: (?P<name>) groups, (?P=name), \A, \Z, Python's `$`,
 *  leading inline flags (?imsx). */
export function pyRegex(pattern: unknown, opts: { ignorecase?: unknown; multiline?: unknown; mode?: 'g' | 'y' | '' } = {}): RegExp {
  const src = str(pattern);
  const key = `${opts.mode ?? ''}${truthy(opts.ignorecase ?? false) ? 'i' : ''}${truthy(opts.multiline ?? false) ? 'm' : ''}/${src}`;
  const hit = regexCache.get(key);
  if (hit) {
    hit.lastIndex = 0;
    return hit;
  }
  let flags = new Set<string>(opts.mode ? [opts.mode] : []);
  if (truthy(opts.ignorecase ?? false)) flags.add('i');
  if (truthy(opts.multiline ?? false)) flags.add('m');
  let p = src;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(p);
  if (inline) {
    for (const f of inline[1]!) if ('imsx'.includes(f)) flags.add(f);
    p = p.slice(inline[0].length);
  }
  const verbose = flags.delete('x');
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const e = p[i + 1] ?? '';
      out += e === 'A' ? '(?<![\\s\\S])' : e === 'Z' ? '(?![\\s\\S])' : c + e;
      i++;
    } else if (c === '[') {
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') j++;
      while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1;
      out += p.slice(i, j + 1);
      i = j;
    } else if (p.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (p.startsWith('(?P=', i)) {
      const end = p.indexOf(')', i);
      out += `\\k<${p.slice(i + 4, end)}>`;
      i = end;
    } else if (p.startsWith('(?#', i)) {
      i = p.indexOf(')', i);
      if (i < 0) break;
    } else if (c === '$' && !flags.has('m')) {
      out += '(?=\\n?(?![\\s\\S]))';
    } else if (verbose && /\s/.test(c)) {
      continue;
    } else if (verbose && c === '#') {
      while (i < p.length && p[i] !== '\n') i++;
    } else out += c;
  }
  let re: RegExp;
  try {
    re = new RegExp(out, [...flags].join(''));
  } catch (err) {
    fail(`invalid regular expression ${pyRepr(src)}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  if (regexCache.size > 2000) regexCache.clear();
  regexCache.set(key, re);
  return re;
}

type ReplPart = string | number | { name: string };

// Python's re.sub replacement template: \1, \g<1>, \g<name>, \\ and character escapes.
function compileRepl(repl: string): ReplPart[] {
  const parts: ReplPart[] = [];
  let lit = '';
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i]!;
    if (c !== '\\') {
      lit += c;
      continue;
    }
    const e = repl[i + 1];
    if (e === undefined) fail('bad escape (end of pattern) in the replacement');
    i++;
    let ref: ReplPart | undefined;
    if (e === 'g') {
      const m = /^<([^>]+)>/.exec(repl.slice(i + 1));
      if (!m) fail('missing group name in \\g<...> of the replacement');
      ref = /^\d+$/.test(m[1]!) ? Number(m[1]) : { name: m[1]! };
      i += m[0].length;
    } else if (/[1-9]/.test(e)) {
      const two = /[0-9]/.test(repl[i + 1] ?? '');
      ref = Number(two ? e + repl[i + 1] : e);
      if (two) i++;
    } else if (e === '0') {
      const m = /^[0-7]{0,2}/.exec(repl.slice(i + 1))![0];
      lit += String.fromCharCode(parseInt(`0${m}`, 8));
      i += m.length;
    } else {
      const simple: Record<string, string> = { '\\': '\\', n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b' };
      if (simple[e] !== undefined) lit += simple[e];
      else if (/[A-Za-z]/.test(e)) fail(`bad escape \\${e} in the replacement`);
      else lit += `\\${e}`;
    }
    if (ref !== undefined) {
      if (lit) parts.push(lit);
      lit = '';
      parts.push(ref);
    }
  }
  if (lit) parts.push(lit);
  return parts;
}

function expand(parts: ReplPart[], m: RegExpMatchArray): string {
  return parts
    .map((p) => {
      if (typeof p === 'string') return p;
      if (typeof p === 'number') {
        if (p >= m.length) fail(`invalid group reference ${p} in the replacement`);
        return m[p] ?? '';
      }
      if (!m.groups || !(p.name in m.groups)) fail(`unknown group name '${p.name}' in the replacement`);
      return m.groups[p.name] ?? '';
    })
    .join('');
}

function regexReplace(value: unknown, pattern: unknown = '', replacement: unknown = '', ignorecase?: unknown, multiline?: unknown): string {
  const re = pyRegex(pattern, { ignorecase, multiline, mode: 'g' });
  const parts = compileRepl(str(replacement));
  const s = str(value);
  let out = '';
  let last = 0;
  for (const m of s.matchAll(re)) {
    out += s.slice(last, m.index) + expand(parts, m);
    last = m.index! + m[0].length;
  }
  return out + s.slice(last);
}

function groupRef(arg: unknown): number | string {
  const s = str(arg);
  const named = /^\\g<(\S+)>$/.exec(s);
  if (named) return /^\d+$/.test(named[1]!) ? Number(named[1]) : named[1]!;
  const n = /^\\(\d+)$/.exec(s);
  if (n) return Number(n[1]);
  fail(`regex_search: unknown argument ${pyRepr(arg)} (expected a group reference such as '\\\\1' or '\\\\g<name>')`);
}

function regexSearch(value: unknown, args: unknown[], kw: Record<string, unknown>): unknown {
  const [pattern, ...groups] = args;
  const m = pyRegex(pattern, { ignorecase: kw.ignorecase, multiline: kw.multiline }).exec(str(value));
  if (!m) return null;
  if (groups.length === 0) return m[0];
  return groups.map((g) => {
    const ref = groupRef(g);
    return (typeof ref === 'number' ? m[ref] : m.groups?.[ref]) ?? null;
  });
}

function regexFindall(value: unknown, pattern: unknown, multiline?: unknown, ignorecase?: unknown): unknown[] {
  const re = pyRegex(pattern, { ignorecase, multiline, mode: 'g' });
  return [...str(value).matchAll(re)].map((m) => {
    if (m.length === 1) return m[0];
    if (m.length === 2) return m[1] ?? '';
    return tuple(m.slice(1).map((g) => g ?? ''));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Versions (Ansible's version test)

function looseVersion(v: string): (number | string)[] {
  return v
    .split(/(\d+|[a-z]+|\.)/)
    .filter((x) => x !== '' && x !== '.')
    .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}

function strictVersion(v: string): [number, number, number, string, number] {
  const m = /^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$/.exec(v);
  if (!m) fail(`invalid version number '${v}' for a strict comparison`);
  // A release sorts after its pre-releases: 'z' stands for "no pre-release".
  return [Number(m[1]), Number(m[2]), Number(m[4] ?? 0), m[5]?.[0] ?? 'z', Number(m[6] ?? 0)];
}

function compareVersions(a: string, b: string, strict: boolean): number {
  const x = strict ? strictVersion(a) : looseVersion(a);
  const y = strict ? strictVersion(b) : looseVersion(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    if (typeof p !== typeof q) fail(`cannot compare versions '${a}' and '${b}' (${pyRepr(p)} against ${pyRepr(q)})`);
    return p < q ? -1 : 1;
  }
  return Math.sign(x.length - y.length);
}

const VERSION_OPS: Record<string, (c: number) => boolean> = {
  '==': (c) => c === 0, '=': (c) => c === 0, eq: (c) => c === 0,
  '<': (c) => c < 0, lt: (c) => c < 0,
  '<=': (c) => c <= 0, le: (c) => c <= 0,
  '>': (c) => c > 0, gt: (c) => c > 0,
  '>=': (c) => c >= 0, ge: (c) => c >= 0,
  '!=': (c) => c !== 0, '<>': (c) => c !== 0, ne: (c) => c !== 0,
};

function versionTest(value: unknown, version: unknown, operator: unknown = 'eq', strict?: unknown, versionType?: unknown): boolean {
  if (!truthy(value ?? '')) fail('Input version value cannot be empty');
  if (!truthy(version ?? '')) fail('Version parameter to compare against cannot be empty');
  const op = VERSION_OPS[str(operator)];
  if (!op) fail(`invalid operator ${pyRepr(operator)}; use one of ${Object.keys(VERSION_OPS).join(', ')}`);
  const type = versionType === undefined || versionType === null ? (truthy(strict ?? false) ? 'strict' : 'loose') : str(versionType);
  if (type !== 'loose' && type !== 'strict') fail(`version_type '${type}' is not supported by imgplay (supported: loose, strict)`);
  return op(compareVersions(str(value), str(version), type === 'strict'));
}

// ---------------------------------------------------------------------------------------------------------------
// Collections

/** Ansible's merge_hash: y over x, dicts merged (recursively when asked), lists by list_merge. */
export function mergeHash(x: Record<string, unknown>, y: Record<string, unknown>, recursive: boolean, listMerge: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...x };
  for (const [k, yv] of Object.entries(y)) {
    const xv = out[k];
    if (!Object.hasOwn(out, k)) setKey(out, k, yv);
    else if (isMapping(xv) && isMapping(yv)) setKey(out, k, recursive ? mergeHash(xv, yv, recursive, listMerge) : yv);
    else if (Array.isArray(xv) && Array.isArray(yv)) {
      const rest = (a: unknown[], b: unknown[]) => a.filter((z) => !b.some((w) => pyEquals(w, z)));
      const merged: Record<string, () => unknown[]> = {
        replace: () => yv,
        keep: () => xv,
        append: () => [...xv, ...yv],
        prepend: () => [...yv, ...xv],
        append_rp: () => [...rest(xv, yv), ...yv],
        prepend_rp: () => [...yv, ...rest(xv, yv)],
      };
      setKey(out, k, merged[listMerge]!());
    } else setKey(out, k, yv);
  }
  return out;
}

function combine(input: unknown, args: unknown[], kw: Record<string, unknown>): unknown {
  const { recursive = false, list_merge: listMerge = 'replace', ...extra } = kw;
  const unknownKw = Object.keys(extra)[0];
  if (unknownKw !== undefined) fail("'recursive' and 'list_merge' are the only valid keyword arguments");
  if (!['replace', 'keep', 'append', 'prepend', 'append_rp', 'prepend_rp'].includes(str(listMerge))) {
    fail(`list_merge must be one of replace, keep, append, prepend, append_rp, prepend_rp; got ${pyRepr(listMerge)}`);
  }
  // Ansible flattens its terms one level, dropping None (and the strings 'None' and 'null') as its flatten does.
  const dicts = [input, ...args].flatMap((t) => (Array.isArray(t) ? t : [t])).filter((d) => d !== null && d !== 'None' && d !== 'null');
  if (dicts.length === 0) return {};
  if (dicts.length === 1) return dicts[0];
  // Ansible merges from the last term back to the first; a term that is no dict is named beside what the
  // terms after it merged into, in that order.
  let merged = dicts[dicts.length - 1];
  for (let i = dicts.length - 2; i >= 0; i--) {
    const d = dicts[i];
    if (!isMapping(d) || !isMapping(merged)) {
      const dumps = (v: unknown) => pyJson(v, { indent: undefined, sortKeys: false, ensureAscii: true, itemSep: ', ', keySep: ': ' });
      fail(`failed to combine variables, expected dicts but got a '${pyTypeName(d)}' and a '${pyTypeName(merged)}': \n${dumps(d)}\n${dumps(merged)}`);
    }
    merged = mergeHash(d, merged, truthy(recursive), str(listMerge));
  }
  return merged;
}

function flatten(list: unknown[], levels: number | undefined, skipNulls: boolean): unknown[] {
  const out: unknown[] = [];
  for (const e of list) {
    if (skipNulls && (e === null || e === undefined || e === 'None' || e === 'null')) continue;
    if (Array.isArray(e) && (levels === undefined || levels >= 1)) out.push(...flatten(e, levels === undefined ? undefined : levels - 1, skipNulls));
    else out.push(e);
  }
  return out;
}

function sortList(input: unknown, reverse?: unknown, caseSensitive?: unknown, attribute?: unknown): unknown[] {
  const items = [...iterate(input, 'sort')];
  const key = sortKey(caseSensitive);
  const attrs = attribute === undefined || attribute === null ? [undefined] : str(attribute).split(',').map((a) => a.trim());
  const keyOf = (v: unknown) => attrs.map((a) => key(a === undefined ? v : defined(attrOrUndefined(v, a))));
  const keyed = items.map((v) => ({ v, k: keyOf(v) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < a.k.length; i++) {
      const c = pyCompare(a.k[i], b.k[i]);
      if (c !== 0) return c;
    }
    return 0;
  });
  if (truthy(reverse ?? false)) keyed.reverse();
  return keyed.map((x) => x.v);
}

function defined<T>(v: T): T {
  if (v instanceof UndefinedValue) throw v.error();
  return v;
}

function minMax(input: unknown, which: 1 | -1, kw: Record<string, unknown>): unknown {
  const { case_sensitive: cs, attribute } = kw;
  const items = iterate(input, which === 1 ? 'max' : 'min');
  if (items.length === 0) return new UndefinedValue('', 'No aggregated item, sequence was empty.');
  const key = sortKey(cs);
  const keyOf = (v: unknown) => key(attribute === undefined || attribute === null ? v : defined(attrOrUndefined(v, attribute)));
  let best = items[0];
  for (const v of items.slice(1)) if (pyCompare(keyOf(v), keyOf(best)) * which > 0) best = v;
  return best;
}

function applyTest(env: CallEnv, item: unknown, args: unknown[], kw: Record<string, unknown>): boolean {
  if (args.length === 0) return truthy(item);
  const [name, ...rest] = args;
  return callTest(str(name), item, rest, kw, env);
}

function selectFilter(keep: boolean, byAttr: boolean): Fn {
  return (input, args, kw, env) => {
    const items = iterate(input, byAttr ? 'selectattr' : 'select');
    if (byAttr) {
      const [attr, ...rest] = args;
      if (attr === undefined) fail('selectattr needs an attribute name');
      return items.filter((x) => applyTest(env, attrOrUndefined(x, attr), rest, kw) === keep);
    }
    return items.filter((x) => applyTest(env, x, args, kw) === keep);
  };
}

function mapFilter(input: unknown, args: unknown[], kw: Record<string, unknown>, env: CallEnv): unknown[] {
  const items = iterate(input, 'map');
  if (args.length === 0 && kw.attribute !== undefined) {
    const { attribute, default: dflt, ...extra } = kw;
    if (Object.keys(extra).length > 0) fail(`unexpected keyword argument '${Object.keys(extra)[0]}'`);
    return items.map((x) => {
      const v = attrPath(x, attribute);
      if (v !== MISSING) return v;
      if (Object.hasOwn(kw, 'default')) return dflt;
      return defined(attrOrUndefined(x, attribute));
    });
  }
  const [name, ...rest] = args;
  if (name === undefined) fail("map needs a filter name or attribute='...'");
  return items.map((x) => callFilter(str(name), x, rest, kw, env));
}

function dictsort(input: unknown, caseSensitive?: unknown, by: unknown = 'key', reverse?: unknown): unknown[] {
  const d = dict(input, 'dictsort');
  const pos = by === 'key' ? 0 : by === 'value' ? 1 : fail("dictsort: by must be 'key' or 'value'");
  const key = sortKey(caseSensitive);
  const entries = Object.entries(d).map((e) => tuple(e));
  entries.sort((a, b) => pyCompare(key(a[pos]), key(b[pos])));
  if (truthy(reverse ?? false)) entries.reverse();
  return entries;
}

function indent(input: unknown, width: unknown = 4, first: unknown = false, blank: unknown = false): string {
  const pad = typeof width === 'string' ? width : ' '.repeat(num(width as number));
  const lines = `${str(input)}\n`.split('\n');
  lines.pop();
  let out: string;
  if (truthy(blank)) out = lines.join(`\n${pad}`);
  else {
    out = lines[0] ?? '';
    if (lines.length > 1) out += `\n${lines.slice(1).map((l) => (l ? pad + l : l)).join('\n')}`;
  }
  return truthy(first) ? pad + out : out;
}

const HASH_NAMES: Record<string, string> = { blake2b: 'blake2b512', blake2s: 'blake2s256', sha3_224: 'sha3-224', sha3_256: 'sha3-256', sha3_384: 'sha3-384', sha3_512: 'sha3-512' };

function hash(data: unknown, type: unknown = 'sha1'): string {
  const name = str(type);
  try {
    return createHash(HASH_NAMES[name] ?? name).update(str(data), 'utf8').digest('hex');
  } catch {
    fail(`unsupported hash type '${name}' (try sha1, sha256, sha512 or md5)`);
  }
}

function first(input: unknown, last: boolean): unknown {
  const items = iterate(input, last ? 'last' : 'first');
  if (items.length === 0) return new UndefinedValue('', `No ${last ? 'last' : 'first'} item, sequence was empty.`);
  return last ? items[items.length - 1] : items[0];
}

function pathJoin(input: unknown): string {
  const parts = typeof input === 'string' ? [input] : Array.isArray(input) ? input : typeFail(`|path_join expects string or sequence, got ${pyClass(input)} instead.`);
  // Python's os.path.join takes only text.
  for (const p of parts) if (typeof p !== 'string') typeFail(`expected str, bytes or os.PathLike object, not ${pyTypeName(p)}`);
  let out = '';
  for (const p of parts) {
    if (p.startsWith('/')) out = p;
    else if (out === '' || out.endsWith('/')) out += p;
    else out += `/${p}`;
  }
  return out;
}

function fsTest(kind: 'exists' | 'file' | 'directory' | 'link'): Def {
  return fixed([], (input) => {
    const p = str(input);
    try {
      if (kind === 'link') return lstatSync(p).isSymbolicLink();
      const st = statSync(p);
      return kind === 'exists' || (kind === 'file' ? st.isFile() : st.isDirectory());
    } catch {
      return false;
    }
  });
}

function resultTest(check: (r: Record<string, unknown>) => unknown): Def {
  return fixed([], (input) => {
    if (!isMapping(input)) fail(`expects a dictionary (a registered result), got ${pyTypeName(input)}`);
    return truthy(check(input) ?? false);
  });
}

function changed(r: Record<string, unknown>): unknown {
  if (Object.hasOwn(r, 'changed')) return r.changed;
  const results = r.results;
  return Array.isArray(results) && isMapping(results[0]) && results.some((x) => isMapping(x) && truthy(x.changed ?? false));
}

// ---------------------------------------------------------------------------------------------------------------
// The tables

const FILTERS: Record<string, Def> = {
  abs: fixed([], (v) => {
    if (!isNumber(v)) fail(`bad operand type for abs(): '${pyTypeName(v)}'`);
    return isFloat(v) ? pyFloat(Math.abs(num(v))) : Math.abs(num(v));
  }),
  attr: fixed(['name'], (v, name) => defined(attrOrUndefined(v, name))),
  b64decode: fixed(['encoding'], (v, encoding) => decodeText(Buffer.from(str(v), 'base64'), encoding)),
  b64encode: fixed(['encoding'], (v, encoding) => encodeText(str(v), encoding).toString('base64')),
  basename: fixed([], (v) => posixBasename(str(v))),
  bool: fixed([], (v) => toBool(v)),
  capitalize: fixed([], (v) => {
    const s = str(v);
    return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
  }),
  checksum: fixed([], (v) => hash(v, 'sha1')),
  combine: { fn: combine },
  count: fixed([], pyLen),
  d: lazyArgs(fixed(['default_value', 'boolean'], (v, dflt = '', boolean = false) => (v instanceof UndefinedValue || (truthy(defined(boolean)) && !truthy(v)) ? dflt : v), true)),
  default: lazyArgs(fixed(['default_value', 'boolean'], (v, dflt = '', boolean = false) => (v instanceof UndefinedValue || (truthy(defined(boolean)) && !truthy(v)) ? dflt : v), true)),
  dict2items: fixed(['key_name', 'value_name'], (v, k = 'key', val = 'value') =>
    Object.entries(isMapping(v) ? v : typeFail(`dict2items requires a dictionary, got ${pyClass(v)} instead.`)).map(([key, value]) => ({ [str(k)]: key, [str(val)]: value })),
  ),
  dictsort: fixed(['case_sensitive', 'by', 'reverse'], dictsort),
  difference: fixed(['b'], (a, b) => uniqueBy(iterate(a, 'difference').filter((x) => !contains(iterate(b, 'difference'), x)), (x) => x)),
  dirname: fixed([], (v) => posixDirname(str(v))),
  extract: lazyArgs(fixed(['container', 'morekeys'], (item, container, morekeys) => {
    // Ansible's undefined gives itself for any key: an undefined container extracts an undefined value.
    if (container instanceof UndefinedValue) return container;
    defined(morekeys);
    const keys = [item, ...(morekeys === undefined || morekeys === null ? [] : Array.isArray(morekeys) ? morekeys : [morekeys])];
    let v = container;
    for (const k of keys) {
      const next = getItem(v, k);
      if (next === MISSING) return new UndefinedValue('', `${pyTypeName(v)} value has no key ${pyRepr(k)}`);
      v = next;
    }
    return v;
  })),
  first: fixed([], (v) => first(v, false)),
  flatten: fixed(['levels', 'skip_nulls'], (v, levels, skipNulls = true) =>
    flatten(iterate(v, 'flatten'), levels === undefined || levels === null ? undefined : num(levels as number), truthy(skipNulls)),
  ),
  float: fixed(['default'], (v, dflt) => toFloat(v, dflt === undefined ? pyFloat(0) : dflt)),
  format: {
    fn: (v, args, kw) => printf(str(v), Object.keys(kw).length > 0 ? kw : tuple(args)),
  },
  from_json: fixed([], (v) => {
    try {
      return JSON.parse(str(v)) as unknown;
    } catch (err) {
      fail(`the text is not valid JSON: ${(err as Error).message}`);
    }
  }),
  from_yaml: fixed([], (v) => fromYaml(v, false)),
  from_yaml_all: fixed([], (v) => fromYaml(v, true)),
  hash: fixed(['hashtype'], hash),
  indent: fixed(['width', 'first', 'blank'], indent),
  int: fixed(['default', 'base'], toInt),
  intersect: fixed(['b'], (a, b) => uniqueBy(iterate(a, 'intersect').filter((x) => contains(iterate(b, 'intersect'), x)), (x) => x)),
  items: fixed([], (v) => (v instanceof UndefinedValue ? [] : Object.entries(dict(v, 'items')).map((e) => tuple(e))), true),
  items2dict: fixed(['key_name', 'value_name'], (v, k = 'key', val = 'value') => {
    if (!Array.isArray(v)) typeFail(`items2dict requires a list, got ${pyClass(v)} instead.`);
    const out: Record<string, unknown> = {};
    for (const item of v) {
      // Python: a dict without the key is a KeyError, anything else that is no dict a TypeError.
      if (!isMapping(item)) typeFail(`items2dict requires a list of dictionaries, got ${pyRepr(v)} instead.`);
      const key = getItem(item, k);
      const value = getItem(item, val);
      if (key === MISSING || value === MISSING) {
        typeFail(`items2dict requires each dictionary in the list to contain the keys '${str(k)}' and '${str(val)}', got ${pyRepr(v)} instead.`);
      }
      setKey(out, pyStr(key), value);
    }
    return out;
  }),
  join: fixed(['d', 'attribute'], (v, sep = '', attribute) =>
    iterate(v, 'join')
      .map((x) => str(attribute === undefined || attribute === null ? x : defined(attrOrUndefined(x, attribute))))
      .join(str(sep)),
  ),
  last: fixed([], (v) => first(v, true)),
  length: fixed([], pyLen),
  list: fixed([], (v) => [...iterate(v, 'list')]),
  lower: fixed([], (v) => str(v).toLowerCase()),
  mandatory: fixed(['msg'], (v, msg) => {
    if (!(v instanceof UndefinedValue)) return v;
    if (msg !== undefined && msg !== null) throw verbatim(new TemplateError(str(msg)));
    // Jinja's name of the undefined value is its last part (`x.y`: y), and Ansible's text has two spaces before 'not'.
    const name = /(?:^|\.)(\w+)$|\[['"]([^'"]*)['"]\]$/.exec(v.path);
    const named = name ? `'${name[1] ?? name[2]}' ` : '';
    throw verbatim(new TemplateError(`Mandatory variable ${named} not defined.`, { hint: `${v.path === '' ? 'the value' : `'${v.path}'`} is undefined, and the | mandatory filter requires it` }));
  }, true),
  map: { fn: mapFilter },
  max: { fn: (v, args, kw) => minMax(v, 1, bindKw('max', ['attribute', 'case_sensitive'], args, kw)) },
  md5: fixed([], (v) => hash(v, 'md5')),
  min: { fn: (v, args, kw) => minMax(v, -1, bindKw('min', ['attribute', 'case_sensitive'], args, kw)) },
  path_join: fixed([], pathJoin),
  quote: fixed([], (v) => shellQuote(str(v ?? ''))),
  regex_escape: fixed(['re_type'], (v, type = 'python') => {
    if (type === 'posix_basic') return str(v).replace(/[.*[\]^$\\]/g, '\\$&');
    if (type === 'posix_extended') fail('Regex type (posix_extended) not yet implemented');
    if (type !== 'python') fail(`Invalid regex type (${str(type)})`);
    return str(v).replace(/[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g, '\\$&');
  }),
  regex_findall: fixed(['regex', 'multiline', 'ignorecase'], regexFindall),
  regex_replace: fixed(['pattern', 'replacement', 'ignorecase', 'multiline'], regexReplace),
  regex_search: { fn: (v, args, kw) => regexSearch(v, args, bindKw('regex_search', ['ignorecase', 'multiline'], [], kw)) },
  reject: { fn: selectFilter(false, false) },
  rejectattr: { fn: selectFilter(false, true) },
  replace: fixed(['old', 'new', 'count'], (v, old, neu, count) => {
    const s = str(v);
    const parts = s.split(str(old));
    const n = count === undefined || count === null ? -1 : num(count as number);
    if (n < 0 || parts.length <= n + 1) return parts.join(str(neu));
    return parts.slice(0, n + 1).join(str(neu)) + str(old) + parts.slice(n + 1).join(str(old));
  }),
  reverse: fixed([], (v) => (typeof v === 'string' ? [...v].reverse().join('') : [...iterate(v, 'reverse')].reverse())),
  round: fixed(['precision', 'method'], (v, precision = 0, method = 'common') => {
    if (!isNumber(v)) fail(`round expects a number, got ${pyTypeName(v)}`);
    const p = num(precision as number);
    const m = 10 ** p;
    if (method === 'common') return isFloat(v) ? pyFloat(roundHalfEven(num(v), p)) : num(v);
    if (method === 'ceil') return pyFloat(Math.ceil(num(v) * m) / m);
    if (method === 'floor') return pyFloat(Math.floor(num(v) * m) / m);
    fail("round: method must be 'common', 'ceil' or 'floor'");
  }),
  select: { fn: selectFilter(true, false) },
  selectattr: { fn: selectFilter(true, true) },
  sha1: fixed([], (v) => hash(v, 'sha1')),
  sort: fixed(['reverse', 'case_sensitive', 'attribute'], sortList),
  split: fixed(['sep', 'maxsplit'], (v, sep, maxsplit) => {
    const s = str(v);
    const n = maxsplit === undefined || maxsplit === null ? -1 : num(maxsplit as number);
    if (sep === undefined || sep === null) {
      const words = s.trim() === '' ? [] : s.trim().split(/\s+/);
      return n < 0 || words.length <= n + 1 ? words : [...words.slice(0, n), words.slice(n).join(' ')];
    }
    const parts = s.split(str(sep));
    return n < 0 || parts.length <= n + 1 ? parts : [...parts.slice(0, n), parts.slice(n).join(str(sep))];
  }),
  splitext: fixed([], (v) => tuple(posixSplitext(str(v)))),
  string: fixed([], (v) => str(v)),
  sum: fixed(['attribute', 'start'], (v, attribute, start = 0) =>
    iterate(v, 'sum').reduce(
      (acc: unknown, x) => binaryOp('+', acc, attribute === undefined || attribute === null ? x : defined(attrOrUndefined(x, attribute))),
      start,
    ),
  ),
  symmetric_difference: fixed(['b'], (a, b) => {
    const x = iterate(a, 'symmetric_difference');
    const y = iterate(b, 'symmetric_difference');
    return uniqueBy([...x.filter((i) => !contains(y, i)), ...y.filter((i) => !contains(x, i))], (i) => i);
  }),
  ternary: lazyArgs(fixed(['true_val', 'false_val', 'none_val'], (v, t, f, n) => (v === null && n !== undefined && n !== null && !(n instanceof UndefinedValue) ? n : truthy(v) ? t : f))),
  title: fixed([], (v) => str(v).toLowerCase().replace(/(^|[^\p{L}])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase())),
  to_json: { fn: (v, args, kw) => toJson(v, bindKw('to_json', [], args, kw), false) },
  to_nice_json: { fn: (v, args, kw) => toJson(v, bindKw('to_nice_json', ['indent', 'sort_keys'], args, kw), true) },
  to_nice_yaml: fixed(['indent'], (v, ind = 4) => toYaml(v, true, num(ind as number))),
  to_yaml: fixed([], (v) => toYaml(v, false, 2)),
  trim: fixed(['chars'], (v, chars) => {
    const s = str(v);
    if (chars === undefined || chars === null) return s.trim();
    const set = new Set(str(chars));
    let a = 0;
    let b = s.length;
    while (a < b && set.has(s[a]!)) a++;
    while (b > a && set.has(s[b - 1]!)) b--;
    return s.slice(a, b);
  }),
  type_debug: fixed([], pyTypeName),
  union: fixed(['b'], (a, b) => uniqueBy([...iterate(a, 'union'), ...iterate(b, 'union')], (x) => x)),
  unique: fixed(['case_sensitive', 'attribute'], (v, cs, attribute) => {
    if (!Array.isArray(v) && typeof v !== 'string' && !isMapping(v)) fail(`'${pyTypeName(v)}' object is not iterable`);
    const items = iterate(v, 'unique');
    const key = sortKey(cs);
    const getter = (x: unknown) => key(attribute === undefined || attribute === null ? x : defined(attrOrUndefined(x, attribute)));
    // Jinja's unique hashes its keys; on a dict or list Ansible falls back to its own, case-sensitive one, which
    // knows neither case_sensitive=False nor attribute (as 2.14's mathstuff.unique).
    const unhashable = items.map(getter).find((k) => hashKey(k) === undefined);
    if (unhashable === undefined) return uniqueBy(items, getter);
    if (cs === false || (attribute !== undefined && attribute !== null && truthy(attribute))) {
      fail(`Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied. unhashable type: '${pyTypeName(unhashable)}'`);
    }
    return uniqueBy(items, (x) => x);
  }),
  upper: fixed([], (v) => str(v).toUpperCase()),
  zip: {
    fn: (v, args) => {
      const lists = [v, ...args].map((l) => iterate(l, 'zip'));
      const n = Math.min(...lists.map((l) => l.length));
      return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => l[i])));
    },
  },
};

function bindKw(name: string, params: readonly string[], args: unknown[], kw: Record<string, unknown>): Record<string, unknown> {
  const bound = bindArgs(name, params, args, {});
  const out: Record<string, unknown> = { ...kw };
  params.forEach((p, i) => {
    if (bound[i] !== undefined) {
      if (Object.hasOwn(kw, p)) fail(`${name}() got multiple values for argument '${p}'`);
      out[p] = bound[i];
    }
  });
  if (params.length > 0) {
    for (const k of Object.keys(kw)) if (!params.includes(k)) fail(`${name}() got an unexpected keyword argument '${k}'`);
  }
  return out;
}

const cmp = (op: '<' | '<=' | '>' | '>=', f: (c: number) => boolean): Def => fixed(['other'], (v, other) => f(pyCompare(v, other, op)));
const eq = fixed(['other'], (v, other) => pyEquals(v, other));
const ne = fixed(['other'], (v, other) => !pyEquals(v, other));
const lt = cmp('<', (c) => c < 0);
const le = cmp('<=', (c) => c <= 0);
const gt = cmp('>', (c) => c > 0);
const ge = cmp('>=', (c) => c >= 0);
const failed = resultTest((r) => r.failed);
const succeeded = resultTest((r) => !truthy(r.failed ?? false));
const skipped = resultTest((r) => r.skipped);
const changedTest = resultTest(changed);
const regexTest = (mode: 'match' | 'search') =>
  fixed(['pattern', 'ignorecase', 'multiline'], (v, pattern = '', ignorecase, multiline) =>
    pyRegex(pattern, { ignorecase, multiline, mode: mode === 'match' ? 'y' : '' }).test(str(v)),
  );

const TESTS: Record<string, Def> = {
  '!=': ne,
  '<': lt,
  '<=': le,
  '==': eq,
  '>': gt,
  '>=': ge,
  abs: fixed([], (v) => str(v).startsWith('/')),
  boolean: fixed([], (v) => typeof v === 'boolean'),
  change: changedTest,
  changed: changedTest,
  contains: fixed(['value'], (v, x) => contains(v, x)),
  defined: fixed([], (v) => !(v instanceof UndefinedValue), true),
  directory: fsTest('directory'),
  divisibleby: fixed(['num'], (v, n) => num(v as number) % num(n as number) === 0),
  eq,
  equalto: eq,
  even: fixed([], (v) => isNumber(v) && num(v) % 2 === 0),
  exists: fsTest('exists'),
  failed,
  failure: failed,
  falsy: fixed(['convert_bool'], (v, convert) => !truthy(truthy(convert ?? false) ? toBool(v) : v)),
  file: fsTest('file'),
  float: fixed([], (v) => isFloat(v)),
  ge,
  greaterthan: gt,
  gt,
  in: fixed(['seq'], (v, seq) => contains(seq, v)),
  integer: fixed([], (v) => typeof v === 'number' && Number.isInteger(v)),
  iterable: fixed([], (v) => typeof v === 'string' || Array.isArray(v) || isMapping(v)),
  le,
  lessthan: lt,
  link: fsTest('link'),
  lower: fixed([], (v) => str(v).toLowerCase() === str(v)),
  lt,
  mapping: fixed([], (v) => isMapping(v)),
  match: regexTest('match'),
  ne,
  none: fixed([], (v) => v === null || v === undefined),
  number: fixed([], (v) => isNumber(v)),
  odd: fixed([], (v) => isNumber(v) && Math.abs(num(v) % 2) === 1),
  reachable: resultTest((r) => !truthy(r.unreachable ?? false)),
  regex: fixed(['pattern', 'ignorecase', 'multiline', 'match_type'], (v, pattern = '', ignorecase, multiline, type = 'search') =>
    pyRegex(pattern, { ignorecase, multiline, mode: type === 'match' ? 'y' : '' }).test(str(v)),
  ),
  sameas: fixed(['other'], (v, other) => v === other),
  search: regexTest('search'),
  sequence: fixed([], (v) => typeof v === 'string' || Array.isArray(v) || isMapping(v)),
  skip: skipped,
  skipped,
  string: fixed([], (v) => typeof v === 'string'),
  subset: fixed(['superset'], (v, sup) => iterate(v, 'subset').every((x) => contains(iterate(sup, 'subset'), x))),
  succeeded,
  success: succeeded,
  successful: succeeded,
  superset: fixed(['subset'], (v, sub) => iterate(sub, 'superset').every((x) => contains(iterate(v, 'superset'), x))),
  false: fixed([], (v) => v === false),
  true: fixed([], (v) => v === true),
  truthy: fixed(['convert_bool'], (v, convert) => truthy(truthy(convert ?? false) ? toBool(v) : v)),
  undefined: fixed([], (v) => v instanceof UndefinedValue, true),
  unreachable: resultTest((r) => r.unreachable),
  upper: fixed([], (v) => str(v).toUpperCase() === str(v)),
  version: fixed(['version', 'operator', 'strict', 'version_type'], versionTest),
  version_compare: fixed(['version', 'operator', 'strict', 'version_type'], versionTest),
};

Object.assign(FILTERS, MORE_FILTERS);
Object.assign(TESTS, {
  all: fixed([], (v) => iterate(v, 'all').every((x) => truthy(x))),
  any: fixed([], (v) => iterate(v, 'any').some((x) => truthy(x))),
  is_abs: TESTS.abs,
  is_dir: TESTS.directory,
  is_file: TESTS.file,
  is_link: TESTS.link,
  issubset: TESTS.subset,
  issuperset: TESTS.superset,
  link_exists: fixed([], (v) => {
    try {
      lstatSync(str(v));
      return true;
    } catch {
      return false;
    }
  }),
  nan: fixed([], (v) => isFloat(v) && Number.isNaN(num(v as number))),
  isnan: fixed([], (v) => isFloat(v) && Number.isNaN(num(v as number))),
} satisfies Record<string, Def | undefined>);

const filterList = Object.keys(FILTERS).sort();
const testList = Object.keys(TESTS).filter((t) => /^\w+$/.test(t)).sort();

/** Every filter name, sorted (for messages and docs). */
export function filterNames(): readonly string[] {
  return filterList;
}

/** Every test name, sorted. */
export function testNames(): readonly string[] {
  return testList;
}

/** True if a filter of that name exists. */
export function hasFilter(name: string): boolean {
  return Object.hasOwn(FILTERS, name);
}

/** True if a test of that name exists. */
export function hasTest(name: string): boolean {
  return Object.hasOwn(TESTS, name);
}

function invoke(kind: 'filter' | 'test', table: Record<string, Def>, name: string, input: unknown, args: unknown[], kwargs: Record<string, unknown>, env: CallEnv): unknown {
  const def = table[name];
  if (!def || !Object.hasOwn(table, name)) {
    const guess = didYouMean(name, kind === 'filter' ? filterList : testList);
    throw new TemplateError(`unknown ${kind} '${name}'${guess ? `; did you mean '${guess}'?` : ''}`);
  }
  if (input instanceof UndefinedValue && !def.undefinedOk) throw input.error();
  if (!def.undefinedArgsOk) {
    for (const a of [...args, ...Object.values(kwargs)]) if (a instanceof UndefinedValue) throw a.error();
  }
  try {
    const bound = def.params ? bindArgs(name, def.params, args, kwargs) : args;
    return def.fn(input, bound, def.params ? {} : kwargs, env);
  } catch (err) {
    if (err instanceof TemplateError && !verbatimErrors.has(err) && !(err.message.startsWith(name) || err.message.startsWith(`${kind} '${name}'`))) {
      throw new TemplateError(`${kind} '${name}': ${err.message}`, { hint: err.hint, cause: err });
    }
    throw err;
  }
}

/** Applies a filter by name: `callFilter('join', xs, [', '], {})` is `xs | join(', ')`. */
export function callFilter(name: string, input: unknown, args: unknown[], kwargs: Record<string, unknown>, env: CallEnv): unknown {
  return invoke('filter', FILTERS, name, input, args, kwargs, env);
}

/** Applies a test by name: `callTest('match', s, ['^a'], {})` is `s is match('^a')`. */
export function callTest(name: string, input: unknown, args: unknown[], kwargs: Record<string, unknown>, env: CallEnv): boolean {
  return invoke('test', TESTS, name, input, args, kwargs, env) as boolean;
}
