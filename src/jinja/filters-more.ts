// More of ansible-core 2.14's filters: comment, password_hash, random and shuffle (Python's generator when seeded),
// to_uuid, strftime, the controller path filters (realpath, expanduser, expandvars, fileglob, relpath), math and
// itertools ones. Path filters read the controller, as in Ansible: never the target or the image.
import { createHash, randomInt } from 'node:crypto';
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { TemplateError } from '../errors.js';
import { passwordHash } from './crypt.js';
import { isFloat, isMapping, isNumber, num, printf, pyFloat, pyRepr, pyStr, pyTypeName, truthy, tuple, UndefinedValue } from './values.js';
import { globFiles, globRegExp } from './glob.js';
import { PyRandom } from './pyrandom.js';
import { formatTime } from './strftime.js';
import { strptime } from './datetime.js';

// The shape filters.ts keeps its definitions in (declared again here so neither module needs the other first).
interface Def {
  params?: readonly string[];
  undefinedOk?: boolean;
  fn: (input: unknown, args: unknown[], kwargs: Record<string, unknown>, env: { scope: Readonly<Record<string, unknown>> }) => unknown;
}

const fixed = (params: readonly string[], fn: (input: unknown, ...args: any[]) => unknown): Def => ({ params, fn: (input, args) => fn(input, ...args) });

function fail(message: string): never {
  throw new TemplateError(message);
}

const str = (v: unknown) => pyStr(v ?? null);

function int(v: unknown, what: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && Number.isInteger(v) && !isFloat(v)) return v;
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
  fail(`${what} must be an integer, not ${pyTypeName(v)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// comment

const COMMENT_STYLES: Record<string, Record<string, string>> = {
  plain: { decoration: '# ' },
  erlang: { decoration: '% ' },
  c: { decoration: '// ' },
  cblock: { beginning: '/*', decoration: ' * ', end: ' */' },
  xml: { beginning: '<!--', decoration: ' - ', end: '-->' },
};

/** The comment filter: text wrapped as a comment block of a style, each part overridable by keyword. */
function comment(text: unknown, args: unknown[], kw: Record<string, unknown>): string {
  if (args.length > 1) fail(`comment() takes from 1 to 2 positional arguments but ${args.length + 1} were given`);
  const style = args.length ? str(args[0]) : kw.style !== undefined ? str(kw.style) : 'plain';
  const styleParams = COMMENT_STYLES[style];
  if (!styleParams) fail(`KeyError: ${JSON.stringify(style)}: comment styles are ${Object.keys(COMMENT_STYLES).join(', ')}`);
  const { style: _s, ...opts } = kw;
  const prepost = opts.decoration !== undefined ? str(opts.decoration) : styleParams.decoration!;
  const p: Record<string, unknown> = {
    newline: '\n', beginning: '', prefix: prepost.trimEnd(), prefix_count: 1, decoration: '', postfix: prepost.trimEnd(), postfix_count: 1, end: '',
    ...styleParams,
    ...opts,
  };
  const nl = str(p.newline);
  const deco = str(p.decoration);
  const beginning = p.beginning ? `${str(p.beginning)}${nl}` : '';
  let prefix = '';
  if (p.prefix) prefix = (str(p.prefix) !== nl ? `${str(p.prefix)}${nl}` : nl).repeat(Math.max(0, int(p.prefix_count, 'prefix_count')));
  const body = `${deco}${str(text).split(nl).join(`${nl}${deco}`)}`.split(`${deco}${nl}`).join(`${deco.trimEnd()}${nl}`);
  const postfix = ['', ...Array.from({ length: Math.max(0, int(p.postfix_count, 'postfix_count')) }, () => str(p.postfix))].join(nl);
  const end = p.end ? `${nl}${str(p.end)}` : '';
  return `${beginning}${prefix}${body}${postfix}${end}`;
}

// ---------------------------------------------------------------------------------------------------------------
// random, shuffle

function rand(end: unknown, args: unknown[], kw: Record<string, unknown>): unknown {
  const names = ['start', 'step', 'seed'];
  if (args.length > 3) fail(`rand() takes from 2 to 5 positional arguments but ${args.length + 2} were given`);
  const a: Record<string, unknown> = {};
  args.forEach((v, i) => (a[names[i]!] = v));
  for (const [k, v] of Object.entries(kw)) {
    if (!names.includes(k)) fail(`rand() got an unexpected keyword argument '${k}'`);
    a[k] = v;
  }
  const seeded = a.seed !== undefined && a.seed !== null;
  const r = seeded ? new PyRandom(a.seed) : undefined;
  const below = (n: number) => (r ? r.randbelow(n) : n > 0 ? randomInt(n) : fail('empty range for randrange()'));
  if (typeof end === 'number' && Number.isInteger(end) && !isFloat(end)) {
    const start = truthy(a.start ?? 0) ? int(a.start, 'start') : 0;
    const step = truthy(a.step ?? 0) ? int(a.step, 'step') : 1;
    if (r) return r.randrange(start, end, step);
    const width = end - start;
    const n = step > 0 ? Math.floor((width + step - 1) / step) : Math.floor((width + step + 1) / step);
    if (n <= 0) fail(`empty range for randrange() (${start}, ${end}, ${width})`);
    return start + step * below(n);
  }
  if (typeof end === 'string' || Array.isArray(end) || isMapping(end)) {
    if (truthy(a.start ?? null) || truthy(a.step ?? null)) fail('start and step can only be used with integer values');
    const seq = typeof end === 'string' ? [...end] : Array.isArray(end) ? end : Object.keys(end);
    // random.choice: an empty sequence raises IndexError.
    if (seq.length === 0) fail('Cannot choose from an empty sequence');
    return seq[below(seq.length)];
  }
  fail('random can only be used on sequences and integers');
}

function shuffle(v: unknown, seed: unknown): unknown[] {
  const list = typeof v === 'string' ? [...v] : Array.isArray(v) ? [...v] : isMapping(v) ? Object.keys(v) : undefined;
  // Ansible returns what it was given when list() of it fails.
  if (!list) return v as unknown[];
  if (truthy(seed ?? null)) return new PyRandom(seed).shuffle(list);
  for (let i = list.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

// ---------------------------------------------------------------------------------------------------------------
// to_uuid

const ANSIBLE_NAMESPACE = '361E6D51-FAEC-444A-9079-341386DA8E2E';

/** uuid.uuid5(namespace, name) as text. */
export function uuid5(name: string, namespace: unknown = ANSIBLE_NAMESPACE): string {
  const ns = str(namespace).replace(/^urn:uuid:/i, '').replace(/[{}-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(ns)) fail(`Invalid value '${str(namespace)}' for 'namespace': badly formed hexadecimal UUID string`);
  const h = createHash('sha1').update(Buffer.from(ns, 'hex')).update(Buffer.from(name, 'utf8')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Controller paths

function expandUser(p: string): string {
  if (p === '~' || p.startsWith('~/')) return (process.env.HOME || homedir()) + p.slice(1);
  return p;
}

// os.path.expandvars: $name and ${name} of the controller's environment; unknown names stay as written.
function expandVars(p: string): string {
  return p.replace(/\$(\w+)|\$\{([^}]+)\}/g, (m, a: string | undefined, b: string | undefined) => process.env[(a ?? b)!] ?? m);
}

// os.path.realpath (not strict): components walked in order, each symlink replaced by its target as far as
// the path exists, so `link/..` is the parent of the link's target; the rest is taken as written.
function realPath(p: string): string {
  const todo = resolveLexicallyFromCwd(p).split('/').filter((c) => c !== '');
  let out = '/';
  let hops = 0;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      out = dirname(out);
      continue;
    }
    const next = out === '/' ? `/${c}` : `${out}/${c}`;
    let target: string | undefined;
    try {
      target = readlinkSync(next);
    } catch {
      target = undefined;
    }
    if (target === undefined) {
      out = next;
      continue;
    }
    // A loop of links: Python gives the path as it stands.
    if (++hops > 40) return [next, ...todo].join('/');
    if (target.startsWith('/')) out = '/';
    todo.unshift(...target.split('/').filter((x) => x !== ''));
  }
  return out;
}

// An absolute path from the working directory, without collapsing `..` (which must follow symlinks).
function resolveLexicallyFromCwd(p: string): string {
  return p.startsWith('/') ? p : `${process.cwd()}/${p}`;
}

// glob.glob of a whole path (a pattern in any component), regular files only as the fileglob filter keeps.
function globPath(pattern: string): string[] {
  const abs = pattern.startsWith('/');
  const parts = pattern.split('/').filter((x) => x !== '');
  let dirs = [abs ? '/' : '.'];
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const d of dirs) {
      if (!/[*?[]/.test(part)) {
        const p = d === '.' && !abs ? part : `${d === '/' ? '' : d}/${part}`;
        if (last) {
          try {
            if (statSync(p).isFile()) next.push(p);
          } catch {
            // absent
          }
        } else next.push(p);
      } else if (last) next.push(...globFiles(d, part).map((f) => (d === '.' && !abs ? f.replace(/^\.\//, '') : f)));
      else next.push(...globDirs(d, part));
    }
    dirs = next;
    if (dirs.length > 100_000) fail('fileglob: the pattern matches more than 100000 paths');
  }
  return parts.length ? dirs : [];
}

function globDirs(dir: string, pattern: string): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  const re = globRegExp(pattern);
  for (const n of names.sort()) {
    if (!re.test(n) || (n.startsWith('.') && !pattern.startsWith('.'))) continue;
    const p = dir === '.' ? n : `${dir === '/' ? '' : dir}/${n}`;
    try {
      if (statSync(p).isDirectory()) out.push(p);
    } catch {
      // vanished
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// itertools and math

function listOf(v: unknown, what: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isMapping(v)) return Object.keys(v);
  fail(`${what} expects an iterable, got ${pyTypeName(v)}`);
}

const MAX_COMBINATIONS = 1_000_000;

function product(lists: unknown[][]): unknown[] {
  let out: unknown[][] = [[]];
  for (const l of lists) {
    const next: unknown[][] = [];
    for (const prefix of out) for (const x of l) next.push([...prefix, x]);
    if (next.length > MAX_COMBINATIONS) fail(`product: more than ${MAX_COMBINATIONS} combinations`);
    out = next;
  }
  return out.map((t) => tuple(t));
}

function permutations(pool: unknown[], r: number): unknown[] {
  const out: unknown[] = [];
  const used = new Array<boolean>(pool.length).fill(false);
  const cur: unknown[] = [];
  const walk = () => {
    if (out.length > MAX_COMBINATIONS) fail(`permutations: more than ${MAX_COMBINATIONS} results`);
    if (cur.length === r) {
      out.push(tuple([...cur]));
      return;
    }
    for (let i = 0; i < pool.length; i++) {
      if (used[i]) continue;
      used[i] = true;
      cur.push(pool[i]);
      walk();
      cur.pop();
      used[i] = false;
    }
  };
  if (r <= pool.length) walk();
  return out;
}

function combinations(pool: unknown[], r: number): unknown[] {
  const out: unknown[] = [];
  const cur: unknown[] = [];
  const walk = (from: number) => {
    if (out.length > MAX_COMBINATIONS) fail(`combinations: more than ${MAX_COMBINATIONS} results`);
    if (cur.length === r) {
      out.push(tuple([...cur]));
      return;
    }
    for (let i = from; i < pool.length; i++) {
      cur.push(pool[i]);
      walk(i + 1);
      cur.pop();
    }
  };
  if (r >= 0) walk(0);
  return out;
}

function number(v: unknown, what: string): number {
  if (isNumber(v)) return num(v);
  fail(`${what} must be a real number, not ${pyTypeName(v)}`);
}

// mathstuff's log, pow and root: Python's TypeError (and root's ValueError) in Ansible's words.
function mathArg(v: unknown, filter: string): number {
  if (isNumber(v)) return num(v);
  fail(`${filter}() can only be used on numbers: must be real number, not ${pyTypeName(v)}`);
}

// Python's math module refuses what has no real result (NaN here) or overflows (an infinity here).
function mathResult(x: number): number {
  if (Number.isNaN(x)) fail('math domain error');
  if (!Number.isFinite(x)) fail('math range error');
  return x;
}

// ---------------------------------------------------------------------------------------------------------------
// rekey_on_member (mathstuff): a list (or dict) of dicts keyed by one member of each

function rekeyOnMember(data: unknown, key: unknown, duplicates: unknown = 'error'): Record<string, unknown> {
  if (duplicates !== 'error' && duplicates !== 'overwrite') fail(`duplicates parameter to rekey_on_member has unknown value: ${str(duplicates)}`);
  const items = isMapping(data) ? Object.values(data) : Array.isArray(data) ? data : fail('Type is not a valid list, set, or dict');
  const out: Record<string, unknown> = {};
  for (const item of items) {
    if (!isMapping(item)) fail('List item is not a valid dict');
    const k = str(key);
    if (!Object.hasOwn(item, k)) fail(`Key ${k} was not found`);
    const name = str(item[k]);
    if (Object.hasOwn(out, name) && duplicates === 'error') fail(`Key ${name} is not unique, cannot correctly turn into dict`);
    out[name] = item;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Sizes (Ansible's formatters: human_readable, human_to_bytes)

const SIZE_RANGES: Array<[string, number]> = [['Y', 2 ** 80], ['Z', 2 ** 70], ['E', 2 ** 60], ['P', 2 ** 50], ['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10], ['B', 1]];

function humanReadable(size: unknown, isbits: unknown, unit: unknown): string {
  const base = truthy(isbits ?? false) ? 'bits' : 'Bytes';
  const wanted = unit === undefined || unit === null ? undefined : str(unit).toUpperCase();
  if (!isNumber(size)) {
    const op = wanted === undefined ? "'>=' not supported between instances of" : 'unsupported operand type(s) for /:';
    fail(`human_readable() failed on bad input: ${op} '${pyTypeName(size)}' and 'int'`);
  }
  const n = num(size);
  let [suffix, limit] = SIZE_RANGES[SIZE_RANGES.length - 1]!;
  for (const [s, l] of SIZE_RANGES) {
    if ((wanted === undefined && n >= l) || (wanted !== undefined && wanted.startsWith(s))) {
      [suffix, limit] = [s, l];
      break;
    }
  }
  return printf('%.2f %s', tuple([pyFloat(n / limit), limit !== 1 ? `${suffix}${base[0]}` : base]));
}

// Python's round() of a float: halves go to the even neighbour.
function roundEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

function humanToBytes(size: unknown, defaultUnit: unknown, isbits: unknown): number {
  const text = str(size);
  const cant = () => fail(`human_to_bytes() can't interpret following string: ${text}`);
  const m = /^\s*(\d*\.?\d*)\s*([A-Za-z]+)?/.exec(text)!;
  if (m[1] === '' || m[1] === '.') cant();
  const n = Number(m[1]);
  const unit = m[2] ?? (defaultUnit === undefined || defaultUnit === null ? undefined : str(defaultUnit));
  if (unit === undefined) return roundEven(n);
  const key = unit[0]!.toUpperCase();
  const limit = SIZE_RANGES.find(([s]) => s === key)?.[1];
  if (limit === undefined) cant();
  const [cls, clsName] = truthy(isbits ?? false) ? ['b', 'bit'] : ['B', 'byte'];
  if (unit.length > 1 && !unit.toLowerCase().includes(clsName) && unit[1] !== cls) cant();
  return roundEven(n * limit!);
}

// ---------------------------------------------------------------------------------------------------------------
// Text encodings by their Python codec names (b64encode, b64decode)

const CODECS: Record<string, 'utf8' | 'utf16le' | 'utf16' | 'latin1' | 'ascii'> = {
  utf_8: 'utf8', utf8: 'utf8', u8: 'utf8', utf: 'utf8', cp65001: 'utf8',
  utf_16_le: 'utf16le', utf_16le: 'utf16le', utf16le: 'utf16le',
  utf_16: 'utf16', utf16: 'utf16', u16: 'utf16',
  latin_1: 'latin1', latin1: 'latin1', iso_8859_1: 'latin1', iso8859_1: 'latin1', l1: 'latin1', '8859': 'latin1', cp819: 'latin1',
  ascii: 'ascii', us_ascii: 'ascii', '646': 'ascii',
};

function codec(name: unknown): (typeof CODECS)[string] {
  const key = str(name ?? 'utf-8').trim().toLowerCase().replace(/[- ]/g, '_');
  const c = CODECS[key];
  if (c === undefined) fail(`the encoding '${str(name)}' is not implemented in imgplay (utf-8, utf-16, utf-16-le, latin-1 and ascii are)`);
  return c;
}

/** Python's str.encode(encoding) as bytes: b64encode's input. */
export function encodeText(text: string, encoding: unknown): Buffer {
  const c = codec(encoding);
  if ((c === 'ascii' && /[^\x00-\x7f]/.test(text)) || (c === 'latin1' && /[^\x00-\xff]/.test(text))) {
    fail(`'${c === 'ascii' ? 'ascii' : 'latin-1'}' codec can't encode the text: it holds characters outside its range`);
  }
  if (c === 'utf16') return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  return Buffer.from(text, c);
}

/** Python's bytes.decode(encoding): b64decode's output. */
export function decodeText(bytes: Buffer, encoding: unknown): string {
  const c = codec(encoding);
  if (c === 'utf16') {
    if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
    return bytes.subarray(bytes[0] === 0xff && bytes[1] === 0xfe ? 2 : 0).toString('utf16le');
  }
  if (c === 'ascii' && bytes.some((b) => b > 0x7f)) fail("'ascii' codec can't decode the bytes: one is over 127");
  return bytes.toString(c);
}

// ---------------------------------------------------------------------------------------------------------------

// subelements: each element of a list (or a dict's values) paired with each item of the list a dotted key
// names in it, as Ansible's filter (and with_subelements) pair them.
function subelements(obj: unknown, sub: unknown, skipMissing: boolean): unknown[] {
  const elements = Array.isArray(obj) ? [...obj] : isMapping(obj) ? Object.values(obj) : fail('obj must be a list of dicts or a nested dict');
  const keys = Array.isArray(sub) ? [...sub] : typeof sub === 'string' ? sub.split('.') : typeFail('subelements must be a list or a string');
  const out: unknown[] = [];
  for (const element of elements) {
    let values: unknown = element;
    let last: unknown;
    for (const key of keys) {
      last = key;
      // Python: a dict without the key is a KeyError; indexing anything else by a name, a TypeError.
      if (!isMapping(values)) typeFail(`the key ${pyStr(key)} should point to a dictionary, got '${pyStr(values)}'`);
      if (!Object.hasOwn(values, pyStr(key))) {
        if (skipMissing) {
          values = [];
          break;
        }
        fail(`could not find ${pyRepr(key)} key in iterated item ${pyRepr(values)}`);
      }
      values = values[pyStr(key)];
    }
    if (!Array.isArray(values)) typeFail(`the key ${pyRepr(last)} should point to a list, got ${pyRepr(values)}`);
    for (const v of values) out.push(tuple([element, v]));
  }
  return out;
}

/** Fails where Ansible's filter raises AnsibleFilterTypeError (or Python a TypeError): Ansible's msg then names the template. */
export function typeFail(message: string): never {
  throw new TemplateError(message, { type: true });
}

/** The filters this module adds, by name. */
export const MORE_FILTERS: Record<string, Def> = {
  combinations: fixed(['r'], (v, r) => combinations(listOf(v, 'combinations'), int(r, 'r'))),
  comment: { fn: (v, args, kw) => comment(v, args, kw) },
  expanduser: fixed([], (v) => expandUser(str(v))),
  expandvars: fixed([], (v) => expandVars(str(v))),
  fileglob: fixed([], (v) => globPath(str(v))),
  human_readable: fixed(['isbits', 'unit'], humanReadable),
  rekey_on_member: fixed(['key', 'duplicates'], rekeyOnMember),
  human_to_bytes: fixed(['default_unit', 'isbits'], humanToBytes),
  log: fixed(['base'], (v, base) => {
    const x = mathArg(v, 'log');
    const b = base === undefined ? Math.E : mathArg(base, 'log');
    if (x <= 0 || b <= 0) fail('math domain error');
    if (base === undefined) return pyFloat(Math.log(x));
    if (b === 1) fail('float division by zero');
    return pyFloat(mathResult(b === 10 ? Math.log10(x) : Math.log(x) / Math.log(b)));
  }),
  password_hash: fixed(['hashtype', 'salt', 'salt_size', 'rounds', 'ident'], (v, hashtype = 'sha512', salt, saltSize, rounds, ident) => {
    if (v instanceof UndefinedValue) throw v.error();
    return passwordHash(str(v), str(hashtype), salt === undefined || salt === null ? undefined : str(salt),
      rounds === undefined || rounds === null ? undefined : int(rounds, 'rounds'), ident === undefined || ident === null ? undefined : str(ident),
      saltSize === undefined || saltSize === null ? undefined : int(saltSize, 'salt_size'));
  }),
  permutations: fixed(['r'], (v, r) => {
    const pool = listOf(v, 'permutations');
    return permutations(pool, r === undefined || r === null ? pool.length : int(r, 'r'));
  }),
  pow: fixed(['y'], (x, y) => pyFloat(mathResult(mathArg(x, 'pow') ** mathArg(y, 'pow')))),
  product: { fn: (v, args, kw) => {
    for (const k of Object.keys(kw)) if (k !== 'repeat') fail(`product() got an unexpected keyword argument '${k}'`);
    const lists = [listOf(v, 'product'), ...args.map((a) => listOf(a, 'product'))];
    const repeat = kw.repeat === undefined ? 1 : int(kw.repeat, 'repeat');
    return product(Array.from({ length: Math.max(0, repeat) }, () => lists).flat());
  } },
  random: { fn: (v, args, kw) => rand(v, args, kw) },
  realpath: fixed([], (v) => realPath(str(v))),
  relpath: fixed(['start'], (v, start = '.') => relative(resolve(str(start)), resolve(str(v))) || '.'),
  root: fixed(['base'], (v, base = 2) => {
    const x = mathArg(v, 'root');
    const b = mathArg(base, 'root');
    const r = b === 2 ? Math.sqrt(x) : x ** (1 / b);
    if (Number.isNaN(r)) fail('root() can only be used on numbers: math domain error');
    return pyFloat(r);
  }),
  shuffle: fixed(['seed'], shuffle),
  strftime: fixed(['second', 'utc'], (fmt, second, utc = false) => {
    const t = second === undefined || second === null ? Date.now() / 1000 : number(typeof second === 'string' ? Number(second) : second, 'second');
    if (Number.isNaN(t)) fail(`Invalid value for epoch value (${str(second)})`);
    return formatTime(str(fmt), t, truthy(utc));
  }),
  subelements: fixed(['subelements', 'skip_missing'], (obj, sub, skipMissing = false) => subelements(obj, sub, truthy(skipMissing))),
  to_datetime: fixed(['format'], (v, format = '%Y-%m-%d %H:%M:%S') => {
    try {
      return strptime(str(v), str(format));
    } catch (err) {
      fail((err as Error).message);
    }
  }),
  to_uuid: fixed(['namespace'], (v, ns) => uuid5(str(v), ns ?? ANSIBLE_NAMESPACE)),
  zip_longest: { fn: (v, args, kw) => {
    for (const k of Object.keys(kw)) if (k !== 'fillvalue') fail(`zip_longest() got an unexpected keyword argument '${k}'`);
    const lists = [listOf(v, 'zip_longest'), ...args.map((a) => listOf(a, 'zip_longest'))];
    const n = Math.max(0, ...lists.map((l) => l.length));
    return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => (i < l.length ? l[i] : (kw.fillvalue ?? null)))));
  } },
};
