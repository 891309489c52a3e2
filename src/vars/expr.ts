// The expression language of Ansible conditions and `{{ }}` templates: a safe subset of Jinja2, tokenized and parsed
// once into a small AST, then evaluated with Python's semantics (1 == 1.0, '' is false, // floors, 6 / 2 is 3.0)
// and Jinja's lazy undefined handling. Never uses JavaScript eval or new Function.
import { noteRead, readsObserved } from './reads.js';
import { randomBytes } from 'node:crypto';
import { didYouMean, ImgplayError, InternalError, TemplateError, UndefinedVariableError } from '../errors.js';
import { callFilter, callTest, filterNames, hasFilter, hasTest, testNames, type CallEnv } from './filters.js';
import { callGlobal } from './globals.js';
import { runLookup } from './lookups.js';
import { isTemplate, templateValue } from './template.js';

/** Ansible's `omit`: module arguments equal to it are dropped by the executor. */
export const OMIT = `__omit_place_holder__${randomBytes(20).toString('hex')}`;

// ---------------------------------------------------------------------------------------------------------------
// Values: Python's types mapped onto JavaScript ones. str = string, int = integral number, float = non-integral
// number or PyFloat (an integral float such as 3.0, kept apart so it prints as Python prints it), bool = boolean,
// None = null, list = array, tuple = array registered in `tuples`, dict = plain object.

/** An integral float (3.0): Python prints it with '.0', so it must not collapse into the int 3 while evaluating. */
export class PyFloat {
  constructor(readonly value: number) {}
}

let floatsMade = 0;

/** A Python float from a JS number: integral values are boxed so they keep printing as floats. */
export function pyFloat(n: number): number | PyFloat {
  if (!Number.isInteger(n)) return n;
  floatsMade++;
  return new PyFloat(n);
}

const tuples = new WeakSet<readonly unknown[]>();

/** Marks an array as a Python tuple (it prints as `('a', 1)`). */
export function tuple<T extends unknown[]>(items: T): T {
  tuples.add(items);
  return items;
}

/** True for arrays made by tuple(). */
export function isTuple(value: unknown): boolean {
  return Array.isArray(value) && tuples.has(value);
}

/** `v` with every tuple inside made a list, as a task's result is once it has crossed Ansible's worker queue
 *  (a registered value or a fact set from `zip(...) | list` holds lists); unchanged parts are kept as they are. */
export function tuplesAsLists(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(tuplesAsLists);
    return isTuple(v) || items.some((x, i) => x !== v[i]) ? items : v;
  }
  if (v === null || typeof v !== 'object') return v;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return v;
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = tuplesAsLists(x);
    if (out[k] !== x) changed = true;
  }
  return changed ? out : v;
}

/** A variable, key or attribute that does not exist: it travels through `.x` and `[y]` so `is defined` can see it. */
export class UndefinedValue {
  #reason: string | (() => string) | undefined;
  constructor(
    readonly path: string,
    reason?: string | (() => string),
  ) {
    this.#reason = reason;
  }
  // Described only when an error is raised: `x.nope | default(...)` must not print x (a host's variables, say).
  get reason(): string | undefined {
    if (typeof this.#reason === 'function') this.#reason = this.#reason();
    return this.#reason;
  }
  /** The error a use of this value raises. */
  error(): UndefinedVariableError {
    return new UndefinedVariableError(this.path, this.reason === undefined ? {} : { hint: this.reason });
  }
}

const unsafeValues = new WeakSet<object>();

/** Marks a value (a registered result, gathered facts) as data that must never be templated again, as Ansible's
 *  AnsibleUnsafe does: a `{{` in a command's stdout stays text. */
export function markUnsafe<T>(value: T): T {
  if (typeof value === 'object' && value !== null) unsafeValues.add(value);
  return value;
}

/** True for values passed to markUnsafe(). */
export function isUnsafe(value: unknown): boolean {
  return typeof value === 'object' && value !== null && unsafeValues.has(value);
}

/** Python's truthiness: '', 0, 0.0, [], {}, None and False are false. Using an undefined value is an error. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return false;
  if (v === true) return true;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (v instanceof PyFloat) return v.value !== 0;
  if (v instanceof UndefinedValue) throw v.error();
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** True for ints, floats and bools (a bool is an int in Python). */
export function isNumber(v: unknown): v is number | boolean | PyFloat {
  return typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat;
}

/** True for Python floats (3.5, 3.0), false for ints. */
export function isFloat(v: unknown): boolean {
  return v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));
}

/** The number inside an int, float or bool. */
export function num(v: number | boolean | PyFloat): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v.value;
}

/** True for dicts (plain objects), false for lists, None and scalars. */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyFloat) && !(v instanceof UndefinedValue);
}

/** Python's type name, for messages and the type_debug filter. */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (v instanceof PyFloat) return 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return isTuple(v) ? 'tuple' : 'list';
  if (v instanceof UndefinedValue) return 'AnsibleUndefined';
  return 'dict';
}

/** Python's ==: 1 == 1.0 == True, '1' != 1, lists and dicts compared deeply, a tuple never equals a list. */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (a instanceof UndefinedValue) throw a.error();
  if (b instanceof UndefinedValue) throw b.error();
  if (isNumber(a) && isNumber(b)) return num(a) === num(b);
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || isTuple(a) !== isTuple(b) || a.length !== b.length) return false;
    return a.every((x, i) => pyEquals(x, b[i]));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const bo = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(bo, k) && pyEquals((a as Record<string, unknown>)[k], bo[k]));
}

/** Python's ordering (<, <=, >, >=) for numbers, strings and lists; other mixes are a TypeError, as in Python. */
export function pyCompare(a: unknown, b: unknown, op: '<' | '<=' | '>' | '>=' = '<'): number {
  if (a instanceof UndefinedValue) throw a.error();
  if (b instanceof UndefinedValue) throw b.error();
  if (isNumber(a) && isNumber(b)) return Math.sign(num(a) - num(b));
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i], op);
    }
    return Math.sign(a.length - b.length);
  }
  throw new TemplateError(`'${op}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

/** Python's repr of a float: 3.0, 0.1, 1e+16, 1.5e-07, inf. */
export function formatFloat(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const [mant = '', expText = '0'] = n.toExponential().split('e');
  const exp = Number(expText);
  const digits = mant.replace('-', '').replace('.', '');
  const sign = n < 0 ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return `${sign}${digits.padEnd(intLen, '0')}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}

function formatInt(n: number): string {
  // Python ints are exact: 2 ** 64 prints every digit, where String() would round to 17 significant ones.
  return Math.abs(n) < 2 ** 53 ? String(n) : BigInt(n).toString();
}

const nonPrintable = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's repr of a str: single quotes unless the text holds a ' and no ". */
export function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x7f && c >= 0x20) out += ch;
    else if (ch !== ' ' && nonPrintable.test(ch)) {
      out += c < 0x100 ? `\\x${hex(c, 2)}` : c < 0x10000 ? `\\u${hex(c, 4)}` : `\\U${hex(c, 8)}`;
    } else out += ch;
  }
  return out + quote;
}

function hex(c: number, width: number): string {
  return c.toString(16).padStart(width, '0');
}

/** Python's str(): what `~`, join and string interpolation print. None is 'None' here. */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? formatInt(v) : formatFloat(v);
  return pyRepr(v);
}

/** Python's repr(): how values print inside lists and dicts: ['a', 1, True, None]. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'string') return reprString(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? formatInt(v) : formatFloat(v);
  if (v instanceof PyFloat) return formatFloat(v.value);
  if (v instanceof UndefinedValue) throw v.error();
  if (Array.isArray(v)) {
    const inner = v.map(pyRepr).join(', ');
    if (!isTuple(v)) return `[${inner}]`;
    return v.length === 1 ? `(${inner},)` : `(${inner})`;
  }
  if (typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${reprString(k)}: ${pyRepr(x)}`).join(', ')}}`;
  }
  return String(v);
}

/** Replaces the boxed floats of a result by plain numbers, copying only what holds one. */
export function toPlain(v: unknown): unknown {
  if (v instanceof PyFloat) return v.value;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    v.forEach((x, i) => {
      const p = toPlain(x);
      if (p !== x) (out ??= v.slice())[i] = p;
    });
    return out ? (isTuple(v) ? tuple(out) : out) : v;
  }
  if (isMapping(v)) {
    let out: Record<string, unknown> | undefined;
    for (const [k, x] of Object.entries(v)) {
      const p = toPlain(x);
      if (p !== x) (out ??= { ...v })[k] = p;
    }
    return out ?? v;
  }
  return v;
}

/** Looks a name up in a variables object, following its prototype chain (layered scopes) but never into
 *  Object.prototype, so `constructor` or `toString` are not variables. */
export function lookupVar(scope: object, name: string): unknown {
  for (let o: object | null = scope; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    if (Object.hasOwn(o, name)) return (o as Record<string, unknown>)[name];
  }
  return undefined;
}

/** `obj[key]` the way Jinja does it: list and string indexes (negative from the end), dict keys; MISSING if absent. */
export function getItem(obj: unknown, key: unknown): unknown {
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (isNumber(key) && typeof key !== 'boolean' && Number.isInteger(num(key))) {
      let i = num(key);
      if (i < 0) i += obj.length;
      return i >= 0 && i < obj.length ? obj[i] : MISSING;
    }
    return MISSING;
  }
  if (isMapping(obj)) {
    const k = typeof key === 'string' ? key : isNumber(key) || key === null ? pyStr(key) : undefined;
    if (k === undefined || !Object.hasOwn(obj, k)) return MISSING;
    const value = obj[k];
    return value === undefined ? MISSING : value;
  }
  return MISSING;
}

/** Sets a dict key, including one named `__proto__`, which plain assignment would treat as the prototype. */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** The marker getItem() returns for a key that is not there. */
export const MISSING: unique symbol = Symbol('missing');

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer

/** One token of an expression; positions are offsets into the source text. */
export interface Token {
  type: 'name' | 'string' | 'int' | 'float' | 'op' | 'end';
  value: string;
  pos: number;
  end: number;
  /** Decoded value of a string, int or float token. */
  literal?: string | number | PyFloat;
}

/** An expression that does not parse; `offset` is where in the source text the problem is. */
export class ExprSyntaxError extends TemplateError {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(reason);
  }
}

const OPERATORS = ['//', '**', '==', '!=', '<=', '>=', '+', '-', '*', '/', '%', '~', '<', '>', '=', '(', ')', '[', ']', '{', '}', '.', ',', ':', '|'];
const NAME_RE = /[\p{L}_][\p{L}\p{N}_]*/uy;
const NUMBER_RE = /0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[0-9a-fA-F])+|\d(?:_?\d)*(\.\d(?:_?\d)*)?([eE][+-]?\d(?:_?\d)*)?/y;
const INT_ONLY_RE = /\d(?:_?\d)*/y;
const SPACE_RE = /\s+/y;

/** Where tokenizing stopped: after the closing delimiter, and whether it asked to strip the whitespace after it. */
export interface TokenRun {
  tokens: Token[];
  /** Offset just past the closing delimiter (or the end of the text when there is none). */
  end: number;
  /** The delimiter was written `-}}` or `-%}`. */
  trimAfter: boolean;
  /** The delimiter was written `+%}`: trim_blocks does not apply to it. */
  keepAfter: boolean;
}

/**
 * Tokenizes from `start` until `stop` (a closing delimiter such as '}}' or '%}', `opener` naming its opening one in
 * errors) at bracket depth 0, or to the end of the text when stop is
 * undefined. `rawStrings` keeps backslashes in string literals as written, as Ansible does inside task arguments
 * (it doubles them before Jinja sees them); otherwise Python's escapes apply ('\n' is a newline).
 */
export function tokenize(src: string, start = 0, stop?: string, rawStrings = false, opener?: string): TokenRun {
  const tokens: Token[] = [];
  let i = start;
  let depth = 0;
  const brackets: number[] = [];
  for (;;) {
    SPACE_RE.lastIndex = i;
    if (SPACE_RE.test(src)) i = SPACE_RE.lastIndex;
    if (stop !== undefined && depth === 0) {
      if (src.startsWith(stop, i)) return finish(i, i + stop.length, false, false);
      if ((src[i] === '-' || src[i] === '+') && src.startsWith(stop, i + 1)) return finish(i, i + 1 + stop.length, src[i] === '-', src[i] === '+');
    }
    if (i >= src.length) {
      if (stop !== undefined) {
        const open = opener ?? (stop === '}}' ? '{{' : stop === '%}' ? '{%' : 'the tag');
        throw new ExprSyntaxError(`'${open}' is never closed: expected '${stop}'`, start);
      }
      if (depth > 0) {
        const at = brackets[brackets.length - 1]!;
        throw new ExprSyntaxError(`'${src[at]}' is never closed`, at);
      }
      return finish(i, i, false, false);
    }
    const c = src[i]!;
    if (c === "'" || c === '"') {
      tokens.push(readString(src, i, rawStrings));
      i = tokens[tokens.length - 1]!.end;
      continue;
    }
    const prev = tokens[tokens.length - 1];
    const afterDot = prev !== undefined && prev.type === 'op' && prev.value === '.';
    const numRe = afterDot ? INT_ONLY_RE : NUMBER_RE;
    numRe.lastIndex = i;
    const m = numRe.exec(src);
    if (m) {
      tokens.push(numberToken(m[0], i, afterDot ? false : m[1] !== undefined || m[2] !== undefined));
      i += m[0].length;
      continue;
    }
    NAME_RE.lastIndex = i;
    const n = NAME_RE.exec(src);
    if (n) {
      tokens.push({ type: 'name', value: n[0], pos: i, end: i + n[0].length });
      i += n[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new ExprSyntaxError(`unexpected character '${c}'`, i);
    if (op === '(' || op === '[' || op === '{') {
      depth++;
      brackets.push(i);
    } else if (op === ')' || op === ']' || op === '}') {
      const at = brackets.pop();
      const want = at === undefined ? undefined : ({ '(': ')', '[': ']', '{': '}' } as const)[src[at] as '(' | '[' | '{'];
      if (want !== op) {
        throw new ExprSyntaxError(
          want === undefined ? `unexpected '${op}'` : `expected '${want}' to close '${src[at!]}', found '${op}'`,
          i,
        );
      }
      depth--;
    }
    tokens.push({ type: 'op', value: op, pos: i, end: i + op.length });
    i += op.length;
  }

  function finish(at: number, end: number, trimAfter: boolean, keepAfter: boolean): TokenRun {
    tokens.push({ type: 'end', value: '', pos: at, end: at });
    return { tokens, end, trimAfter, keepAfter };
  }
}

function numberToken(text: string, pos: number, isFloat: boolean): Token {
  const clean = text.replace(/_/g, '');
  const end = pos + text.length;
  if (isFloat) return { type: 'float', value: text, pos, end, literal: pyFloat(Number(clean)) };
  const radix = /^0[bB]/.test(clean) ? 2 : /^0[oO]/.test(clean) ? 8 : /^0[xX]/.test(clean) ? 16 : 10;
  const value = radix === 10 ? Number(clean) : parseInt(clean.slice(2), radix);
  return { type: 'int', value: text, pos, end, literal: value };
}

function readString(src: string, start: number, raw: boolean): Token {
  const quote = src[start]!;
  let i = start + 1;
  while (i < src.length && src[i] !== quote) i += src[i] === '\\' ? 2 : 1;
  if (i >= src.length) throw new ExprSyntaxError('string is never closed', start);
  const body = src.slice(start + 1, i);
  return { type: 'string', value: src.slice(start, i + 1), pos: start, end: i + 1, literal: raw ? body : pythonUnescape(body) };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '',
};

/** Decodes Python's string escapes (what Jinja applies to string literals); unknown escapes stay as written. */
export function pythonUnescape(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|[\s\S])/g, (all, e: string) => {
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) return simple;
    if (/^[0-7]/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), 16));
    return all;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// AST

/** A call's arguments; `star` and `dstar` are Jinja's `*list` and `**dict` spread after them. */
type Args = { args: Expr[]; kwargs: [string, Expr][]; star?: Expr; dstar?: Expr };
/** Comparison operators of a chained comparison. */
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

/** A parsed expression. `text` on path nodes is the source as written, used to name undefined variables. */
export type Expr =
  | { t: 'lit'; value: unknown; pos: number }
  | { t: 'name'; name: string; pos: number }
  | { t: 'attr'; obj: Expr; name: string; pos: number; text: string }
  | { t: 'item'; obj: Expr; key: Expr; pos: number; text: string }
  | { t: 'slice'; obj: Expr; start: Expr | null; stop: Expr | null; step: Expr | null; pos: number }
  | { t: 'list' | 'tuple'; items: Expr[]; pos: number }
  | { t: 'dict'; keys: Expr[]; values: Expr[]; pos: number }
  | { t: 'not' | 'neg' | 'pos'; arg: Expr; pos: number }
  | { t: 'and' | 'or'; left: Expr; right: Expr; pos: number }
  | { t: 'bin'; op: '+' | '-' | '*' | '/' | '//' | '%' | '**'; left: Expr; right: Expr; pos: number }
  | { t: 'concat'; parts: Expr[]; pos: number }
  | { t: 'compare'; first: Expr; ops: { op: CompareOp; expr: Expr }[]; pos: number }
  | { t: 'cond'; test: Expr; then: Expr; else: Expr | null; pos: number }
  | ({ t: 'filter'; name: string; arg: Expr; pos: number; text: string } & Args)
  | ({ t: 'test'; name: string; arg: Expr; negated: boolean; pos: number } & Args)
  | ({ t: 'call'; callee: Expr; pos: number } & Args);

const COLLECTION_PREFIXES = ['ansible.builtin.', 'ansible.legacy.', 'community.general.', 'ansible.utils.'];

function stripCollection(name: string): string {
  const p = COLLECTION_PREFIXES.find((c) => name.startsWith(c));
  return p === undefined ? name : name.slice(p.length);
}

/** Recursive-descent parser for Jinja's expression grammar (same precedence as jinja2/parser.py). */
export class ExprParser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
  ) {}

  /** The next token, not consumed. */
  peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]!;
  }

  /** Consumes and returns the next token. */
  next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  /** True if the next token is the given operator or name. */
  at(value: string, type: Token['type'] = 'op'): boolean {
    const t = this.peek();
    return t.type === type && t.value === value;
  }

  /** Consumes a token if it is the given operator or name. */
  skip(value: string, type: Token['type'] = 'op'): boolean {
    if (!this.at(value, type)) return false;
    this.next();
    return true;
  }

  /** Consumes the given operator or fails saying what was expected. */
  expect(value: string, what = `'${value}'`, type: Token['type'] = 'op'): Token {
    if (!this.at(value, type)) this.fail(`expected ${what}`);
    return this.next();
  }

  /** Consumes a name token or fails. */
  expectName(what: string): string {
    const t = this.peek();
    if (t.type !== 'name') this.fail(`expected ${what}`);
    return this.next().value;
  }

  /** True once every token is consumed. */
  atEnd(): boolean {
    return this.peek().type === 'end';
  }

  /** Fails unless every token is consumed. */
  expectEnd(): void {
    if (!this.atEnd()) this.fail('expected end of expression');
  }

  /** Throws a syntax error at the next token. */
  fail(expected: string, tok: Token = this.peek()): never {
    throw new ExprSyntaxError(`${expected}, found ${describe(tok)}`, tok.pos);
  }

  /** A whole expression; `a, b` makes a tuple (as in `{% set x = 1, 2 %}`). */
  tuple(withCond = true): Expr {
    const first = withCond ? this.expression() : this.or();
    if (!this.at(',')) return first;
    const items = [first];
    while (this.skip(',')) {
      if (this.atEnd() || this.at('if', 'name')) break;
      items.push(withCond ? this.expression() : this.or());
    }
    return { t: 'tuple', items, pos: first.pos };
  }

  /** A conditional expression `a if b else c`, the loosest-binding form. */
  expression(): Expr {
    let node = this.or();
    while (this.skip('if', 'name')) {
      const test = this.or();
      const other = this.skip('else', 'name') ? this.expression() : null;
      node = { t: 'cond', test, then: node, else: other, pos: node.pos };
    }
    return node;
  }

  /** `a or b`. */
  or(): Expr {
    let left = this.and();
    while (this.skip('or', 'name')) left = { t: 'or', left, right: this.and(), pos: left.pos };
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.skip('and', 'name')) left = { t: 'and', left, right: this.not(), pos: left.pos };
    return left;
  }

  private not(): Expr {
    const t = this.peek();
    if (t.type === 'name' && t.value === 'not' && !(this.peek(1).type === 'name' && this.peek(1).value === 'in')) {
      this.next();
      return { t: 'not', arg: this.not(), pos: t.pos };
    }
    return this.compare();
  }

  private compare(): Expr {
    const first = this.math1();
    const ops: { op: CompareOp; expr: Expr }[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.value)) {
        this.next();
        ops.push({ op: t.value as CompareOp, expr: this.math1() });
      } else if (this.skip('in', 'name')) {
        ops.push({ op: 'in', expr: this.math1() });
      } else if (this.at('not', 'name') && this.peek(1).type === 'name' && this.peek(1).value === 'in') {
        this.next();
        this.next();
        ops.push({ op: 'not in', expr: this.math1() });
      } else break;
    }
    return ops.length === 0 ? first : { t: 'compare', first, ops, pos: first.pos };
  }

  private math1(): Expr {
    let left = this.concat();
    while (this.at('+') || this.at('-')) {
      const op = this.next().value as '+' | '-';
      left = { t: 'bin', op, left, right: this.concat(), pos: left.pos };
    }
    return left;
  }

  private concat(): Expr {
    const first = this.math2();
    if (!this.at('~')) return first;
    const parts = [first];
    while (this.skip('~')) parts.push(this.math2());
    return { t: 'concat', parts, pos: first.pos };
  }

  private math2(): Expr {
    let left = this.pow();
    while (this.at('*') || this.at('/') || this.at('//') || this.at('%')) {
      const op = this.next().value as '*' | '/' | '//' | '%';
      left = { t: 'bin', op, left, right: this.pow(), pos: left.pos };
    }
    return left;
  }

  private pow(): Expr {
    let left = this.unary(true);
    while (this.skip('**')) left = { t: 'bin', op: '**', left, right: this.unary(true), pos: left.pos };
    return left;
  }

  // Jinja binds unary minus tighter than ** and filters looser than it: `-2 ** 2` is 4, `-x | abs` is `(-x) | abs`.
  private unary(withFilter: boolean): Expr {
    const t = this.peek();
    let node: Expr;
    if (this.skip('-')) node = { t: 'neg', arg: this.unary(false), pos: t.pos };
    else if (this.skip('+')) node = { t: 'pos', arg: this.unary(false), pos: t.pos };
    else node = this.primary();
    node = this.postfix(node);
    return withFilter ? this.filters(node) : node;
  }

  private primary(): Expr {
    const t = this.next();
    if (t.type === 'name') {
      if (t.value === 'true' || t.value === 'True') return { t: 'lit', value: true, pos: t.pos };
      if (t.value === 'false' || t.value === 'False') return { t: 'lit', value: false, pos: t.pos };
      if (t.value === 'none' || t.value === 'None') return { t: 'lit', value: null, pos: t.pos };
      if (['and', 'or', 'not', 'if', 'else', 'is', 'in'].includes(t.value)) this.fail('expected an expression', t);
      return { t: 'name', name: t.value, pos: t.pos };
    }
    if (t.type === 'string') {
      // Adjacent string literals join, as in Python: 'a' 'b' is 'ab'.
      let value = t.literal as string;
      while (this.peek().type === 'string') value += this.next().literal as string;
      return { t: 'lit', value, pos: t.pos };
    }
    if (t.type === 'int' || t.type === 'float') return { t: 'lit', value: t.literal, pos: t.pos };
    if (t.type === 'op' && t.value === '(') {
      if (this.skip(')')) return { t: 'tuple', items: [], pos: t.pos };
      const first = this.expression();
      if (this.skip(')')) return first;
      const items = [first];
      while (this.skip(',')) {
        if (this.at(')')) break;
        items.push(this.expression());
      }
      this.expect(')', "')' or ','");
      return { t: 'tuple', items, pos: t.pos };
    }
    if (t.type === 'op' && t.value === '[') {
      const items: Expr[] = [];
      while (!this.at(']')) {
        if (items.length > 0) {
          this.expect(',', "',' or ']'");
          if (this.at(']')) break;
        }
        items.push(this.expression());
      }
      this.next();
      return { t: 'list', items, pos: t.pos };
    }
    if (t.type === 'op' && t.value === '{') {
      const keys: Expr[] = [];
      const values: Expr[] = [];
      while (!this.at('}')) {
        if (keys.length > 0) {
          this.expect(',', "',' or '}'");
          if (this.at('}')) break;
        }
        keys.push(this.expression());
        this.expect(':', "':' after a dict key");
        values.push(this.expression());
      }
      this.next();
      return { t: 'dict', keys, values, pos: t.pos };
    }
    this.fail('expected an expression', t);
  }

  private text(node: Expr): string {
    return this.src.slice(node.pos, this.tokens[this.i - 1]!.end);
  }

  private postfix(node: Expr): Expr {
    for (;;) {
      if (this.skip('.')) {
        const t = this.next();
        if (t.type === 'name') node = { t: 'attr', obj: node, name: t.value, pos: node.pos, text: '' };
        else if (t.type === 'int') node = { t: 'item', obj: node, key: { t: 'lit', value: t.literal, pos: t.pos }, pos: node.pos, text: '' };
        else this.fail("expected an attribute name or index after '.'", t);
        node.text = this.text(node);
      } else if (this.skip('[')) {
        node = this.subscript(node);
      } else if (this.at('(')) {
        node = { t: 'call', callee: node, ...this.callArgs(), pos: node.pos };
      } else return node;
    }
  }

  private subscript(obj: Expr): Expr {
    const parts: (Expr | null)[] = [];
    let isSlice = false;
    const part = () => (this.at(':') || this.at(']') ? null : this.expression());
    parts.push(part());
    while (this.skip(':')) {
      isSlice = true;
      if (parts.length === 3) this.fail("expected ']'");
      parts.push(part());
    }
    this.expect(']', "']'");
    if (isSlice) return { t: 'slice', obj, start: parts[0] ?? null, stop: parts[1] ?? null, step: parts[2] ?? null, pos: obj.pos };
    const key = parts[0];
    if (!key) this.fail('expected an index', this.tokens[this.i - 1]);
    const node: Expr = { t: 'item', obj, key, pos: obj.pos, text: '' };
    node.text = this.text(node);
    return node;
  }

  private callArgs(): Args {
    this.expect('(');
    const args: Expr[] = [];
    const kwargs: [string, Expr][] = [];
    let star: Expr | undefined;
    let dstar: Expr | undefined;
    while (!this.at(')')) {
      if (args.length + kwargs.length > 0 || star || dstar) {
        this.expect(',', "',' or ')'");
        if (this.at(')')) break;
      }
      const t = this.peek();
      if (dstar) this.fail("expected ')' after a **dict argument");
      if (this.skip('**')) dstar = this.expression();
      else if (this.skip('*')) {
        if (star) this.fail('expected one *list argument');
        star = this.expression();
      } else if (star) this.fail('expected ** or ) after a *list argument');
      else if (t.type === 'name' && this.peek(1).type === 'op' && this.peek(1).value === '=') {
        this.next();
        this.next();
        kwargs.push([t.value, this.expression()]);
      } else {
        if (kwargs.length > 0) this.fail('expected a keyword argument (positional arguments come first)');
        args.push(this.expression());
      }
    }
    this.next();
    return { args, kwargs, ...(star ? { star } : {}), ...(dstar ? { dstar } : {}) };
  }

  private filters(node: Expr): Expr {
    for (;;) {
      if (this.skip('|')) {
        const nameTok = this.peek();
        let name = this.expectName("a filter name after '|'");
        while (this.skip('.')) name += '.' + this.expectName('a filter name');
        name = stripCollection(name);
        if (!hasFilter(name)) {
          const guess = didYouMean(name, filterNames());
          throw new ExprSyntaxError(`unknown filter '${name}'${guess ? `; did you mean '${guess}'?` : ''}`, nameTok.pos);
        }
        const args = this.at('(') ? this.callArgs() : { args: [], kwargs: [] };
        node = { t: 'filter', name, arg: node, ...args, pos: node.pos, text: '' };
        node.text = this.text(node);
      } else if (this.at('is', 'name')) {
        this.next();
        const negated = this.skip('not', 'name');
        const nameTok = this.peek();
        let name = this.expectName("a test name after 'is'");
        while (this.skip('.')) name += '.' + this.expectName('a test name');
        name = stripCollection(name);
        if (!hasTest(name)) {
          const guess = didYouMean(name, testNames());
          throw new ExprSyntaxError(`unknown test '${name}'${guess ? `; did you mean '${guess}'?` : ''}`, nameTok.pos);
        }
        let args: Args = { args: [], kwargs: [] };
        const t = this.peek();
        if (this.at('(')) args = this.callArgs();
        else if (
          t.type === 'string' ||
          t.type === 'int' ||
          t.type === 'float' ||
          (t.type === 'op' && (t.value === '[' || t.value === '{')) ||
          (t.type === 'name' && !['else', 'or', 'and', 'if', 'is', 'in', 'not'].includes(t.value))
        ) {
          // `x is divisibleby 3`: a test takes one bare argument, as in Jinja.
          args = { args: [this.postfix(this.primary())], kwargs: [] };
        }
        node = { t: 'test', name, arg: node, negated, ...args, pos: nameTok.pos };
      } else if (this.at('(')) {
        node = { t: 'call', callee: node, ...this.callArgs(), pos: node.pos };
      } else return node;
    }
  }
}

function describe(t: Token): string {
  if (t.type === 'end') return 'end of expression';
  if (t.type === 'string') return `string ${t.value}`;
  if (t.type === 'int' || t.type === 'float') return `number ${t.value}`;
  return `'${t.value}'`;
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing entry points

const cache = [new Map<string, Expr>(), new Map<string, Expr>()];
const CACHE_LIMIT = 20_000;

/** Parses an expression of a condition (`when`, `assert.that`): Jinja's string escapes apply. Cached by source. */
export function parseExpression(src: string, opts: { rawStrings?: boolean } = {}): Expr {
  const store = cache[opts.rawStrings ? 1 : 0]!;
  const hit = store.get(src);
  if (hit) return hit;
  let expr: Expr;
  try {
    const parser = new ExprParser(src, tokenize(src, 0, undefined, opts.rawStrings).tokens);
    if (parser.atEnd()) throw new ExprSyntaxError('expected an expression, found nothing', 0);
    expr = parser.expression();
    parser.expectEnd();
  } catch (err) {
    if (err instanceof ExprSyntaxError) throw syntaxErrorIn(src, err);
    throw err;
  }
  if (store.size >= CACHE_LIMIT) store.clear();
  store.set(src, expr);
  return expr;
}

/** A TemplateError for a syntax error in a one-line expression: what was expected, the column, and a caret. */
export function syntaxErrorIn(src: string, err: ExprSyntaxError): TemplateError {
  const oneLine = !src.includes('\n');
  const col = err.offset + 1;
  return new TemplateError(`invalid expression: ${err.reason} at column ${col} of "${oneLine ? src : src.replace(/\n/g, '\\n')}"`, {
    hint: oneLine ? `${src}\n${' '.repeat(err.offset)}^` : undefined,
    cause: err,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

type Scope = Readonly<Record<string, unknown>>;

const resolving = new Set<string>();
const templatedCache = new WeakMap<object, boolean>();

/** True if a value holds a template anywhere (strings, list items, dict keys and values); unsafe values hold none. */
export function hasTemplates(v: unknown): boolean {
  return containsTemplate(v);
}

// Objects whose values template themselves when read (hostvars): walking them would visit every
// host's variables, each holding hostvars again, without end.
const selfTemplating = new WeakSet<object>();
// What messages call such an object (`hostvars['web1']`) instead of printing it.
const selfTemplatingLabel = new WeakMap<object, string>();

/** Marks an object whose properties render their own templates on access, so nothing walks into it; messages
 *  name it by `label` instead of printing it. */
export function markSelfTemplating<T extends object>(o: T, label?: string): T {
  selfTemplating.add(o);
  if (label !== undefined) selfTemplatingLabel.set(o, label);
  return o;
}

function containsTemplate(v: unknown): boolean {
  if (typeof v === 'string') return isTemplate(v);
  if (typeof v !== 'object' || v === null || isUnsafe(v) || v instanceof PyFloat || selfTemplating.has(v)) return false;
  const known = templatedCache.get(v);
  if (known !== undefined) return known;
  const found = Array.isArray(v)
    ? v.some(containsTemplate)
    : Object.entries(v).some(([k, x]) => isTemplate(k) || containsTemplate(x));
  templatedCache.set(v, found);
  return found;
}

// Ansible templates variables lazily: `b: "{{ a }}"` holds the template, and reading `b` renders it with the same
// variables. Values marked unsafe (registered output) are never rendered.
function resolveVar(scope: Scope, name: string): unknown {
  let value: unknown;
  let local = false;
  let owner: object | undefined;
  for (let o: object | null = scope; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    if (Object.hasOwn(o, name)) {
      owner = o;
      local = localScopes.has(o);
      value = (o as Record<string, unknown>)[name];
      break;
    }
  }
  // A stage's cache key covers the variables its templates read (a template's own locals are not inputs).
  if (!local && readsObserved()) noteRead({ kind: 'var', owner: owner ?? scope, name });
  if (value === undefined) return name === 'omit' && !local ? OMIT : new UndefinedValue(name);
  if (local || !containsTemplate(value)) return value;
  if (resolving.has(name)) {
    throw new TemplateError(`recursive loop detected: the value of '${name}' refers to '${name}' itself`);
  }
  resolving.add(name);
  try {
    return templateValue(value, scope);
  } finally {
    resolving.delete(name);
  }
}

const localScopes = new WeakSet<object>();

/** Marks a scope whose own variables are a template's locals ({% set %}, loop variables, macro arguments): they
 *  hold values already, so text in them that looks like a template is not rendered again, as in Jinja. */
export function markLocalScope<T extends object>(scope: T): T {
  localScopes.add(scope);
  return scope;
}

/** A variable's value as expressions see it (its templates rendered), or undefined if it has none. */
export function resolveVariable(scope: Scope, name: string): unknown {
  const v = resolveVar(scope, name);
  return v instanceof UndefinedValue ? undefined : v;
}

const env = (scope: Scope): CallEnv => ({ scope });

/** Throws if a value is undefined; returns it otherwise. */
export function defined<T>(v: T): Exclude<T, UndefinedValue> {
  if (v instanceof UndefinedValue) throw v.error();
  return v as Exclude<T, UndefinedValue>;
}

function ev(node: Expr, scope: Scope): unknown {
  switch (node.t) {
    case 'lit':
      // A float literal was boxed when parsed; count it now so run() knows to unbox the result.
      if (node.value instanceof PyFloat) floatsMade++;
      return node.value;
    case 'name':
      return resolveVar(scope, node.name);
    case 'attr': {
      const obj = ev(node.obj, scope);
      if (obj instanceof UndefinedValue) return obj;
      const v = isMapping(obj) ? getItem(obj, node.name) : MISSING;
      return v === MISSING ? new UndefinedValue(node.text, () => noAttribute(obj, node.name)) : v;
    }
    case 'item': {
      const obj = ev(node.obj, scope);
      if (obj instanceof UndefinedValue) return obj;
      const key = ev(node.key, scope);
      if (key instanceof UndefinedValue) return key;
      const v = getItem(obj, key);
      if (v !== MISSING) return v;
      const reason = () =>
        Array.isArray(obj)
          ? `the list has no element ${describeValue(key)} (it has ${obj.length})`
          : isMapping(obj)
            ? `${selfTemplatingLabel.get(obj) ?? 'the dict'} has no key ${describeValue(key)}`
            : `${pyTypeName(obj)} value ${describeValue(obj)} has no item ${describeValue(key)}`;
      return new UndefinedValue(node.text, reason);
    }
    case 'slice':
      return slice(defined(ev(node.obj, scope)), node.start && ev(node.start, scope), node.stop && ev(node.stop, scope), node.step && ev(node.step, scope));
    case 'list':
      return node.items.map((x) => defined(ev(x, scope)));
    case 'tuple':
      return tuple(node.items.map((x) => defined(ev(x, scope))));
    case 'dict': {
      const out: Record<string, unknown> = {};
      node.keys.forEach((k, i) => {
        setKey(out, pyStr(defined(ev(k, scope))), defined(ev(node.values[i]!, scope)));
      });
      return out;
    }
    case 'not':
      return !truthy(ev(node.arg, scope));
    case 'neg':
    case 'pos': {
      const v = defined(ev(node.arg, scope));
      if (!isNumber(v)) throw new TemplateError(`bad operand type for unary ${node.t === 'neg' ? '-' : '+'}: '${pyTypeName(v)}'`);
      const n = node.t === 'neg' ? -num(v) : num(v);
      return isFloat(v) ? pyFloat(n) : n;
    }
    case 'and': {
      const left = ev(node.left, scope);
      return truthy(left) ? ev(node.right, scope) : left;
    }
    case 'or': {
      const left = ev(node.left, scope);
      return truthy(left) ? left : ev(node.right, scope);
    }
    case 'bin':
      return binaryOp(node.op, defined(ev(node.left, scope)), defined(ev(node.right, scope)));
    case 'concat':
      return node.parts.map((p) => pyStr(defined(ev(p, scope)))).join('');
    case 'compare': {
      let left = defined(ev(node.first, scope));
      for (const { op, expr } of node.ops) {
        const right = defined(ev(expr, scope));
        if (!compare(op, left, right)) return false;
        left = right;
      }
      return true;
    }
    case 'cond':
      if (truthy(ev(node.test, scope))) return ev(node.then, scope);
      return node.else ? ev(node.else, scope) : null;
    case 'filter': {
      const input = ev(node.arg, scope);
      const [args, kwargs] = callArguments(node, scope);
      const out = callFilter(node.name, input, args, kwargs, env(scope));
      // Filters such as first return an unnamed undefined value; it is named after the expression written.
      return out instanceof UndefinedValue && out.path === '' ? new UndefinedValue(node.text, out.reason) : out;
    }
    case 'test': {
      const input = ev(node.arg, scope);
      const [args, kwargs] = callArguments(node, scope);
      const result = callTest(node.name, input, args, kwargs, env(scope));
      return node.negated ? !result : result;
    }
    case 'call':
      return call(node, scope);
  }
}

// The values of a call's arguments, `*list` and `**dict` spread in.
function callArguments(node: Args, scope: Scope): [unknown[], Record<string, unknown>] {
  const args = node.args.map((a) => defined(ev(a, scope)));
  const kwargs: Record<string, unknown> = {};
  for (const [k, a] of node.kwargs) setKey(kwargs, k, defined(ev(a, scope)));
  if (node.star) {
    const more = defined(ev(node.star, scope));
    if (!Array.isArray(more) && typeof more !== 'string') throw new TemplateError(`*${pyTypeName(more)} cannot be spread into arguments: a list is needed`);
    args.push(...(typeof more === 'string' ? [...more] : more));
  }
  if (node.dstar) {
    const more = defined(ev(node.dstar, scope));
    if (!isMapping(more)) throw new TemplateError(`**${pyTypeName(more)} cannot be spread into arguments: a dict is needed`);
    for (const [k, v] of Object.entries(more)) setKey(kwargs, k, v);
  }
  return [args, kwargs];
}

/** Why `obj.name` is undefined, for the error a use of it raises. */
export function noAttribute(obj: unknown, name: string): string {
  const label = typeof obj === 'object' && obj !== null ? selfTemplatingLabel.get(obj) : undefined;
  return label !== undefined ? `${label} has no attribute '${name}'` : `${pyTypeName(obj)} value ${describeValue(obj)} has no attribute '${name}'`;
}

/** The start of a value's repr, for messages: it reads no more of the value than it prints (a host's variables
 *  render on read and hold hostvars again), and a value that fails to render ends the text instead of the message. */
export function describeValue(v: unknown, limit = 40): string {
  const out: string[] = [];
  let length = 0;
  const full = {};
  const put = (text: string) => {
    out.push(text);
    length += text.length;
    if (length > limit) throw full;
  };
  const walk = (x: unknown): void => {
    if (typeof x !== 'object' || x === null || x instanceof PyFloat || x instanceof UndefinedValue) return put(x instanceof UndefinedValue ? 'Undefined' : pyRepr(x));
    const label = selfTemplatingLabel.get(x);
    if (label !== undefined) return put(label);
    if (Array.isArray(x)) {
      put(isTuple(x) ? '(' : '[');
      x.forEach((item, i) => {
        if (i > 0) put(', ');
        walk(item);
      });
      return put(isTuple(x) ? (x.length === 1 ? ',)' : ')') : ']');
    }
    put('{');
    Object.keys(x).forEach((k, i) => {
      put(`${i > 0 ? ', ' : ''}${reprString(k)}: `);
      walk((x as Record<string, unknown>)[k]);
    });
    put('}');
  };
  try {
    walk(v);
  } catch (err) {
    if (err !== full && !(err instanceof ImgplayError) && !(err instanceof RangeError)) throw err;
    out.push('...');
  }
  const text = out.join('');
  return text.length > limit ? `${text.slice(0, limit - 3)}...` : text;
}

function typeError(op: string, a: unknown, b: unknown): TemplateError {
  return new TemplateError(`unsupported operand type(s) for ${op}: '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

function repeat<T>(items: T[] | string, times: unknown): T[] | string {
  const n = Math.max(0, num(times as number));
  if (typeof items === 'string') return items.repeat(n);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(...items);
  return isTuple(items) ? tuple(out) : out;
}

/** Python's arithmetic operators: + - * / // % ** on numbers, + and * on strings and lists, % formatting. */
export function binaryOp(op: '+' | '-' | '*' | '/' | '//' | '%' | '**', a: unknown, b: unknown): unknown {
  if (isNumber(a) && isNumber(b)) {
    const x = num(a);
    const y = num(b);
    const float = isFloat(a) || isFloat(b);
    const result = (n: number) => (float ? pyFloat(n) : n);
    switch (op) {
      case '+':
        return result(x + y);
      case '-':
        return result(x - y);
      case '*':
        return result(x * y);
      case '/':
        if (y === 0) throw new TemplateError('division by zero');
        return pyFloat(x / y);
      case '//':
        if (y === 0) throw new TemplateError('integer division or modulo by zero');
        return result(Math.floor(x / y));
      case '%': {
        if (y === 0) throw new TemplateError('integer division or modulo by zero');
        const m = x % y;
        return result(m !== 0 && m < 0 !== y < 0 ? m + y : m);
      }
      case '**':
        if (x === 0 && y < 0) throw new TemplateError('0.0 cannot be raised to a negative power');
        return float || y < 0 ? pyFloat(x ** y) : x ** y;
    }
  }
  if (op === '+') {
    if (typeof a === 'string' && typeof b === 'string') return a + b;
    if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) return isTuple(a) ? tuple([...a, ...b]) : [...a, ...b];
    if (typeof a === 'string') throw new TemplateError(`can only concatenate str (not "${pyTypeName(b)}") to str`);
  }
  if (op === '*') {
    if ((typeof a === 'string' || Array.isArray(a)) && isNumber(b) && !isFloat(b)) return repeat(a, b);
    if ((typeof b === 'string' || Array.isArray(b)) && isNumber(a) && !isFloat(a)) return repeat(b, a);
  }
  if (op === '%' && typeof a === 'string') return printf(a, b);
  throw typeError(op, a, b);
}

function compare(op: CompareOp, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return pyEquals(a, b);
    case '!=':
      return !pyEquals(a, b);
    case '<':
      return pyCompare(a, b, op) < 0;
    case '<=':
      return pyCompare(a, b, op) <= 0;
    case '>':
      return pyCompare(a, b, op) > 0;
    case '>=':
      return pyCompare(a, b, op) >= 0;
    case 'in':
      return contains(b, a);
    case 'not in':
      return !contains(b, a);
  }
}

/** Python's `item in container`: list membership, substring, dict key. */
export function contains(container: unknown, item: unknown): boolean {
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new TemplateError(`'in <string>' requires string as left operand, not ${pyTypeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((x) => pyEquals(x, item));
  if (isMapping(container)) {
    if (typeof item === 'string' || isNumber(item)) return Object.hasOwn(container, pyStr(item));
    return false;
  }
  throw new TemplateError(`argument of type '${pyTypeName(container)}' is not iterable`);
}

function sliceIndex(v: unknown, what: string): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (!isNumber(v) || isFloat(v)) throw new TemplateError(`slice ${what} must be an integer or None, not ${pyTypeName(v)}`);
  return num(v);
}

/** Python's seq[start:stop:step] on lists, tuples and strings. */
export function slice(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  if (!Array.isArray(obj) && typeof obj !== 'string') throw new TemplateError(`'${pyTypeName(obj)}' object is not subscriptable`);
  const len = obj.length;
  const st = sliceIndex(step, 'step') ?? 1;
  if (st === 0) throw new TemplateError('slice step cannot be zero');
  const norm = (v: number | undefined, dflt: number, lo: number, hi: number) => {
    if (v === undefined) return dflt;
    const x = v < 0 ? v + len : v;
    return Math.min(Math.max(x, lo), hi);
  };
  const items: unknown[] = [];
  if (st > 0) {
    const a = norm(sliceIndex(start, 'start'), 0, 0, len);
    const b = norm(sliceIndex(stop, 'stop'), len, 0, len);
    for (let i = a; i < b; i += st) items.push(obj[i]);
  } else {
    const a = norm(sliceIndex(start, 'start'), len - 1, -1, len - 1);
    const b = norm(sliceIndex(stop, 'stop'), -1, -1, len - 1);
    for (let i = a; i > b; i += st) items.push(obj[i]);
  }
  if (typeof obj === 'string') return items.join('');
  return isTuple(obj) ? tuple(items) : items;
}

/** Python's printf-style `'%s-%d' % (a, b)`, used by `%` on strings and the format filter. */
export function printf(fmt: string, args: unknown): string {
  const positional = Array.isArray(args) && isTuple(args) ? args : [args];
  const named = isMapping(args) ? args : undefined;
  let next = 0;
  const out = fmt.replace(/%(\(([^)]*)\))?([-+ 0#]*)(\*|\d+)?(?:\.(\*|\d+))?([diouxXeEfFgGcrsa%])/g, (_all, _n, key: string | undefined, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    let v: unknown;
    if (key !== undefined) {
      if (!named || !Object.hasOwn(named, key)) throw new TemplateError(`format requires a mapping with key '${key}'`);
      v = named[key];
    } else {
      if (next >= positional.length) throw new TemplateError('not enough arguments for format string');
      v = positional[next++];
    }
    const p = prec === undefined ? undefined : Number(prec);
    let s: string;
    switch (conv) {
      case 's':
        s = pyStr(v);
        if (p !== undefined) s = s.slice(0, p);
        break;
      case 'r':
      case 'a':
        s = pyRepr(v);
        break;
      case 'c':
        s = typeof v === 'string' ? v : String.fromCodePoint(num(v as number));
        break;
      default: {
        if (!isNumber(v)) throw new TemplateError(`%${conv} format: a real number is required, not ${pyTypeName(v)}`);
        const n = num(v);
        if ('diu'.includes(conv)) s = formatInt(Math.trunc(n));
        else if (conv === 'o') s = Math.trunc(n).toString(8);
        else if (conv === 'x') s = Math.trunc(n).toString(16);
        else if (conv === 'X') s = Math.trunc(n).toString(16).toUpperCase();
        else if ('fF'.includes(conv)) s = n.toFixed(p ?? 6);
        else if ('eE'.includes(conv)) {
          s = n.toExponential(p ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
          if (conv === 'E') s = s.toUpperCase();
        } else {
          s = String(Number(n.toPrecision(p || 6)));
          if (conv === 'G') s = s.toUpperCase();
        }
        if (flags.includes('+') && n >= 0) s = `+${s}`;
        else if (flags.includes(' ') && n >= 0) s = ` ${s}`;
      }
    }
    const w = width === undefined || width === '*' ? 0 : Number(width);
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w);
      else if (flags.includes('0') && conv !== 's' && conv !== 'r') {
        const sign = /^[+\- ]/.test(s) ? s[0]! : '';
        s = sign + s.slice(sign.length).padStart(w - sign.length, '0');
      } else s = s.padStart(w);
    }
    return s;
  });
  if (named === undefined && next < positional.length) throw new TemplateError('not all arguments converted during string formatting');
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Functions and methods

/** Binds positional and keyword arguments to parameter names, failing as Python does on extras. */
export function bindArgs(fn: string, params: readonly string[], args: unknown[], kwargs: Record<string, unknown>): unknown[] {
  if (args.length > params.length) throw new TemplateError(`${fn}() takes at most ${params.length} argument(s) (${args.length} given)`);
  const out = [...args];
  for (const [k, v] of Object.entries(kwargs)) {
    const i = params.indexOf(k);
    if (i < 0) throw new TemplateError(`${fn}() got an unexpected keyword argument '${k}'`);
    out[i] = v;
  }
  return out;
}

const GLOBALS = ['range', 'lookup', 'query', 'q', 'dict', 'namespace', 'now', 'undef'];

/** Marks a value expressions may call: a template's macros, `caller`, `super`, `loop` and `loop.cycle`. */
export const CALL: unique symbol = Symbol('call');
/** A callable value: `obj[CALL](args, kwargs)`. */
export type Callable = { [CALL]: (args: unknown[], kwargs: Record<string, unknown>) => unknown };

/** True for values made callable by the template engine. */
export function isCallable(v: unknown): v is Callable {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Callable>)[CALL] === 'function';
}

function call(node: Extract<Expr, { t: 'call' }>, scope: Scope): unknown {
  const [args, kwargs] = callArguments(node, scope);
  const callee = node.callee;
  if (callee.t === 'attr') {
    const obj = defined(ev(callee.obj, scope));
    const member = isMapping(obj) && Object.hasOwn(obj, callee.name) ? obj[callee.name] : undefined;
    if (isCallable(member)) return member[CALL](args, kwargs);
    return callMethod(obj, callee.name, args, kwargs);
  }
  if (callee.t !== 'name') {
    const fn = defined(ev(callee, scope));
    if (isCallable(fn)) return fn[CALL](args, kwargs);
    throw new TemplateError(`${pyTypeName(fn)} value is not callable`);
  }
  const own = lookupVar(scope, callee.name);
  if (isCallable(own)) return own[CALL](args, kwargs);
  switch (callee.name) {
    case 'range': {
      const ints = args.map((a) => {
        if (!isNumber(a) || isFloat(a)) throw new TemplateError(`range() takes integers, not ${pyTypeName(a)}`);
        return num(a);
      });
      const [start, stop, step] = ints.length === 1 ? [0, ints[0]!, 1] : [ints[0] ?? 0, ints[1] ?? 0, ints[2] ?? 1];
      if (step === 0) throw new TemplateError('range() step must not be zero');
      const count = Math.max(0, Math.ceil((stop - start) / step));
      if (count > 1_000_000) throw new TemplateError(`range() of ${count} items is too large`);
      return Array.from({ length: count }, (_, i) => start + i * step);
    }
    case 'lookup':
    case 'query':
    case 'q':
      return runLookup(args[0], args.slice(1), kwargs, scope, callee.name === 'lookup');
    case 'dict':
    case 'namespace':
      return { ...kwargs };
    case 'now':
    case 'undef':
      return callGlobal(callee.name, args, kwargs);
    default: {
      const guess = didYouMean(callee.name, GLOBALS);
      throw new TemplateError(`unknown function '${callee.name}'${guess ? `; did you mean '${guess}'?` : ''}`, {
        hint: `functions: ${GLOBALS.join(', ')}; filters are written after a '|'`,
      });
    }
  }
}

function pySplit(s: string, sep: unknown, maxsplit: number, fromRight: boolean): string[] {
  if (sep === null || sep === undefined) {
    const words = s.trim() === '' ? [] : s.trim().split(/\s+/);
    if (maxsplit < 0 || words.length <= maxsplit + 1) return words;
    if (fromRight) {
      const m = new RegExp(`^([\\s\\S]*?\\S)(?:\\s+\\S+){${maxsplit}}\\s*$`).exec(s.trimStart());
      return [m![1]!, ...words.slice(words.length - maxsplit)];
    }
    const re = /\s+/g;
    const t = s.trimStart();
    let cut = 0;
    for (let k = 0; k < maxsplit; k++) {
      re.exec(t);
      cut = re.lastIndex;
    }
    return [...words.slice(0, maxsplit), t.slice(cut)];
  }
  const sp = pyStr(sep);
  if (sp === '') throw new TemplateError('empty separator');
  const parts = s.split(sp);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  if (fromRight) return [parts.slice(0, parts.length - maxsplit).join(sp), ...parts.slice(parts.length - maxsplit)];
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sp)];
}

function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === null || chars === undefined) return left && right ? s.trim() : left ? s.trimStart() : s.trimEnd();
  const set = new Set(pyStr(chars));
  let a = 0;
  let b = s.length;
  if (left) while (a < b && set.has(s[a]!)) a++;
  if (right) while (b > a && set.has(s[b - 1]!)) b--;
  return s.slice(a, b);
}

const METHODS: Record<'str' | 'dict' | 'list', Record<string, readonly string[]>> = {
  str: {
    split: ['sep', 'maxsplit'], rsplit: ['sep', 'maxsplit'], splitlines: ['keepends'], startswith: ['prefix'], endswith: ['suffix'],
    strip: ['chars'], lstrip: ['chars'], rstrip: ['chars'], lower: [], upper: [], capitalize: [], title: [],
    replace: ['old', 'new', 'count'], join: ['iterable'], find: ['sub'], count: ['sub'], isdigit: [],
  },
  dict: { keys: [], values: [], items: [], get: ['key', 'default'] },
  list: { index: ['value'], count: ['value'] },
};

function callMethod(obj: unknown, name: string, args: unknown[], kwargs: Record<string, unknown>): unknown {
  const kind = typeof obj === 'string' ? 'str' : Array.isArray(obj) ? 'list' : isMapping(obj) ? 'dict' : undefined;
  const params = kind ? METHODS[kind][name] : undefined;
  if (!kind || !params) {
    const known = kind ? Object.keys(METHODS[kind]) : [];
    const guess = didYouMean(name, known);
    throw new TemplateError(
      `${pyTypeName(obj)} value has no method '${name}' in imgplay${guess ? `; did you mean '${guess}'?` : ''}`,
      { hint: kind ? `${kind} methods: ${known.join(', ')}` : 'methods exist on strings, lists and dicts only' },
    );
  }
  const a = bindArgs(name, params, args, kwargs);
  if (kind === 'str') return strMethod(obj as string, name, a);
  if (kind === 'list') {
    const list = obj as unknown[];
    if (name === 'count') return list.filter((x) => pyEquals(x, a[0])).length;
    const i = list.findIndex((x) => pyEquals(x, a[0]));
    if (i < 0) throw new TemplateError(`${pyRepr(a[0])} is not in list`);
    return i;
  }
  const dict = obj as Record<string, unknown>;
  if (name === 'keys') return Object.keys(dict);
  if (name === 'values') return Object.values(dict);
  if (name === 'items') return Object.entries(dict).map((e) => tuple(e));
  const v = getItem(dict, a[0]);
  return v === MISSING ? (a[1] ?? null) : v;
}

function strMethod(s: string, name: string, a: unknown[]): unknown {
  const [x, y, z] = a;
  const n = (v: unknown, dflt: number) => (v === undefined || v === null ? dflt : num(v as number));
  switch (name) {
    case 'split':
    case 'rsplit':
      return pySplit(s, x, n(y, -1), name === 'rsplit');
    case 'splitlines': {
      const lines = s.split(/(?<=\r\n|\n|\r)/);
      return truthy(x ?? false) ? lines : lines.map((l) => l.replace(/\r?\n$|\r$/, ''));
    }
    case 'startswith':
    case 'endswith': {
      const options = Array.isArray(x) ? x.map(pyStr) : [pyStr(x)];
      return options.some((o) => (name === 'startswith' ? s.startsWith(o) : s.endsWith(o)));
    }
    case 'strip':
      return pyStrip(s, x, true, true);
    case 'lstrip':
      return pyStrip(s, x, true, false);
    case 'rstrip':
      return pyStrip(s, x, false, true);
    case 'lower':
      return s.toLowerCase();
    case 'upper':
      return s.toUpperCase();
    case 'capitalize':
      return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
    case 'title':
      return s.toLowerCase().replace(/(^|[^\p{L}])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase());
    case 'replace': {
      const count = n(z, -1);
      if (count < 0) return s.split(pyStr(x)).join(pyStr(y));
      const parts = s.split(pyStr(x));
      return parts.slice(0, count + 1).join(pyStr(y)) + (parts.length > count + 1 ? pyStr(x) + parts.slice(count + 1).join(pyStr(x)) : '');
    }
    case 'join': {
      const items = typeof x === 'string' ? [...x] : Array.isArray(x) ? x : isMapping(x) ? Object.keys(x) : undefined;
      if (!items) throw new TemplateError(`can only join an iterable, not ${pyTypeName(x)}`);
      return items
        .map((i) => {
          if (typeof i !== 'string') throw new TemplateError(`sequence item: expected str instance, ${pyTypeName(i)} found`);
          return i;
        })
        .join(s);
    }
    case 'find':
      return s.indexOf(pyStr(x));
    case 'count':
      return pyStr(x) === '' ? s.length + 1 : s.split(pyStr(x)).length - 1;
    default:
      return s.length > 0 && /^\d+$/.test(s);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

function run(expr: Expr, vars: Scope): unknown {
  const before = floatsMade;
  try {
    const v = defined(ev(expr, vars));
    return floatsMade === before ? v : toPlain(v);
  } catch (err) {
    throw asUserError(err);
  }
}

/** Lets errors meant for users through and turns anything else into an InternalError (a bug in imgplay). */
export function asUserError(err: unknown): ImgplayError {
  if (err instanceof ImgplayError) return err;
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new TemplateError('the expression nests too deeply (or a variable refers to itself)', { cause: err });
  }
  // Python would try (and exhaust memory); JavaScript refuses at once: `'a' * 999999999`, a huge format width.
  if (err instanceof RangeError && /^Invalid (?:string|array) length/.test(err.message)) {
    return new TemplateError('the result is too large to build', { cause: err });
  }
  return new InternalError(`evaluating an expression failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/**
 * Evaluates an expression (source or parsed) against variables and returns its value with Python semantics.
 * Undefined variables throw UndefinedVariableError naming the path written; `is defined` and `default` do not.
 */
export function evaluate(src: string | Expr, vars: Readonly<Record<string, unknown>>): unknown {
  if (typeof src !== 'string') return run(src, vars);
  const expr = parseExpression(src);
  try {
    return run(expr, vars);
  } catch (err) {
    throw inExpression(err, src);
  }
}

/** Adds the expression's text to an error raised while evaluating it (once). */
export function inExpression(err: unknown, src: string): unknown {
  if (!(err instanceof ImgplayError) || err instanceof InternalError || located.has(err)) return err;
  const where = `in ${src.includes('{{') || src.includes('{%') ? src : JSON.stringify(src)}`;
  const out =
    err instanceof UndefinedVariableError
      ? new UndefinedVariableError(err.variable, { hint: err.hint ? `${err.hint}; ${where}` : where, cause: err })
      : new TemplateError(`${err.message} ${where}`, { hint: err.hint, cause: err });
  located.add(out);
  return out;
}

const located = new WeakSet<Error>();

/** Evaluates without unboxing floats or checking for undefined: the template renderer prints what this returns. */
export function evaluateRaw(expr: Expr, vars: Readonly<Record<string, unknown>>): unknown {
  return ev(expr, vars);
}

/** ansible-core's warning for a condition written with {{ }} or {% %} (it still renders and evaluates it). */
export const TEMPLATED_CONDITION = 'conditional statements should not include jinja2 templating delimiters such as {{ }} or {% %}. Found: ';

/**
 * when/changed_when/failed_when/until: a bool, a string expression, or a list of them (ANDed). A string may also be
 * one '{{ expr }}' (Ansible accepts it with a warning). Returns Python truthiness of the result.
 */
export function evaluateCondition(cond: unknown, vars: Readonly<Record<string, unknown>>): boolean {
  if (Array.isArray(cond)) return cond.every((c) => evaluateCondition(c, vars));
  if (cond === null || cond === undefined || cond === '') return true;
  if (typeof cond !== 'string') return truthy(toPlain(cond));
  if (!isTemplate(cond)) return truthy(evaluate(cond, vars));
  // Ansible renders the templates first, then evaluates what they rendered to as the condition.
  const rendered = templateValue(cond, vars);
  if (typeof rendered !== 'string' || rendered === '') return truthy(rendered);
  try {
    return truthy(evaluate(rendered, vars));
  } catch (err) {
    if (err instanceof ImgplayError && !(err instanceof InternalError)) {
      const why = `the condition ${JSON.stringify(cond)} rendered to ${JSON.stringify(rendered)}, which Ansible then evaluates as an expression`;
      const fix = 'write conditions without {{ }}, e.g. `when: my_flag | bool`';
      if (err instanceof UndefinedVariableError) throw new UndefinedVariableError(err.variable, { hint: `${why}; ${fix}`, cause: err });
      throw new TemplateError(err.message, { hint: `${why}; ${fix}`, cause: err });
    }
    throw err;
  }
}

/** True if a parsed expression is a Python literal (what Ansible's literal_eval accepts): no names, calls or operators
 *  other than unary minus on numbers. */
export function isLiteral(expr: Expr): boolean {
  switch (expr.t) {
    case 'lit':
      return true;
    case 'name':
      return expr.name === 'null';
    case 'list':
    case 'tuple':
      return expr.items.every(isLiteral);
    case 'dict':
      return expr.keys.every(isLiteral) && expr.values.every(isLiteral);
    case 'neg':
    case 'pos':
      return expr.arg.t === 'lit' && isNumber(expr.arg.value);
    default:
      return false;
  }
}

/** Ansible's literal_eval of rendered text that looks like a list, dict or bool; undefined when it is not one. */
export function literalEval(text: string): unknown {
  if (!(text.startsWith('[') || text.startsWith('{') || text === 'True' || text === 'False')) return undefined;
  let expr: Expr;
  try {
    const p = new ExprParser(text, tokenize(text, 0, undefined, false).tokens);
    expr = p.expression();
    if (!p.atEnd()) return undefined;
  } catch {
    return undefined;
  }
  if (!isLiteral(expr)) return undefined;
  return toPlain(ev(expr, { null: null }));
}
