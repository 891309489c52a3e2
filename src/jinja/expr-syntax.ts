// The syntax of expressions in conditions and `{{ }}`: tokenizer, AST and parser (the evaluator is expr.ts).
import { didYouMean, TemplateError } from '../errors.js';
import { filterNames, hasFilter, hasTest, testNames } from './filters.js';
import { pyFloat, PyFloat } from './values.js';

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
/** A call's arguments: positional, keyword, `*list` and `**dict`. */
export type Args = { args: Expr[]; kwargs: [string, Expr][]; star?: Expr; dstar?: Expr };
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
