// The expression language of Ansible conditions and `{{ }}` templates: a safe subset of Jinja2, parsed once into
// a small AST (expr-syntax.ts), then evaluated with Python's semantics (values.ts: 1 == 1.0, '' is false, // floors,
// 6 / 2 is 3.0) and Jinja's lazy undefined handling. Never uses JavaScript eval or new Function.
import { noteRead, readsObserved } from '../host/reads.js';
import { noteUnsafeUse } from '../yaml/unsafe.js';
import { randomBytes } from 'node:crypto';
import { didYouMean, ImgplayError, InternalError, TemplateError, UndefinedVariableError } from '../errors.js';
import { callFilter, callTest, type CallEnv } from './filters.js';
import { epochSecondsOf, PyDateTime, PyTimeDelta, timeAttr } from './datetime.js';
import { callGlobal } from './globals.js';
import { formatTime } from './strftime.js';
import { isTemplate, lookupRunner, renderer } from './late-bound.js';
import { type Args, type CompareOp, type Expr, ExprParser, parseExpression, tokenize } from './expr-syntax.js';
import {
  assignKeys, binaryOp, bindArgs, CALL, contains, countFloatMade, describeValue, floatsMadeSoFar, getItem, isCallable, isFloat, isMapping, isNumber,
  isSelfTemplating, isUnsafe, lookupVar, MISSING, jinjaNoAttribute, noAttribute, num, pyCompare, pyEquals, PyFloat, pyFloat, pyRepr, pyStr, pyTypeName,
  selfTemplatingLabel, setKey, slice, toPlain, truthy, tuple, UndefinedValue,
} from './values.js';

/** Ansible's `omit`: module arguments equal to it are dropped by the executor. */
export const OMIT = `__omit_place_holder__${randomBytes(20).toString('hex')}`;

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

type Scope = Readonly<Record<string, unknown>>;

const resolving = new Set<string>();
const templatedCache = new WeakMap<object, boolean>();

/** True if a value holds a template anywhere (strings, list items, dict keys and values); unsafe values hold none. */
export function hasTemplates(v: unknown): boolean {
  return containsTemplate(v);
}


function containsTemplate(v: unknown): boolean {
  if (typeof v === 'string') return isTemplate(v);
  if (typeof v !== 'object' || v === null || isUnsafe(v) || v instanceof PyFloat || isSelfTemplating(v)) return false;
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
  // Reading data marked unsafe (a registered result, a lookup's items) taints what the template makes.
  if (!local && isUnsafe(value)) noteUnsafeUse();
  if (local || !containsTemplate(value)) return value;
  if (resolving.has(name)) {
    throw new TemplateError(`recursive loop detected: the value of '${name}' refers to '${name}' itself`);
  }
  resolving.add(name);
  try {
    return renderer().templateValue(value, scope);
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
      if (node.value instanceof PyFloat) countFloatMade();
      return node.value;
    case 'name':
      return resolveVar(scope, node.name);
    case 'attr': {
      const obj = ev(node.obj, scope);
      if (obj instanceof UndefinedValue) return obj;
      const v = isMapping(obj) ? getItem(obj, node.name) : obj instanceof PyDateTime || obj instanceof PyTimeDelta ? (timeAttr(obj, node.name) ?? MISSING) : MISSING;
      return v === MISSING ? new UndefinedValue(node.text, () => noAttribute(obj, node.name), () => jinjaNoAttribute(obj, node.name)) : v;
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
            ? `${selfTemplatingLabel(obj) ?? 'the dict'} has no key ${describeValue(key)}`
            : `${pyTypeName(obj)} value ${describeValue(obj)} has no item ${describeValue(key)}`;
      return new UndefinedValue(node.text, reason, () => jinjaNoAttribute(obj, key));
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
      // Undefined arguments reach the filter, as in Jinja: most fail on them there, default and ternary may not use them.
      const [args, kwargs] = callArguments(node, scope, true);
      const out = callFilter(node.name, input, args, kwargs, env(scope));
      // Filters such as first return an unnamed undefined value; it is named after the expression written.
      return out instanceof UndefinedValue && out.path === '' ? new UndefinedValue(node.text, out.reason, out.jinja) : out;
    }
    case 'test': {
      const input = ev(node.arg, scope);
      const [args, kwargs] = callArguments(node, scope, true);
      const result = callTest(node.name, input, args, kwargs, env(scope));
      return node.negated ? !result : result;
    }
    case 'call':
      return call(node, scope);
  }
}

// The values of a call's arguments, `*list` and `**dict` spread in; with `lazy`, undefined ones are passed on as they are.
function callArguments(node: Args, scope: Scope, lazy = false): [unknown[], Record<string, unknown>] {
  const value = (a: Expr) => (lazy ? ev(a, scope) : defined(ev(a, scope)));
  const args = node.args.map(value);
  const kwargs: Record<string, unknown> = {};
  for (const [k, a] of node.kwargs) setKey(kwargs, k, value(a));
  if (node.star) {
    const more = defined(ev(node.star, scope));
    if (!Array.isArray(more) && typeof more !== 'string') throw new TemplateError(`*${pyTypeName(more)} cannot be spread into arguments: a list is needed`);
    args.push(...(typeof more === 'string' ? [...more] : more));
  }
  if (node.dstar) {
    const more = defined(ev(node.dstar, scope));
    if (!isMapping(more)) throw new TemplateError(`**${pyTypeName(more)} cannot be spread into arguments: a dict is needed`);
    assignKeys(kwargs, more);
  }
  return [args, kwargs];
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


// ---------------------------------------------------------------------------------------------------------------
// Functions and methods


const GLOBALS = ['range', 'lookup', 'query', 'q', 'dict', 'namespace', 'now', 'undef'];


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
      return lookupRunner()(args[0], args.slice(1), kwargs, scope, callee.name === 'lookup');
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
  if (obj instanceof PyTimeDelta && name === 'total_seconds') {
    bindArgs(name, [], args, kwargs);
    return pyFloat(obj.us / 1_000_000);
  }
  if (obj instanceof PyDateTime && name === 'strftime') {
    const [fmt] = bindArgs(name, ['format'], args, kwargs);
    return formatTime(pyStr(fmt), epochSecondsOf(obj), true);
  }
  const kind = typeof obj === 'string' ? 'str' : Array.isArray(obj) ? 'list' : isMapping(obj) ? 'dict' : undefined;
  const params = kind ? METHODS[kind][name] : undefined;
  if (!kind || !params) {
    const known = kind ? Object.keys(METHODS[kind]) : [];
    const guess = didYouMean(name, known);
    throw new TemplateError(
      `${pyTypeName(obj)} value has no method '${name}' in imgplay${guess ? `; did you mean '${guess}'?` : ''}`,
      { hint: kind ? `${kind} methods: ${known.join(', ')}` : 'methods exist on strings, lists and dicts only (and total_seconds() of a timedelta, strftime() of a datetime)' },
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
  const before = floatsMadeSoFar();
  try {
    const v = defined(ev(expr, vars));
    return floatsMadeSoFar() === before ? v : toPlain(v);
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
      ? new UndefinedVariableError(err.variable, { hint: err.hint ? `${err.hint}; ${where}` : where, cause: err, jinja: err.jinja })
      : new TemplateError(`${err.message} ${where}`, { hint: err.hint, cause: err, type: err instanceof TemplateError && err.type });
  located.set(out, src);
  return out;
}

const located = new WeakMap<Error, string>();

/** The expression (or template) an error was raised in, as inExpression noted it on the error or one it wraps. */
export function expressionOf(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const src = located.get(e);
    if (src !== undefined) return src;
  }
  return undefined;
}

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
  const rendered = renderer().templateValue(cond, vars);
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
