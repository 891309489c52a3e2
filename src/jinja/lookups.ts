// Ansible's lookup plugins: `lookup('file', 'x')`, `query(...)` and the `with_<lookup>` loops share them, with the
// results, search paths and error texts of ansible-core 2.14. They run on the controller, never in the target.
import { noteRead } from '../host/reads.js';
import { warn } from '../host/warnings.js';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { homedir } from 'node:os';
import { TemplateError, UndefinedVariableError } from '../errors.js';
import { parseKv } from '../yaml/kv.js';
import { resolveVariable } from './evaluate.js';
import { isFalseWord, isMapping, isTrueWord, lookupVar, markUnsafe, printf, pyRepr, pyStr, pyTypeName, truthy, tuple, UndefinedValue } from './values.js';
import { markUnsafeText, noteUnsafeUse } from '../yaml/unsafe.js';
import { passwordHash } from './crypt.js';
import { PyRandom } from './pyrandom.js';
import { bindLookups, renderer } from './late-bound.js';
import { globFiles } from './glob.js';

type Scope = Readonly<Record<string, unknown>>;

/** What a lookup runs with besides its terms and keyword arguments. */
export interface LookupContext {
  scope: Scope;
  /** with_first_found: the subdirectory the task's action implies (templates/, vars/, files/). */
  subdir?: string;
}

/** A lookup plugin: terms in, a list out (Ansible's LookupBase.run). */
type Plugin = (terms: unknown[], kwargs: Record<string, unknown>, ctx: LookupContext) => unknown[];

/** A failure the lookup itself reports (AnsibleLookupError when `handled`, else AnsibleError): `errors=` may turn it
 *  into a warning, worded by which of the two it is. */
export class LookupError extends TemplateError {
  handled = false;
}

/** Options the lookup does not have (AnsibleOptionsError): `errors=` never hides them. */
class OptionsError extends TemplateError {}

function fail(message: string): never {
  throw new LookupError(message);
}

// An AnsibleLookupError: what first_found, ini and config raise (other plugins raise AnsibleError).
function failHandled(message: string): never {
  const err = new LookupError(message);
  err.handled = true;
  throw err;
}

// LookupBase.find_file_in_search_path: a file not found is warned about (first_found alone looks quietly).
function findOrWarn(scope: Scope, subdir: string, needle: string): string | undefined {
  const path = findInSearchPath(scope, subdir, needle);
  if (path === undefined) warn(`Unable to find '${needle}' in expected paths (use -vvvvv to see paths)`);
  return path;
}

// Commands of pipe and lines are given this long before they are killed: a lookup must not hang a run.
const COMMAND_TIMEOUT_MS = 10 * 60 * 1000;
const MAX_OUTPUT = 64 * 1024 * 1024;

// A lookup reads regular files only (never /dev/zero or a FIFO, which would never end), and not huge ones.
const MAX_FILE = 64 * 1024 * 1024;

function readText(path: string): string {
  const st = statSync(path);
  if (!st.isFile()) fail(`${path} is not a regular file`);
  if (st.size > MAX_FILE) fail(`${path} is larger than ${MAX_FILE} bytes`);
  // The stage cache keys on the files a lookup read, as on the playbook's own.
  noteRead({ kind: 'file', path });
  return new TextDecoder('utf-8').decode(readFileSync(path));
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Search paths

function basedir(scope: Scope): string {
  const pb = lookupVar(scope, 'playbook_dir');
  return typeof pb === 'string' ? pb : process.cwd();
}

function searchPaths(scope: Scope): string[] {
  const paths = lookupVar(scope, 'ansible_search_path');
  return Array.isArray(paths) ? paths.map(String) : [basedir(scope)];
}

// Ansible's loader._is_role: a directory that looks like a role or a role's tasks/ directory.
function isRole(path: string): boolean {
  const names = ['tasks/main.yml', 'tasks/main.yaml', 'tasks/main', 'meta/main.yml', 'meta/main.yaml', 'meta/main'];
  if (['main.yml', 'main.yaml', 'main'].some((n) => existsSync(join(path, n)))) return true;
  return names.some((n) => existsSync(join(path, n)) || existsSync(join(dirname(path), n)));
}

function expandUser(p: string): string {
  return p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
}

/** The candidates Ansible's path_dwim_relative_stack tries for `source` under `subdir`, in order. */
export function searchCandidates(scope: Scope, subdir: string, source: string): string[] {
  if (source.startsWith('~') || source.startsWith('/')) return [normalize(expandUser(source))];
  const out: string[] = [];
  const first = source.split('/')[0];
  for (const path of searchPaths(scope)) {
    const upath = normalize(resolve(path));
    const parent = dirname(upath);
    if (isRole(path) && parent.endsWith('/tasks')) {
      out.push(join(dirname(parent), subdir, source), join(parent, source));
    } else {
      if (first !== subdir) out.push(join(upath, subdir, source));
      out.push(join(upath, source));
    }
  }
  const base = basedir(scope);
  if (first !== subdir) out.push(join(base, subdir, source));
  out.push(join(base, source));
  return out;
}

/** Finds a controller file as a lookup does (role dirs, the task's dir, then the playbook's); undefined if absent. */
export function findInSearchPath(scope: Scope, subdir: string, source: string): string | undefined {
  for (const c of searchCandidates(scope, subdir, source)) {
    const there = existsSync(c);
    // A candidate looked at and missing is an input too: a file appearing there later changes what is found.
    noteRead({ kind: 'file', path: c });
    if (there) return c;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

// LookupBase._flatten: one level.
function flatten1(terms: unknown[]): unknown[] {
  return terms.flatMap((t) => (Array.isArray(t) ? t : [t]));
}

// listify_lookup_plugin_terms of an already templated value: a string or scalar becomes a one-item list.
function listify(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isMapping(v)) return Object.keys(v);
  return [v];
}

function boolOpt(v: unknown, name: string): boolean {
  if (typeof v === 'boolean') return v;
  const s = pyStr(v).toLowerCase();
  if (isTrueWord(s)) return true;
  if (isFalseWord(s)) return false;
  fail(`Invalid type for configuration option ${name}: ${pyRepr(v)} is not a valid boolean`);
}

function checkOptions(plugin: string, kwargs: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(kwargs)) {
    if (!known.includes(k)) {
      throw new OptionsError(`Unrecognized options for the '${plugin}' lookup: ${k}`, {
        hint: known.length ? `its options: ${known.join(', ')}` : 'it takes no options',
      });
    }
  }
}

function runCommand(plugin: string, command: string, scope: Scope): { ok: boolean; out: string; code: number } {
  try {
    const out = execFileSync('/bin/sh', ['-c', command], {
      cwd: basedir(scope),
      input: '',
      stdio: ['pipe', 'pipe', 'inherit'],
      timeout: COMMAND_TIMEOUT_MS,
      maxBuffer: MAX_OUTPUT,
    });
    return { ok: true, out: new TextDecoder('utf-8').decode(out), code: 0 };
  } catch (err) {
    const e = err as { status?: number | null; signal?: string | null; code?: string };
    if (e.code === 'ENOBUFS') fail(`lookup_plugin.${plugin}(${command}) printed more than ${MAX_OUTPUT} bytes`);
    if (e.signal === 'SIGTERM' && e.status === null) fail(`lookup_plugin.${plugin}(${command}) ran longer than ${COMMAND_TIMEOUT_MS / 1000}s and was killed`);
    // Python reports a signal as a negative return code.
    return { ok: false, out: '', code: typeof e.status === 'number' ? e.status : -(SIGNALS[e.signal ?? ''] ?? 1) };
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

// Python's int(text, 0): 0x/0o/0b prefixes; a leading zero is an error but for zero itself.
function pyIntBase0(text: string): number | undefined {
  const s = text.trim().replace(/_/g, '');
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0+|[1-9]\d*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  const n = /^0[xXoObB]/.test(body) ? Number(body.toLowerCase()) : Number(body);
  return m[1] === '-' ? -n : n;
}

// ---------------------------------------------------------------------------------------------------------------
// Plugins

function fileLookup(terms: unknown[], kwargs: Record<string, unknown>, { scope }: LookupContext): unknown[] {
  checkOptions('file', kwargs, ['lstrip', 'rstrip']);
  const lstrip = kwargs.lstrip === undefined ? false : boolOpt(kwargs.lstrip, 'lstrip');
  const rstrip = kwargs.rstrip === undefined ? true : boolOpt(kwargs.rstrip, 'rstrip');
  return terms.map((t) => {
    const term = pyStr(t);
    const path = findOrWarn(scope, 'files', term);
    if (path === undefined || !isRegularFile(path)) fail(`could not locate file in lookup: ${term}`);
    let text = readText(path);
    if (lstrip) text = text.replace(/^\s+/, '');
    if (rstrip) text = text.replace(/\s+$/, '');
    return text;
  });
}

function fileglobLookup(terms: unknown[], _kw: Record<string, unknown>, { scope }: LookupContext): unknown[] {
  const out: string[] = [];
  for (const t of terms) {
    const term = pyStr(t);
    const file = basename(term);
    const dirs: Array<string | undefined> = [];
    if (file !== term) dirs.push(findOrWarn(scope, 'files', dirname(term)));
    else for (const p of searchPaths(scope)) dirs.push(join(p, 'files'), p);
    for (const d of dirs) {
      if (d === undefined) continue;
      const found = globFiles(d, file);
      if (found.length) {
        out.push(...found);
        break;
      }
    }
  }
  return out;
}

function pipeLookup(terms: unknown[], _kw: Record<string, unknown>, { scope }: LookupContext): unknown[] {
  return terms.map((t) => {
    const command = pyStr(t);
    const r = runCommand('pipe', command, scope);
    if (!r.ok) fail(`lookup_plugin.pipe(${command}) returned ${r.code}`);
    return r.out.replace(/\s+$/, '');
  });
}

function linesLookup(terms: unknown[], _kw: Record<string, unknown>, { scope }: LookupContext): unknown[] {
  return terms.flatMap((t) => {
    const command = pyStr(t);
    const r = runCommand('lines', command, scope);
    if (!r.ok) fail(`lookup_plugin.lines(${command}) returned ${r.code}`);
    return r.out.split(/\r\n|\n|\r/).filter((l, i, all) => i < all.length - 1 || l !== '');
  });
}

function envLookup(terms: unknown[], kwargs: Record<string, unknown>): unknown[] {
  checkOptions('env', kwargs, ['default']);
  return terms.map((t) => {
    const v = process.env[pyStr(t)];
    if (v !== undefined) return v;
    return Object.hasOwn(kwargs, 'default') ? kwargs.default : '';
  });
}

function varsLookup(terms: unknown[], kwargs: Record<string, unknown>, { scope }: LookupContext): unknown[] {
  checkOptions('vars', kwargs, ['default']);
  return terms.map((t) => {
    if (typeof t !== 'string') fail(`Invalid setting identifier, "${pyStr(t)}" is not a string, its a ${pyTypeName(t)}`);
    const v = resolveVariable(scope, t);
    if (v !== undefined) return v;
    if (Object.hasOwn(kwargs, 'default')) return kwargs.default;
    throw new UndefinedValue(t).error();
  });
}

// Every variable name a task can see, in the order they were layered.
function varNames(scope: Scope): string[] {
  const names = new Set<string>();
  const chain: object[] = [];
  for (let o: object | null = scope; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) chain.push(o);
  for (const o of chain.reverse()) for (const k of Object.keys(o)) names.add(k);
  return [...names];
}

function varnamesLookup(terms: unknown[], _kw: Record<string, unknown>, { scope }: LookupContext): unknown[] {
  const names = varNames(scope);
  return terms.flatMap((t) => {
    if (typeof t !== 'string') fail(`Invalid setting identifier, "${pyStr(t)}" is not a string, it is a ${pyTypeName(t)}`);
    let re: RegExp;
    try {
      re = new RegExp(t, 'u');
    } catch (err) {
      fail(`Unable to use "${t}" as a search parameter: ${(err as Error).message}`);
    }
    return names.filter((n) => re.test(n));
  });
}

function dictLookup(terms: unknown[]): unknown[] {
  return terms.flatMap((t) => {
    if (!isMapping(t)) fail('with_dict expects a dict');
    return Object.entries(t).map(([key, value]) => ({ key, value }));
  });
}

function togetherLookup(terms: unknown[]): unknown[] {
  if (terms.length === 0) fail('with_together requires at least one element in each list');
  const lists = terms.map(listify);
  const n = Math.max(...lists.map((l) => l.length));
  return Array.from({ length: n }, (_, i) => flatten1(lists.map((l) => (i < l.length ? l[i] : null))));
}

function nestedLookup(terms: unknown[]): unknown[] {
  if (terms.length === 0) fail('with_nested requires at least one element in the nested list');
  const lists = terms.map(listify);
  let result: unknown[] = lists[0]!;
  for (const next of lists.slice(1)) {
    const combined: unknown[] = [];
    for (const x of result) for (const y of next) combined.push(flatten1([x, y]));
    if (combined.length > 1_000_000) fail('with_nested: more than 1000000 combinations');
    result = combined;
  }
  return result.map((x) => (Array.isArray(x) ? flatten1(x) : [x]));
}

function subelementsLookup(terms: unknown[]): unknown[] {
  const bad = (msg = ''): never => fail(`subelements lookup expects a list of two or three items, ${msg}`);
  if (terms.length < 2 || terms.length > 3) bad();
  const [firstIn, key, flagsIn = {}] = terms;
  // As listify_lookup_plugin_terms: anything but a list or a dict becomes a list of itself (then fails as no dictionary).
  const first = Array.isArray(firstIn) || isMapping(firstIn) ? firstIn : [firstIn];
  if (typeof key !== 'string') bad('first a dict or a list, second a string pointing to the subkey');
  if (!isMapping(flagsIn) || !Object.keys(flagsIn).every((k) => k === 'skip_missing')) bad("the optional third item must be a dict with flags ('skip_missing',)");
  const flags = flagsIn as Record<string, unknown>;
  let elements: unknown[];
  if (isMapping(first)) {
    if (first.skipped !== undefined && first.skipped !== false) return [];
    elements = Object.values(first);
  } else elements = first as unknown[];
  const path = (key as string).split('.');
  const skipMissing = flags.skip_missing === undefined ? false : boolOpt(flags.skip_missing, 'skip_missing');
  const out: unknown[] = [];
  for (const item0 of elements) {
    if (!isMapping(item0)) fail(`subelements lookup expects a dictionary, got '${pyStr(item0)}'`);
    if (item0.skipped !== undefined && item0.skipped !== false) continue;
    let sub: Record<string, unknown> = item0;
    let list: unknown[] = [];
    for (const [i, k] of path.entries()) {
      const last = i === path.length - 1;
      if (!Object.hasOwn(sub, k)) {
        if (skipMissing) continue;
        fail(`could not find '${k}' key in iterated item '${pyStr(sub)}'`);
      }
      const v = sub[k];
      if (!last) {
        if (!isMapping(v)) {
          if (skipMissing) continue;
          fail(`the key ${k} should point to a dictionary, got '${pyStr(v)}'`);
        }
        sub = v;
      } else {
        if (!Array.isArray(v)) fail(`the key ${k} should point to a list, got '${pyStr(v)}'`);
        list = v;
      }
    }
    // Ansible pops the subkey off the parent it yields (a copy here, so the variable itself is left whole).
    const parent = withoutPath(item0, path);
    for (const item1 of list) out.push(tuple([parent, item1]));
  }
  return out;
}

// A copy of o without the list at path (nested dicts copied along the way); o itself if it has none.
function withoutPath(o: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const [k, ...more] = path;
  if (!Object.hasOwn(o, k!)) return o;
  const v = o[k!];
  if (more.length === 0) {
    if (!Array.isArray(v)) return o;
    const { [k!]: _gone, ...rest } = o;
    return rest;
  }
  return isMapping(v) ? { ...o, [k!]: withoutPath(v, more) } : o;
}

function sequenceLookup(terms: unknown[]): unknown[] {
  const out: string[] = [];
  for (const t of terms) {
    const term = pyStr(t);
    let start = 1;
    let end: number | undefined;
    let count: number | undefined;
    let stride = 1;
    let format = '%d';
    const m = /^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(\/(0?x?[0-9a-f]+))?(:(.+))?$/is.exec(term);
    const int = (name: string, v: string) => pyIntBase0(v) ?? fail(`can't parse ${name}=${v} as integer`);
    if (m) {
      if (m[2] !== undefined) start = int('start', m[2]);
      end = int('end', m[3]!);
      if (m[5] !== undefined) stride = int('stride', m[5]);
      if (m[7] !== undefined) format = m[7];
    } else {
      let kv: Record<string, unknown>;
      try {
        kv = parseKv(term);
      } catch (err) {
        fail(`unknown error parsing with_sequence arguments: ${pyRepr(term)}. Error was: ${(err as Error).message}`);
      }
      for (const k of ['start', 'end', 'count', 'stride'] as const) {
        if (kv[k] === undefined) continue;
        const v = int(k, String(kv[k]));
        if (k === 'start') start = v;
        else if (k === 'end') end = v;
        else if (k === 'count') count = v;
        else stride = v;
        delete kv[k];
      }
      if (kv.format !== undefined) {
        format = String(kv.format);
        delete kv.format;
      }
      const rest = Object.keys(kv);
      if (rest.length) fail(`unrecognized arguments to with_sequence: [${rest.map((k) => pyRepr(k)).join(', ')}]`);
    }
    if (count === undefined && end === undefined) fail('must specify count or end in with_sequence');
    if (count !== undefined && end !== undefined) fail("can't specify both count and end in with_sequence");
    if (count !== undefined) {
      if (count !== 0) end = start + count * stride - 1;
      else [start, end, stride] = [0, 0, 0];
    }
    if (stride > 0 && end! < start) fail('to count backwards make stride negative');
    if (stride < 0 && end! > start) fail("to count forward don't make stride negative");
    if (format.split('%').length - 1 !== 1) fail(`bad formatting string: ${format}`);
    if (stride === 0) continue;
    const stop = end! + (stride > 0 ? 1 : -1);
    const n = Math.max(0, Math.ceil((stop - start) / stride));
    if (out.length + n > 1_000_000) fail('with_sequence: more than 1000000 items');
    for (let i = start; stride > 0 ? i < stop : i > stop; i += stride) {
      try {
        out.push(printf(format, i));
      } catch {
        fail(`problem formatting ${i} with ${pyRepr(format)}`);
      }
    }
  }
  return out;
}

function templateLookup(terms: unknown[], kwargs: Record<string, unknown>, { scope }: LookupContext): unknown[] {
  checkOptions('template', kwargs, ['convert_data', 'template_vars', 'jinja2_native', 'variable_start_string', 'variable_end_string', 'comment_start_string', 'comment_end_string']);
  for (const [k, dflt] of [['variable_start_string', '{{'], ['variable_end_string', '}}'], ['comment_start_string', '{#'], ['comment_end_string', '#}']] as const) {
    if (kwargs[k] !== undefined && kwargs[k] !== dflt) {
      throw new TemplateError(`the template lookup's ${k} is not implemented in imgplay`, { hint: 'the template engine reads only the default delimiters ({{ }}, {% %}, {# #})' });
    }
  }
  const convert = kwargs.convert_data === undefined ? true : boolOpt(kwargs.convert_data, 'convert_data');
  const extra = kwargs.template_vars ?? {};
  if (!isMapping(extra)) fail(`Invalid type for configuration option template_vars: ${pyTypeName(extra)} is not a dict`);
  return terms.map((t) => {
    const term = pyStr(t);
    const path = findOrWarn(scope, 'templates', term);
    if (path === undefined) fail(`the template file ${term} could not be found for the lookup`);
    const text = readText(path);
    const vars = Object.assign(Object.create(scope) as Record<string, unknown>, templateVars(term, path), extra);
    return convert ? renderer().templateValue(text, vars, { file: true }) : renderer().renderString(text, vars, { file: true });
  });
}

/** The variables Ansible adds while rendering a template file (generate_ansible_template_vars), those imgplay has. */
export function templateVars(path: string, fullpath: string, destpath?: string): Record<string, unknown> {
  return {
    template_host: hostName(),
    template_path: path,
    template_fullpath: resolve(fullpath),
    template_uid: ownerName(fullpath),
    template_destpath: destpath ?? null,
    // DEFAULT_MANAGED_STR: 'Ansible managed', a strftime format ({host}, {uid}, {file} formatted in first).
    ansible_managed: 'Ansible managed',
  };
}

function hostName(): string {
  try {
    return readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  } catch {
    return 'localhost';
  }
}

function ownerName(path: string): string {
  const uid = statSync(path).uid;
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && Number(f[2]) === uid) return f[0]!;
    }
  } catch {
    // no passwd file: the number, as Ansible falls back to
  }
  return String(uid);
}

function firstFoundLookup(terms: unknown[], kwargs: Record<string, unknown>, ctx: LookupContext): unknown[] {
  checkOptions('first_found', kwargs, ['files', 'paths', 'skip']);
  let skip = false;
  const collect = (list: unknown[]): string[] => {
    let total: string[] = [];
    for (const term of list) {
      let opts: Record<string, unknown>;
      if (isMapping(term)) opts = term;
      else if (typeof term === 'string') opts = kwargs;
      else if (Array.isArray(term)) {
        total.push(...collect(term));
        continue;
      } else fail(`Invalid term supplied, can handle string, mapping or list of strings but got: ${pyTypeName(term)} for ${pyStr(term)}`);
      for (const k of Object.keys(opts)) if (!['files', 'paths', 'skip'].includes(k)) throw new OptionsError(`Unrecognized options for the 'first_found' lookup: ${k}`);
      const files = splitOn(opts.files ?? [], ',;');
      const paths = splitOn(opts.paths ?? [], ',:;');
      skip = opts.skip === undefined ? false : boolOpt(opts.skip, 'skip');
      if (paths.length) for (const p of paths) for (const f of files) total.push(join(p, f));
      else if (files.length) total = files;
      else total.push(term as string);
    }
    return total;
  };
  const candidates = collect(terms);
  for (const c of candidates) {
    let name: unknown;
    try {
      name = renderer().templateValue(c, ctx.scope);
    } catch (err) {
      // An undefined name falls through to the next candidate.
      if (err instanceof UndefinedVariableError) continue;
      throw err;
    }
    const path = findInSearchPath(ctx.scope, ctx.subdir ?? 'files', pyStr(name));
    if (path !== undefined) return [path];
  }
  if (skip) return [];
  failHandled('No file was found when using first_found.');
}

// first_found's _split_on: strings split on any of the characters; lists of strings split item by item.
function splitOn(v: unknown, chars: string): string[] {
  if (typeof v === 'string') return v.split(new RegExp(`[${chars.replace(/[\\\]^-]/g, '\\$&')}]`));
  if (Array.isArray(v)) return v.flatMap((x) => splitOn(x, chars));
  fail(`Invalid type for first_found's files or paths: ${pyTypeName(v)}`);
}

const PASSWORD_PARAMS = ['length', 'encrypt', 'chars', 'ident', 'seed'];
const STRING_SETS: Record<string, string> = {
  ascii_letters: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ascii_lowercase: 'abcdefghijklmnopqrstuvwxyz',
  ascii_uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  hexdigits: '0123456789abcdefABCDEF',
  octdigits: '01234567',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  printable: '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~ \t\n\r\x0b\x0c',
  whitespace: ' \t\n\r\x0b\x0c',
};

function passwordLookup(terms: unknown[], kwargs: Record<string, unknown>, { scope }: LookupContext): unknown[] {
  checkOptions('password', kwargs, PASSWORD_PARAMS);
  return terms.map((t) => {
    const term = pyStr(t);
    const space = term.indexOf(' ');
    const relpath = space < 0 ? term : term.slice(0, space);
    const inline = space < 0 ? {} : (() => {
      try {
        return parseKv(term.slice(space + 1));
      } catch {
        fail('Unrecognized value after key=value parameters given to password lookup');
      }
    })();
    const bad = Object.keys(inline).filter((k) => !PASSWORD_PARAMS.includes(k));
    if (bad.length) fail(`Unrecognized parameter(s) given to password lookup: ${bad.join(', ')}`);
    const p = { ...kwargs, ...inline };
    const length = Number(pyStr(p.length ?? 20));
    if (!Number.isInteger(length) || length < 0 || length > 1_000_000) fail(`invalid literal for int() with base 10: ${pyRepr(pyStr(p.length))}`);
    const encrypt = p.encrypt === undefined || p.encrypt === null ? undefined : pyStr(p.encrypt);
    let chars: string[] = ['ascii_letters', 'digits', '.,:-_'];
    if (typeof p.chars === 'string') {
      chars = [];
      if (p.chars.includes(',,')) chars.push(',');
      chars.push(...p.chars.replace(/,,/g, ',').split(',').filter((c) => c));
    } else if (Array.isArray(p.chars)) chars = p.chars.map(pyStr);
    const candidates = chars.map((c) => STRING_SETS[c] ?? c).join('').replace(/["']/g, '');
    const path = isAbsolute(relpath) ? relpath : join(basedir(scope), relpath);
    const devNull = path === '/dev/null';
    let content: string | undefined;
    if (!devNull && existsSync(path)) content = readText(path).replace(/\s+$/, '');
    let plain: string;
    let salt: string | undefined;
    let ident: string | undefined;
    let changed = false;
    if (content === undefined) {
      if (candidates.length === 0) fail('Cannot choose from an empty sequence');
      // The seed option is of type str: 42 seeds as '42' does.
      const rng = p.seed === undefined || p.seed === null ? undefined : new PyRandom(pyStr(p.seed));
      plain = Array.from({ length }, () => candidates[rng ? rng.randbelow(candidates.length) : secureBelow(candidates.length)]).join('');
      changed = true;
    } else [plain, salt, ident] = parseContent(content);
    if (encrypt && !salt) {
      salt = randomSalt(SALT_SIZE[encrypt] ?? 8);
      changed = true;
    }
    const wantIdent = p.ident === undefined || p.ident === null ? undefined : pyStr(p.ident);
    if (encrypt && wantIdent && ident && wantIdent !== ident) fail(`The ident parameter provided (${wantIdent}) does not match the stored one (${ident}).`);
    ident ??= wantIdent ?? (encrypt === 'bcrypt' ? '2b' : undefined);
    if (changed && !devNull) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, `${formatContent(plain, salt, encrypt, ident)}\n`, { mode: 0o600 });
      chmodSync(path, 0o600);
    }
    return encrypt ? passwordHash(plain, encrypt, salt, undefined, ident) : plain;
  });
}

const SALT_SIZE: Record<string, number> = { md5_crypt: 8, bcrypt: 22, sha256_crypt: 16, sha512_crypt: 16 };

function parseContent(content: string): [string, string | undefined, string | undefined] {
  const at = content.lastIndexOf(' salt=');
  if (at < 0) return [content, undefined, undefined];
  const rem = content.slice(at + 6);
  const id = rem.lastIndexOf(' ident=');
  return id < 0 ? [content.slice(0, at), rem || undefined, undefined] : [content.slice(0, at), rem.slice(0, id), rem.slice(id + 7)];
}

function formatContent(password: string, salt: string | undefined, encrypt: string | undefined, ident: string | undefined): string {
  if (!encrypt && !salt) return password;
  return ident ? `${password} salt=${salt} ident=${ident}` : `${password} salt=${salt}`;
}

const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./';

/** A random salt of Ansible's alphabet (letters, digits, `./`). */
export function randomSalt(length: number): string {
  return Array.from({ length }, () => SALT_CHARS[secureBelow(SALT_CHARS.length)]).join('');
}

/** A uniformly chosen integer in [0, n) from the system's secure generator (SystemRandom). */
export function secureBelow(n: number): number {
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  for (;;) {
    const buf = new Uint32Array(1);
    crypto.getRandomValues(buf);
    if (buf[0]! < limit) return buf[0]! % n;
  }
}

function randomChoiceLookup(terms: unknown[]): unknown[] {
  return terms.length ? [terms[secureBelow(terms.length)]] : terms;
}

function refuse(name: string, why: string): Plugin {
  return () => {
    throw new TemplateError(`the '${name}' lookup is not implemented in imgplay`, { hint: why });
  };
}

const PLUGINS: Record<string, Plugin> = {
  dict: dictLookup,
  env: envLookup,
  file: fileLookup,
  fileglob: fileglobLookup,
  first_found: firstFoundLookup,
  flattened: (terms) => flattenAll(terms),
  indexed_items: (terms) => flatten1(terms).map((v, i) => tuple([i, v])),
  items: (terms) => flatten1(terms),
  lines: linesLookup,
  list: (terms) => terms,
  nested: nestedLookup,
  password: passwordLookup,
  pipe: pipeLookup,
  random_choice: randomChoiceLookup,
  sequence: sequenceLookup,
  subelements: subelementsLookup,
  template: templateLookup,
  together: togetherLookup,
  varnames: varnamesLookup,
  vars: varsLookup,
  url: refuse('url', 'imgplay reaches no network but 127.0.0.1; download with get_url in a task, or keep the file beside the playbook and read it with lookup(\'file\')'),
  csvfile: refuse('csvfile', 'read the file with lookup(\'file\') and split it with filters'),
  ini: refuse('ini', 'read the file with lookup(\'file\') and parse it with regex_search'),
  unvault: refuse('unvault', 'imgplay has no vault support'),
  config: refuse('config', 'imgplay reads no ansible.cfg'),
  inventory_hostnames: refuse('inventory_hostnames', "use groups['name'] or the play's host list"),
};

// community.general's flattened (ansible-core 2.14 redirects to it): every level; the strings 'None' and 'null'
// end the list; a list of one list is its item.
function flattenAll(terms: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (let t of terms) {
    while (Array.isArray(t) && t.length === 1) t = t[0];
    if (t === 'None' || t === 'null') break;
    if (Array.isArray(t)) out.push(...flattenAll(t));
    else out.push(t);
  }
  return out;
}

/** The names of the lookups imgplay implements. */
export const LOOKUP_NAMES = Object.keys(PLUGINS).filter((n) => !['url', 'csvfile', 'ini', 'unvault', 'config', 'inventory_hostnames'].includes(n));

/** True if imgplay has (or knowingly refuses) this lookup. */
export function hasLookup(name: string): boolean {
  return Object.hasOwn(PLUGINS, name.replace(/^ansible\.(builtin|legacy)\./, ''));
}

/** Runs a lookup plugin for `lookup()`/`query()`: the options wantlist and errors apply, the result is joined for
 *  lookup() as Ansible's Templar._lookup does. */
export function runLookup(name: unknown, terms: unknown[], kwargs: Record<string, unknown>, scope: Scope, joined: boolean): unknown {
  const short = typeof name === 'string' ? name.replace(/^ansible\.(builtin|legacy)\./, '') : undefined;
  const plugin = short === undefined ? undefined : PLUGINS[short];
  if (!plugin) {
    throw new TemplateError(`lookup plugin (${pyStr(name)}) not found`, { hint: `imgplay has the lookups: ${LOOKUP_NAMES.join(', ')}` });
  }
  const { wantlist, errors = 'strict', allow_unsafe: allowUnsafe, ...options } = kwargs;
  const wantList = !joined || truthy(wantlist ?? false);
  let ran: unknown[];
  try {
    // The arguments are the terms as given: lookup('items', [1, 2]) has one term, a list (the plugin flattens it).
    ran = plugin(terms, options, { scope });
  } catch (err) {
    // errors=warn/ignore covers what the plugin failed at, not undefined variables or unknown options.
    if ((errors === 'ignore' || errors === 'warn') && !(err instanceof UndefinedVariableError) && !(err instanceof OptionsError)) {
      if (errors === 'warn') {
        const message = (err as Error).message;
        warn(
          err instanceof LookupError && err.handled
            ? `Lookup failed but the error is being ignored: ${message}`
            : `An unhandled exception occurred while running the lookup plugin '${name}'. Error was a <class 'ansible.errors.AnsibleError'>, original message: ${message}`,
        );
      }
      return wantList ? [] : null;
    }
    throw err;
  }
  // allow_unsafe other than false (Ansible tests `is False`): the plugin's list as it is, not joined, not data.
  if (allowUnsafe !== undefined && allowUnsafe !== false) return ran;
  const result = markUnsafe(ran);
  // A lookup's result is data (Ansible's taint): what the template makes of it is never templated again.
  if (ran.length > 0) noteUnsafeUse();
  if (wantList || ran.length === 0) return result;
  if (ran.every((v) => typeof v === 'string')) return ran.join(',');
  return ran.length === 1 ? ran[0] : result;
}

/** The items of a `with_<lookup>` loop: the plugin run on the templated terms (a string or scalar is one term). */
export function withLookupItems(name: string, value: unknown, scope: Scope, action: string): unknown[] {
  const plugin = PLUGINS[name];
  if (!plugin) throw new TemplateError(`with_${name} is not supported by imgplay`);
  const subdir = (['template', 'var', 'file'].find((s) => action.includes(s)) ?? 'file') + 's';
  const terms = typeof value === 'string' || !(Array.isArray(value) || isMapping(value)) ? [value] : Array.isArray(value) ? value : [value];
  // Items are data, as Ansible wraps them unsafe: a `{{` in a file's text or a dict's value is never rendered.
  return plugin(terms, {}, { scope, subdir }).map((item) => (typeof item === 'string' ? markUnsafeText(item) : markUnsafe(item)));
}

bindLookups(runLookup);
