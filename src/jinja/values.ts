// Python's values and operators as templates see them: types, truthiness, equality and order, repr and str,
// arithmetic, `in`, slicing and % formatting. Filters, tests and lookups use them without the evaluator.
import { deltaParts, fieldsOf, PyDateTime, PyTimeDelta, timeStr } from './datetime.js';
import { ImgplayError, TemplateError, UndefinedVariableError } from '../errors.js';

// ---------------------------------------------------------------------------------------------------------------
// Values: Python's types mapped onto JavaScript ones. str = string, int = integral number, float = non-integral
// number or PyFloat (an integral float such as 3.0, kept apart so it prints as Python prints it), bool = boolean,
// None = null, list = array, tuple = array registered in `tuples`, dict = plain object.

/** An integral float (3.0): Python prints it with '.0', so it must not collapse into the int 3 while evaluating. */
export class PyFloat {
  constructor(readonly value: number) {}
}

let floatsMade = 0;

/** How many integral floats were made so far: evaluation compares it before and after to skip a needless toPlain. */
export function floatsMadeSoFar(): number {
  return floatsMade;
}

/** Counts a float literal of an expression as made. */
export function countFloatMade(): void {
  floatsMade++;
}

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
  #jinja: string | (() => string) | undefined;
  constructor(
    readonly path: string,
    reason?: string | (() => string),
    /** What Jinja says of it (`'dict object' has no attribute 'x'`), which Ansible puts in a task's msg. */
    jinja?: string | (() => string),
  ) {
    this.#reason = reason;
    this.#jinja = jinja;
  }
  // Described only when an error is raised: `x.nope | default(...)` must not print x (a host's variables, say).
  get reason(): string | undefined {
    if (typeof this.#reason === 'function') this.#reason = this.#reason();
    return this.#reason;
  }
  get jinja(): string | undefined {
    if (typeof this.#jinja === 'function') this.#jinja = this.#jinja();
    return this.#jinja ?? (this.path !== '' && /^\w+$/.test(this.path) ? `${pyRepr(this.path)} is undefined` : this.reason);
  }
  /** The error a use of this value raises. */
  error(): UndefinedVariableError {
    return new UndefinedVariableError(this.path, { ...(this.reason === undefined ? {} : { hint: this.reason }), ...(this.jinja === undefined ? {} : { jinja: this.jinja }) });
  }
}

/** Jinja's name for a value's type in its messages (object_type_repr): `dict object`, `ansible.vars.hostvars.HostVars object`. */
export function jinjaObjectType(obj: unknown): string {
  if (obj === null || obj === undefined) return 'None';
  const label = typeof obj === 'object' ? selfTemplatingLabels.get(obj) : undefined;
  if (label === 'hostvars') return 'ansible.vars.hostvars.HostVars object';
  if (label?.startsWith('hostvars[')) return 'ansible.vars.hostvars.HostVarsVars object';
  return `${pyTypeName(obj)} object`;
}

/** What Jinja says when `obj.name` (or `obj['name']`) is missing. */
export function jinjaNoAttribute(obj: unknown, name: unknown): string {
  return typeof name === 'string' ? `${pyRepr(jinjaObjectType(obj))} has no attribute ${pyRepr(name)}` : `${jinjaObjectType(obj)} has no element ${pyRepr(name)}`;
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

// Ansible's words for true and false (its convert_bool), in any case.
const TRUE_WORDS = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE_WORDS = new Set(['n', 'no', 'off', '0', 'false', 'f']);

/** True for one of Ansible's words for true: y, yes, on, 1, true, t, in any case. */
export function isTrueWord(text: string): boolean {
  return TRUE_WORDS.has(text.toLowerCase());
}

/** True for one of Ansible's words for false: n, no, off, 0, false, f, in any case. */
export function isFalseWord(text: string): boolean {
  return FALSE_WORDS.has(text.toLowerCase());
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
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyFloat) && !(v instanceof UndefinedValue) && !(v instanceof PyDateTime) && !(v instanceof PyTimeDelta);
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
  if (v instanceof PyDateTime) return 'datetime';
  if (v instanceof PyTimeDelta) return 'timedelta';
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
  if (a instanceof PyDateTime || b instanceof PyDateTime || a instanceof PyTimeDelta || b instanceof PyTimeDelta) {
    return a.constructor === b.constructor && (a as PyDateTime).us === (b as PyDateTime).us;
  }
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
  if ((a instanceof PyDateTime && b instanceof PyDateTime) || (a instanceof PyTimeDelta && b instanceof PyTimeDelta)) return Math.sign(a.us - b.us);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i], op);
    }
    return Math.sign(a.length - b.length);
  }
  throw new TemplateError(`'${op}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`, { type: true });
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
  if (v instanceof PyDateTime || v instanceof PyTimeDelta) return timeStr(v);
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
  if (v instanceof PyDateTime) {
    const f = fieldsOf(v);
    const parts = [f.year, f.month, f.day, f.hour, f.minute, ...(f.second || f.microsecond ? [f.second] : []), ...(f.microsecond ? [f.microsecond] : [])];
    return `datetime.datetime(${parts.join(', ')})`;
  }
  if (v instanceof PyTimeDelta) {
    const { days, seconds, microseconds: micro } = deltaParts(v);
    const parts = [days ? `days=${days}` : '', seconds ? `seconds=${seconds}` : '', micro ? `microseconds=${micro}` : ''].filter(Boolean);
    return `datetime.timedelta(${parts.length ? parts.join(', ') : '0'})`;
  }
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
    // hostvars and hostvars[x] stay lazy, as Ansible's HostVars: walking them renders every variable of every host.
    if (isSelfTemplating(v)) return v;
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

/** Object.assign through setKey: a key named __proto__ in `from` stays an ordinary key of `to`. */
export function assignKeys(to: Record<string, unknown>, from: Readonly<Record<string, unknown>>): void {
  for (const [k, v] of Object.entries(from)) setKey(to, k, v);
}

/** The marker getItem() returns for a key that is not there. */
export const MISSING: unique symbol = Symbol('missing');

// Objects whose values template themselves when read (hostvars): walking them would visit every
// host's variables, each holding hostvars again, without end.
const selfTemplating = new WeakSet<object>();
// What messages call such an object (`hostvars['web1']`) instead of printing it.
const selfTemplatingLabels = new WeakMap<object, string>();

/** Marks an object whose properties render their own templates on access, so nothing walks into it; messages
 *  name it by `label` instead of printing it. */
export function markSelfTemplating<T extends object>(o: T, label?: string): T {
  selfTemplating.add(o);
  if (label !== undefined) selfTemplatingLabels.set(o, label);
  return o;
}

/** True for an object marked with markSelfTemplating. */
export function isSelfTemplating(o: object): boolean {
  return selfTemplating.has(o);
}

/** What messages call a self-templating object, if it was given a name. */
export function selfTemplatingLabel(o: object): string | undefined {
  return selfTemplatingLabels.get(o);
}

/** Why `obj.name` is undefined, for the error a use of it raises. */
export function noAttribute(obj: unknown, name: string): string {
  const label = typeof obj === 'object' && obj !== null ? selfTemplatingLabel(obj) : undefined;
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
    const label = selfTemplatingLabel(x);
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
  return new TemplateError(`unsupported operand type(s) for ${op}: '${pyTypeName(a)}' and '${pyTypeName(b)}'`, { type: true });
}

// Python repeats to any size memory allows; a string or list repeated past these would take imgplay's heap
// with it (a fatal error, not an exception), so it is refused as too large, as JavaScript refuses larger ones.
const MAX_REPEATED_CHARS = 1 << 26;
const MAX_REPEATED_ITEMS = 1 << 23;

function repeat<T>(items: T[] | string, times: unknown): T[] | string {
  const n = Math.max(0, num(times as number));
  const size = items.length * n;
  if (size > (typeof items === 'string' ? MAX_REPEATED_CHARS : MAX_REPEATED_ITEMS)) {
    throw new TemplateError(`the result is too large to build: ${typeof items === 'string' ? 'a string' : 'a list'} of ${size} ${typeof items === 'string' ? 'characters' : 'items'}`);
  }
  if (typeof items === 'string') return items.repeat(n);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(...items);
  return isTuple(items) ? tuple(out) : out;
}

/** Python's arithmetic operators: + - * / // % ** on numbers, + and * on strings and lists, % formatting. */
export function binaryOp(op: '+' | '-' | '*' | '/' | '//' | '%' | '**', a: unknown, b: unknown): unknown {
  if (a instanceof PyDateTime || a instanceof PyTimeDelta || b instanceof PyDateTime || b instanceof PyTimeDelta) {
    const dt = (x: unknown): x is PyDateTime => x instanceof PyDateTime;
    const td = (x: unknown): x is PyTimeDelta => x instanceof PyTimeDelta;
    if (op === '-' && dt(a) && dt(b)) return new PyTimeDelta(a.us - b.us);
    if (op === '-' && dt(a) && td(b)) return new PyDateTime(a.us - b.us);
    if (op === '+' && dt(a) && td(b)) return new PyDateTime(a.us + b.us);
    if (op === '+' && td(a) && dt(b)) return new PyDateTime(a.us + b.us);
    if ((op === '+' || op === '-') && td(a) && td(b)) return new PyTimeDelta(op === '+' ? a.us + b.us : a.us - b.us);
    throw typeError(op, a, b);
  }
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

/** Marks a value expressions may call: a template's macros, `caller`, `super`, `loop` and `loop.cycle`. */
export const CALL: unique symbol = Symbol('call');
/** A callable value: `obj[CALL](args, kwargs)`. */
export type Callable = { [CALL]: (args: unknown[], kwargs: Record<string, unknown>) => unknown };

/** True for values made callable by the template engine. */
export function isCallable(v: unknown): v is Callable {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Callable>)[CALL] === 'function';
}
