// Renders Ansible's Jinja-style templates with handlebars: `{{ expr }}` and the Jinja statements Ansible templates
// use ({% if %}, {% for %}, {% set %}, {% raw %}, {# #}, whitespace control, trim_blocks) are translated into calls
// of internal helpers backed by the expression language; handlebars' own mustaches ({{#each}}, {{upper name}})
// pass through, so both spellings work in one template.
import Handlebars from 'handlebars';
import { ImgplayError, TemplateError, UndefinedVariableError } from '../errors.js';
import {
  asUserError,
  evaluateRaw,
  ExprParser,
  ExprSyntaxError,
  hasTemplates,
  inExpression,
  isMapping,
  isUnsafe,
  literalEval,
  PyFloat,
  pyStr,
  resolveVariable,
  setKey,
  tokenize,
  toPlain,
  truthy,
  tuple,
  UndefinedValue,
  type Expr,
} from './expr.js';
import { callFilter, callTest, filterNames, testNames } from './filters.js';

type Vars = Readonly<Record<string, unknown>>;

/** How string literals inside `{{ }}` treat backslashes. */
export interface RenderOptions {
  /** True for template files (the template module): Jinja's escapes apply, so '\n' in a literal is a newline.
   *  False (the default) for task arguments and variables, where Ansible doubles backslashes before Jinja sees
   *  them, so `regex_replace('(a)', '\1')` means group 1 and '\n' stays a backslash and an n. */
  file?: boolean;
}

/** True if the text contains `{{`, `{%` or `{#`: only such strings are templated. */
export function isTemplate(text: string): boolean {
  return text.includes('{{') || text.includes('{%') || text.includes('{#');
}

// ---------------------------------------------------------------------------------------------------------------
// Scanning Jinja text into pieces

type Piece =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; expr: Expr; at: number; end: number; lstrip: boolean; rstrip: boolean }
  | { kind: 'native'; src: string; at: number; jinjaError: ExprSyntaxError | undefined }
  | { kind: 'comment' | 'rawbegin' | 'rawend'; at: number; lstrip: boolean; rstrip: boolean }
  | { kind: 'stmt'; parser: ExprParser; keyword: string; at: number; end: number; lstrip: boolean; rstrip: boolean };

const HANDLEBARS_SIGILS = '#/^!>&~';

/** Where a syntax error is in a template: line and column, and the line with a caret under the spot. */
function templateSyntaxError(text: string, offset: number, reason: string, cause?: unknown): TemplateError {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const col = offset - lineStart + 1;
  const lineText = text.slice(lineStart, text.indexOf('\n', lineStart) < 0 ? undefined : text.indexOf('\n', lineStart));
  const where = text.includes('\n') ? `line ${line}, column ${col} of the template` : `column ${col} of ${JSON.stringify(text)}`;
  return new TemplateError(`template error: ${reason} at ${where}`, {
    hint: `${lineText}\n${' '.repeat(Math.max(0, col - 1))}^`,
    cause,
  });
}

function mustacheEnd(text: string, at: number): number {
  if (text.startsWith('{{!--', at)) {
    const k = text.indexOf('--}}', at + 5);
    return k < 0 ? -1 : k + 4;
  }
  if (text.startsWith('{{!', at)) {
    const k = text.indexOf('}}', at + 3);
    return k < 0 ? -1 : k + 2;
  }
  if (text.startsWith('{{{', at)) {
    const k = text.indexOf('}}}', at + 3);
    return k < 0 ? -1 : k + 3;
  }
  for (let i = at + 2; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return -1;
      i = close;
    } else if (c === '}' && text[i + 1] === '}') return i + 2;
  }
  return -1;
}

const ENDRAW_RE = /\{%([-+]?)\s*endraw\s*([-+]?)%\}/g;

function scan(text: string, rawStrings: boolean): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let textStart = 0;
  const flushText = (end: number) => {
    if (end > textStart) pieces.push({ kind: 'text', text: text.slice(textStart, end) });
  };
  for (;;) {
    const j = text.indexOf('{', i);
    if (j < 0 || j + 1 >= text.length) break;
    const c = text[j + 1];
    if (c !== '{' && c !== '%' && c !== '#') {
      i = j + 1;
      continue;
    }
    flushText(j);
    const marker = text[j + 2];
    const lstrip = marker === '-';
    const inner = j + 2 + (marker === '-' || marker === '+' ? 1 : 0);
    if (c === '#') {
      const k = text.indexOf('#}', inner);
      if (k < 0) {
        throw templateSyntaxError(text, j, "'{#' starts a comment that is never closed with '#}' (use {% raw %}...{% endraw %} for a literal '{#')");
      }
      pieces.push({ kind: 'comment', at: j, lstrip, rstrip: text[k - 1] === '-' && k - 1 >= inner });
      i = k + 2;
    } else if (c === '%') {
      let run;
      try {
        run = tokenize(text, inner, '%}', false);
      } catch (err) {
        if (err instanceof ExprSyntaxError) throw templateSyntaxError(text, err.offset, err.reason, err);
        throw err;
      }
      const parser = new ExprParser(text, run.tokens);
      const kw = parser.peek();
      if (kw.type !== 'name') throw templateSyntaxError(text, kw.pos, 'expected a statement name such as if, for or set after {%');
      parser.next();
      if (kw.value === 'raw') {
        if (!parser.atEnd()) throw templateSyntaxError(text, parser.peek().pos, 'expected %} after raw');
        ENDRAW_RE.lastIndex = run.end;
        const m = ENDRAW_RE.exec(text);
        if (!m) throw templateSyntaxError(text, j, '{% raw %} is never closed with {% endraw %}');
        pieces.push({ kind: 'rawbegin', at: j, lstrip, rstrip: run.trimAfter });
        pieces.push({ kind: 'text', text: text.slice(run.end, m.index) });
        pieces.push({ kind: 'rawend', at: m.index, lstrip: m[1] === '-', rstrip: m[2] === '-' });
        i = m.index + m[0].length;
      } else {
        pieces.push({ kind: 'stmt', parser, keyword: kw.value, at: j, end: run.end, lstrip, rstrip: run.trimAfter });
        i = run.end;
      }
    } else {
      const piece = HANDLEBARS_SIGILS.includes(text[j + 2] ?? '') ? undefined : tryExpression(text, j, inner, lstrip, rawStrings);
      if (piece !== undefined && !(piece instanceof ExprSyntaxError)) {
        pieces.push(piece);
        i = piece.end;
      } else {
        const end = mustacheEnd(text, j);
        if (end < 0) {
          if (piece) throw templateSyntaxError(text, piece.offset, piece.reason, piece);
          throw templateSyntaxError(text, j, "'{{' is never closed with '}}'");
        }
        pieces.push({ kind: 'native', src: text.slice(j, end), at: j, jinjaError: piece });
        i = end;
      }
    }
    textStart = i;
  }
  flushText(text.length);
  return pieces;
}

function tryExpression(text: string, at: number, inner: number, lstrip: boolean, rawStrings: boolean): Extract<Piece, { kind: 'expr' }> | ExprSyntaxError {
  try {
    const run = tokenize(text, inner, '}}', rawStrings);
    const parser = new ExprParser(text, run.tokens);
    if (parser.atEnd()) throw new ExprSyntaxError('expected an expression inside {{ }}', inner);
    const expr = parser.expression();
    parser.expectEnd();
    return { kind: 'expr', expr, at, end: run.end, lstrip, rstrip: run.trimAfter };
  } catch (err) {
    if (err instanceof ExprSyntaxError) return err;
    throw err;
  }
}

// Jinja's whitespace control: `{%-`/`-%}` strip whitespace on that side, and trim_blocks (Ansible's default) drops
// the newline right after a block or comment tag. Leading indentation is kept (lstrip_blocks is off).
function controlWhitespace(pieces: Piece[]): void {
  pieces.forEach((p, idx) => {
    if (p.kind === 'text' || p.kind === 'native') return;
    const prev = pieces[idx - 1];
    const next = pieces[idx + 1];
    if (p.lstrip && prev?.kind === 'text') prev.text = prev.text.replace(/\s+$/, '');
    if (next?.kind !== 'text') return;
    if (p.rstrip) next.text = next.text.replace(/^\s+/, '');
    else if (p.kind !== 'expr' && p.kind !== 'rawbegin' && next.text.startsWith('\n')) next.text = next.text.slice(1);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Translating pieces to handlebars

interface ForEntry {
  targets: string[];
  iter: Expr;
  cond: Expr | null;
}
interface SetEntry {
  targets: string[];
  attr: string | undefined;
  value: Expr;
}
type Entry = { expr: Expr; src: string; line: number } | ForEntry | SetEntry | string;

interface Compiled {
  render: Handlebars.TemplateDelegate;
  table: Entry[];
  /** The lone `{{ expr }}` of a text that is nothing else, and the whitespace around it. */
  single: { expr: Expr; before: string; after: string } | undefined;
  /** Native handlebars mustaches read the context object, so it must hold the variables as own properties. */
  native: boolean;
  trailingNewlines: number;
  text: string;
  /** The first `{{ }}` that did not parse as an expression and was left to handlebars. */
  jinjaError: { error: ExprSyntaxError } | undefined;
}

const STATEMENTS = 'if, elif, else, endif, for, endfor, set, raw';
// `{{!}}` around block tags keeps handlebars from treating them as "standalone" lines and eating whitespace that
// Jinja keeps.
const guard = (tag: string) => `{{!}}${tag}{{!}}`;

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function targetsOf(parser: ExprParser, text: string): string[] {
  const names = [parser.expectName('a loop variable name')];
  while (parser.skip(',')) {
    if (parser.at('in', 'name')) break;
    names.push(parser.expectName('a loop variable name'));
  }
  if (names.some((n) => ['in', 'not', 'and', 'or', 'if', 'else', 'is'].includes(n))) {
    throw templateSyntaxError(text, parser.peek().pos, 'expected a variable name');
  }
  return names;
}

function translate(text: string, pieces: Piece[]): { source: string; table: Entry[]; native: boolean; jinjaError: Compiled['jinjaError'] } {
  const table: Entry[] = [];
  const add = (e: Entry) => table.push(e) - 1;
  const stack: { keyword: 'if' | 'for'; at: number; sawElse: boolean }[] = [];
  let out = '';
  let native = false;
  let jinjaError: Compiled['jinjaError'];
  const helpers = new Set([...filterNames(), ...testNames().map((n) => `is_${n}`)]);
  const fail = (at: number, reason: string): never => {
    throw templateSyntaxError(text, at, reason);
  };
  const parse = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ExprSyntaxError) throw templateSyntaxError(text, err.offset, err.reason, err);
      throw err;
    }
  };

  for (const p of pieces) {
    switch (p.kind) {
      case 'text':
        if (p.text === '') break;
        // Braces and backslashes next to a mustache would change its meaning for handlebars: emit such text whole.
        out += /[{}\\\0]/.test(p.text) ? `{{__t ${add(p.text)}}}` : p.text;
        break;
      case 'expr':
        out += `{{__e ${add({ expr: p.expr, src: text.slice(p.at, p.end), line: lineOf(text, p.at) })}}}`;
        break;
      case 'comment':
      case 'rawbegin':
      case 'rawend':
        break;
      case 'native':
        native = true;
        if (p.jinjaError && !jinjaError) jinjaError = { error: p.jinjaError };
        out += nativeMustache(p.src, helpers, text, p.at, p.jinjaError);
        break;
      case 'stmt': {
        const { parser, keyword, at, end } = p;
        const where = { src: text.slice(at, end), line: lineOf(text, at) };
        const top = stack[stack.length - 1];
        switch (keyword) {
          case 'if':
            out += guard(`{{#__if ${add({ expr: parse(() => parser.tuple(false)), ...where })}}}`);
            stack.push({ keyword: 'if', at, sawElse: false });
            break;
          case 'elif':
            if (top?.keyword !== 'if' || top.sawElse) fail(at, top?.keyword === 'if' ? '{% elif %} after {% else %}' : '{% elif %} outside of an {% if %} block');
            out += guard(`{{else __if ${add({ expr: parse(() => parser.tuple(false)), ...where })}}}`);
            break;
          case 'else':
            if (!top) fail(at, '{% else %} outside of an {% if %} or {% for %} block');
            if (top!.sawElse) fail(at, `a second {% else %} in the same {% ${top!.keyword} %} block`);
            top!.sawElse = true;
            out += guard('{{else}}');
            break;
          case 'endif':
          case 'endfor': {
            const want = keyword === 'endif' ? 'if' : 'for';
            if (top?.keyword !== want) {
              fail(at, top ? `{% ${keyword} %} closes the {% ${top.keyword} %} at line ${lineOf(text, top.at)}: expected {% end${top.keyword} %}` : `{% ${keyword} %} without an open {% ${want} %}`);
            }
            stack.pop();
            out += guard(`{{/__${want}}}`);
            break;
          }
          case 'for': {
            const entry = parse((): ForEntry => {
              const targets = targetsOf(parser, text);
              parser.expect('in', "'in'", 'name');
              const iter = parser.tuple(false);
              const cond = parser.skip('if', 'name') ? parser.expression() : null;
              if (parser.at('recursive', 'name')) parser.fail('recursive loops are not supported by imgplay; expected %}');
              return { targets, iter, cond };
            });
            out += guard(`{{#__for ${add(entry)}}}`);
            stack.push({ keyword: 'for', at, sawElse: false });
            break;
          }
          case 'set': {
            const entry = parse((): SetEntry => {
              const first = parser.expectName('a variable name');
              let attr: string | undefined;
              const targets = [first];
              if (parser.skip('.')) attr = parser.expectName('an attribute name');
              else while (parser.skip(',')) targets.push(parser.expectName('a variable name'));
              if (!parser.at('=')) parser.fail("expected '=' ({% set x %}...{% endset %} blocks are not supported)");
              parser.next();
              return { targets, attr, value: parser.tuple() };
            });
            out += `{{__set ${add(entry)}}}`;
            break;
          }
          default:
            fail(at, `unsupported Jinja statement '${keyword}' (imgplay supports ${STATEMENTS})`);
        }
        parse(() => {
          if (!parser.atEnd()) parser.fail('expected %}');
        });
        break;
      }
    }
  }
  const open = stack[stack.length - 1];
  if (open) fail(open.at, `{% ${open.keyword} %} is never closed with {% end${open.keyword} %}`);
  return { source: out, table, native, jinjaError };
}

const BUILTIN_HELPERS = new Set(['if', 'unless', 'each', 'with', 'lookup', 'log']);

// A handlebars-native mustache. Helper calls and paths are wrapped in __out so they print as Jinja prints values
// (True, ['a', 'b']); block tags, else, comments and partials pass through as written.
function nativeMustache(src: string, helpers: Set<string>, text: string, at: number, jinjaError: ExprSyntaxError | undefined): string {
  if (src.startsWith('{{{') || src.startsWith('{{!')) return src;
  const m = /^\{\{(~?)([\s\S]*?)(~?)\}\}$/.exec(src);
  if (!m) return src;
  const body = m[2]!.trim();
  if (body === '' || HANDLEBARS_SIGILS.includes(body[0]!) || /^else\b/.test(body)) return src;
  const word = /^[^\s()]+/.exec(body)?.[0] ?? '';
  const hasParams = body.length > word.length;
  if (hasParams && !helpers.has(word) && !BUILTIN_HELPERS.has(word)) {
    // Not a helper call, so it was meant as an expression: its syntax error is the one to report.
    if (jinjaError) {
      const looksLikeHelperCall = /^[\w.@/-]+(?:\s+(?:"[^"]*"|'[^']*'|[\w.@/-]+))+$/.test(body);
      const remark = looksLikeHelperCall ? ` (and no handlebars helper is named '${word}')` : '';
      throw templateSyntaxError(text, jinjaError.offset, `${jinjaError.reason}${remark}`, jinjaError);
    }
    throw templateSyntaxError(text, at, `unknown helper '${word}' in ${src}`);
  }
  return `{{${m[1]}__out ${hasParams ? `(${body})` : body}${m[3]}}}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The handlebars environment and its helpers

type Options = Handlebars.HelperOptions & { data: Frame; ids?: unknown[] };
interface Frame {
  __scope: Record<string, unknown>;
  __ctx: unknown;
  __table: Entry[];
  __native: boolean;
  __multiline: boolean;
  root: unknown;
}

// Handlebars copies and wraps every registered helper on each render, so templates without native mustaches
// use an environment holding only the internal helpers; the filters-as-helpers one is for the others.
const envs: { core?: typeof Handlebars; full?: typeof Handlebars } = {};

// Inside native {{#each}} or {{#with}} the handlebars context is an item: layer it over the Jinja scope so
// `{{ name }}` finds the item's keys first, and `this` is the item itself.
function scopeOf(ctx: unknown, data: Frame): Record<string, unknown> {
  if (ctx === data.__ctx) return data.__scope;
  const layered = Object.create(data.__scope) as Record<string, unknown>;
  if (isMapping(ctx)) Object.assign(layered, ctx);
  layered.this = ctx;
  return layered;
}

// What `{{ x }}` prints: None as '' (Ansible's finalize), strings as they are, anything else as Python's str().
function show(v: unknown): string {
  if (v instanceof UndefinedValue) throw v.error();
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : pyStr(v);
}

function annotate(err: unknown, entry: { src: string; line: number }, multiline: boolean): unknown {
  return inExpression(err, multiline ? `${entry.src} (line ${entry.line} of the template)` : entry.src);
}

function entry<T extends Entry>(options: Options, idx: number): T {
  return options.data.__table[idx] as T;
}

// A context for handlebars-native mustaches: every variable as an own, lazily templated property, because
// handlebars only reads own properties.
function nativeView(scope: Record<string, unknown>): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const key in scope) {
    Object.defineProperty(view, key, { enumerable: true, get: () => resolveVariable(scope, key) });
  }
  return view;
}

function bindTargets(scope: Record<string, unknown>, targets: string[], item: unknown): void {
  if (targets.length === 1) {
    scope[targets[0]!] = item;
    return;
  }
  const values = Array.isArray(item) ? item : typeof item === 'string' ? [...item] : undefined;
  if (!values || values.length !== targets.length) {
    throw new TemplateError(`cannot unpack ${pyStr(item)} into ${targets.length} loop variables (${targets.join(', ')})`);
  }
  targets.forEach((t, i) => {
    scope[t] = values[i];
  });
}

function loopItems(v: unknown): unknown[] {
  if (v instanceof UndefinedValue) throw v.error();
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isMapping(v)) return Object.keys(v);
  throw new TemplateError(`cannot loop over ${v === null ? 'None' : pyStr(v)}: a list, dict or string is needed`);
}

function handlebars(withFilters: boolean): typeof Handlebars {
  const cached = withFilters ? envs.full : envs.core;
  if (cached) return cached;
  const hb = Handlebars.create();
  hb.registerHelper('__t', (idx: number, options: Options) => entry<string>(options, idx));
  hb.registerHelper('__e', function (this: unknown, idx: number, options: Options) {
    const e = entry<{ expr: Expr; src: string; line: number }>(options, idx);
    try {
      return show(evaluateRaw(e.expr, scopeOf(this, options.data)));
    } catch (err) {
      throw annotate(err, e, options.data.__multiline);
    }
  });
  hb.registerHelper('__if', function (this: unknown, idx: number, options: Options) {
    const e = entry<{ expr: Expr; src: string; line: number }>(options, idx);
    let ok: boolean;
    try {
      ok = truthy(evaluateRaw(e.expr, scopeOf(this, options.data)));
    } catch (err) {
      throw annotate(err, e, options.data.__multiline);
    }
    return ok ? options.fn(this) : options.inverse(this);
  });
  hb.registerHelper('__for', function (this: unknown, idx: number, options: Options) {
    const { targets, iter, cond } = entry<ForEntry>(options, idx);
    const scope = scopeOf(this, options.data);
    let items = loopItems(evaluateRaw(iter, scope));
    if (cond) {
      items = items.filter((item) => {
        const s = Object.create(scope) as Record<string, unknown>;
        bindTargets(s, targets, item);
        return truthy(evaluateRaw(cond, s));
      });
    }
    if (items.length === 0) return options.inverse(this);
    let out = '';
    const length = items.length;
    items.forEach((item, i) => {
      const s = Object.create(scope) as Record<string, unknown>;
      bindTargets(s, targets, item);
      s.loop = {
        index: i + 1, index0: i, revindex: length - i, revindex0: length - i - 1,
        first: i === 0, last: i === length - 1, length,
        previtem: i > 0 ? items[i - 1] : undefined, nextitem: items[i + 1],
      };
      const frame = Handlebars.createFrame(options.data) as Frame;
      const ctx = options.data.__native ? nativeView(s) : s;
      frame.__scope = s;
      frame.__ctx = ctx;
      out += options.fn(ctx, { data: frame });
    });
    return out;
  });
  hb.registerHelper('__set', function (this: unknown, idx: number, options: Options) {
    const { targets, attr, value } = entry<SetEntry>(options, idx);
    const scope = scopeOf(this, options.data);
    const v = evaluateRaw(value, scope);
    if (v instanceof UndefinedValue) throw v.error();
    if (attr !== undefined) {
      const ns = resolveVariable(scope, targets[0]!);
      if (!isMapping(ns)) throw new TemplateError(`cannot set ${targets[0]}.${attr}: '${targets[0]}' is not a namespace or dict`);
      ns[attr] = v;
    } else bindTargets(options.data.__scope, targets, targets.length > 1 && Array.isArray(v) ? tuple([...v]) : v);
    return '';
  });
  hb.registerHelper('__out', (value: unknown, options: Options) => {
    if (value === undefined) {
      const id = options.ids?.[0];
      throw new UndefinedVariableError(typeof id === 'string' ? id : 'a value');
    }
    return show(value);
  });
  // Filters are helpers under their own names (`{{join xs ', '}}`), tests under is_<name> (`{{#if (is_defined x)}}`).
  const callables = withFilters
    ? [...filterNames().map((n) => ({ helper: n, name: n, test: false })), ...testNames().map((n) => ({ helper: `is_${n}`, name: n, test: true }))]
    : [];
  for (const { helper, name, test } of callables) {
    if (BUILTIN_HELPERS.has(helper)) continue;
    hb.registerHelper(helper, function (this: unknown, ...params: unknown[]) {
      const options = params.pop() as Options;
      const values = params.map((p, i) => {
        if (p !== undefined) return p;
        const id = options.ids?.[i];
        return new UndefinedValue(typeof id === 'string' ? id : `argument ${i + 1} of ${helper}`);
      });
      const [input, ...args] = values;
      for (const a of args) if (a instanceof UndefinedValue) throw a.error();
      const env = { scope: scopeOf(this, options.data) };
      return test ? callTest(name, input, args, { ...options.hash }, env) : callFilter(name, input, args, { ...options.hash }, env);
    });
  }
  if (withFilters) envs.full = hb;
  else envs.core = hb;
  return hb;
}

// ---------------------------------------------------------------------------------------------------------------
// Compiling and rendering

const compiled = [new Map<string, Compiled>(), new Map<string, Compiled>()];
const COMPILED_LIMIT = 5000;

function countTrailingNewlines(s: string): number {
  let n = 0;
  while (n < s.length && s[s.length - 1 - n] === '\n') n++;
  return n;
}

function compile(text: string, file: boolean): Compiled {
  const store = compiled[file ? 1 : 0]!;
  const hit = store.get(text);
  if (hit) return hit;
  const pieces = scan(text, !file);
  controlWhitespace(pieces);
  const { source, table, native, jinjaError } = translate(text, pieces);
  const meaningful = pieces.filter((p) => !(p.kind === 'text' && p.text.trim() === ''));
  const only = meaningful.length === 1 && meaningful[0]!.kind === 'expr' ? meaningful[0] : undefined;
  const at = only ? pieces.indexOf(only) : -1;
  const textOf = (ps: Piece[]) => ps.map((p) => (p.kind === 'text' ? p.text : '')).join('');
  const hb = handlebars(native);
  const result: Compiled = {
    render: hb.compile(source, { noEscape: true, strict: true, trackIds: true } as CompileOptionsWithIds),
    table,
    single: only?.kind === 'expr' ? { expr: only.expr, before: textOf(pieces.slice(0, at)), after: textOf(pieces.slice(at + 1)) } : undefined,
    native,
    trailingNewlines: countTrailingNewlines(text),
    text,
    jinjaError,
  };
  if (store.size >= COMPILED_LIMIT) store.clear();
  store.set(text, result);
  return result;
}

type CompileOptionsWithIds = CompileOptions & { trackIds: boolean };
type CompileOptions = Parameters<typeof Handlebars.compile>[1];

function handlebarsError(c: Compiled, err: Error): ImgplayError {
  const notDefined = /^"([^"]+)" not defined in/.exec(err.message);
  if (notDefined) return new UndefinedVariableError(notDefined[1]!, { cause: err });
  if (c.jinjaError) {
    return templateSyntaxError(c.text, c.jinjaError.error.offset, c.jinjaError.error.reason, err);
  }
  const [first, ...rest] = err.message.split('\n');
  return new TemplateError(`template error: handlebars could not render the template: ${first}`, {
    hint: rest.join('\n') || undefined,
    cause: err,
  });
}

function renderCompiled(c: Compiled, vars: Vars): string {
  const scope = Object.create(vars) as Record<string, unknown>;
  const ctx = c.native ? nativeView(scope) : vars;
  const data: Omit<Frame, 'root'> = { __scope: scope, __ctx: ctx, __table: c.table, __native: c.native, __multiline: c.text.includes('\n') };
  let out: string;
  try {
    out = c.render(ctx, { data });
  } catch (err) {
    if (err instanceof ImgplayError) throw err;
    // Handlebars' Exception inherits its constructor from an Error instance, so only instanceof recognises it.
    if (err instanceof Handlebars.Exception) throw handlebarsError(c, err as unknown as Error);
    if (err instanceof Error && /^Parse error|^Expecting|not defined in|Missing helper/.test(err.message)) throw handlebarsError(c, err);
    // Text that is not Jinja (a stray NUL in a name, say) fails as Jinja would, whatever handlebars made of it.
    if (c.jinjaError && err instanceof Error) throw handlebarsError(c, err);
    throw asUserError(err);
  }
  const have = countTrailingNewlines(out);
  // Jinja drops the newline after a closing tag at the end; Ansible then restores the source's trailing newlines.
  return have < c.trailingNewlines ? out + '\n'.repeat(c.trailingNewlines - have) : out;
}

/** Renders a template string to text. Undefined variables throw UndefinedVariableError, malformed templates
 *  TemplateError; the caller adds the task and file:line. */
export function renderString(text: string, vars: Vars, options: RenderOptions = {}): string {
  if (!isTemplate(text)) return text;
  return renderCompiled(compile(text, options.file === true), vars);
}

// Ansible's STRING_TYPE_FILTERS: their text result is never turned back into a list or dict.
const STRING_FILTERS = new Set(['string', 'to_json', 'to_nice_json', 'to_yaml', 'to_nice_yaml']);

function templateString(text: string, vars: Vars, options: RenderOptions): unknown {
  if (!isTemplate(text)) return text;
  const c = compile(text, options.file === true);
  if (!c.single) {
    const out = renderCompiled(c, vars);
    const lit = literalEval(out);
    return lit === undefined ? out : lit;
  }
  const { expr, before, after } = c.single;
  let v: unknown;
  try {
    v = evaluateRaw(expr, vars);
    if (v instanceof UndefinedValue) throw v.error();
  } catch (err) {
    throw inExpression(asUserError(err), text.trim());
  }
  const exact = before === '' && after === '';
  if (typeof v === 'string') {
    // Ansible turns text that looks like a list, dict or bool into one (its literal_eval of template results),
    // except what its string-type filters return; whitespace around a string result is kept.
    const lit = before === '' && !(expr.t === 'filter' && STRING_FILTERS.has(expr.name)) ? literalEval(v) : undefined;
    return lit !== undefined ? lit : exact ? v : before + v + after;
  }
  // Lists, dicts and bools keep their type whatever whitespace surrounds them. Numbers and None keep theirs
  // only through Ansible's single-variable shortcut (`{{ name }}`, optionally followed by one newline);
  // anything computed is text, as Ansible 2.14 renders `"{{ n + 1 }}"` to "3" (its SINGLE_VAR rule).
  if (v !== null && v !== undefined && !isNumberValue(v)) return toPlain(v);
  if (expr.t === 'name' && before === '' && (after === '' || after === '\n')) return toPlain(v);
  return before + show(v) + after;
}

function isNumberValue(v: unknown): boolean {
  return (typeof v === 'number' || v instanceof PyFloat) && typeof v !== 'boolean';
}

/** Deep: strings rendered; a string that is exactly one '{{ expr }}' returns the expression's value with its
 *  type (a list stays a list; with whitespace around, strings and computed numbers keep it as Ansible does);
 *  arrays and plain objects recursed (keys too if templated); other values as is. */
export function templateValue<T = unknown>(value: T, vars: Vars, options: RenderOptions = {}): T {
  if (typeof value === 'string') return templateString(value, vars, options) as T;
  if (typeof value !== 'object' || value === null || isUnsafe(value) || !hasTemplates(value)) return value;
  if (Array.isArray(value)) return value.map((v) => templateValue(v, vars, options)) as T;
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    setKey(out, isTemplate(k) ? pyStr(templateString(k, vars, options)) : k, templateValue(v, vars, options));
  }
  return out as T;
}
