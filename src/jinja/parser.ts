// Parses lexed Jinja into a tree of statements; expressions inside them are parsed by the expression language's
// parser, so `{{ }}` and `{% %}` share one grammar.
import { ExprParser, ExprSyntaxError, type Expr, type Token } from './expr-syntax.js';
import { lex, tagParser, templateSyntaxError, type LexToken, type Syntax } from './lexer.js';

/** Assignment targets: names (`a` or `a, b`) or a namespace attribute (`ns.count`). */
export type Target = { names: string[] } | { ns: string; attr: string };
export interface Param {
  name: string;
  dflt: Expr | null;
}

/** Where a node came from, for error messages: the tag's source and its line. */
export interface Origin {
  src: string;
  line: number;
}

export type Node =
  | { k: 'text'; text: string }
  | { k: 'out'; expr: Expr; at: Origin }
  | { k: 'if'; branches: { cond: Expr; body: Node[]; at: Origin }[]; else: Node[] }
  | { k: 'for'; targets: string[]; iter: Expr; cond: Expr | null; recursive: boolean; body: Node[]; else: Node[]; at: Origin }
  | { k: 'set'; target: Target; value: Expr; at: Origin }
  | { k: 'setblock'; target: Target; filter: Expr | null; body: Node[]; at: Origin }
  | { k: 'macro'; name: string; params: Param[]; body: Node[]; catchVarargs: boolean; catchKwargs: boolean; at: Origin }
  | { k: 'callblock'; call: Extract<Expr, { t: 'call' }>; params: Param[]; body: Node[]; at: Origin }
  | { k: 'filter'; filter: Expr; body: Node[]; at: Origin }
  | { k: 'with'; assigns: { target: Target; value: Expr }[]; body: Node[]; at: Origin }
  | { k: 'include'; template: Expr; ignoreMissing: boolean; withContext: boolean; at: Origin }
  | { k: 'import'; template: Expr; alias: string; withContext: boolean; at: Origin }
  | { k: 'from'; template: Expr; names: [string, string][]; withContext: boolean; at: Origin }
  | { k: 'extends'; template: Expr; at: Origin }
  | { k: 'block'; name: string; scoped: boolean; required: boolean; body: Node[]; at: Origin };

export type BlockNode = Extract<Node, { k: 'block' }>;

/** A parsed template: its statements and every `{% block %}` in it by name. */
export interface Parsed {
  body: Node[];
  blocks: Map<string, BlockNode>;
  /** The lone `{{ expr }}` of a text that holds nothing else but whitespace, and that whitespace. */
  single: { expr: Expr; before: string; after: string } | undefined;
  hasExtends: boolean;
}

/** The name filter blocks and `{% set x | f %}` feed their rendered body through. */
export const FILTER_INPUT = '\u0000filter_input';
/** The name a `{% call %}` passes its body as `caller` through. */
export const CALLER_ARG = '\u0000caller';

// Tags that only close or continue a block, and the block they belong to.
const CLOSERS: Record<string, string> = {
  elif: 'if', else: 'if', endif: 'if', endfor: 'for', endset: 'set', endmacro: 'macro', endcall: 'call',
  endfilter: 'filter', endwith: 'with', endblock: 'block', endraw: 'raw',
};
const EXTENSION_TAGS: Record<string, string> = {
  do: "the 'do' statement is Jinja's jinja2.ext.do extension, which Ansible does not enable",
  break: "'break' is Jinja's jinja2.ext.loopcontrols extension, which Ansible does not enable",
  continue: "'continue' is Jinja's jinja2.ext.loopcontrols extension, which Ansible does not enable",
  trans: "'trans' is Jinja's i18n extension, which Ansible does not enable",
  autoescape: "'autoescape' is not part of Ansible's templating (autoescaping is off)",
};
const RESERVED = ['in', 'not', 'and', 'or', 'if', 'else', 'is', 'true', 'false', 'none', 'True', 'False', 'None'];

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Parses template text (already normalised, see normaliseSource) into statements. */
export function parseTemplate(text: string, syntax: Syntax, rawStrings: boolean, name?: string): Parsed {
  const tokens = lex(text, syntax, rawStrings, name);
  const blocks = new Map<string, BlockNode>();
  let i = 0;
  let hasExtends = false;
  const fail = (at: number, reason: string): never => {
    throw templateSyntaxError(text, at, reason, name);
  };
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ExprSyntaxError) throw templateSyntaxError(text, err.offset, err.reason, name, err);
      throw err;
    }
  };
  const origin = (t: { at: number; end: number }): Origin => ({ src: text.slice(t.at, t.end), line: lineOf(text, t.at) });
  const tag = (kw: string) => `${syntax.blockStart} ${kw} ${syntax.blockEnd}`;

  // Statements until one of `ends` (returned, not consumed by the caller's parser yet) or the end of the text.
  const body = (opener: { keyword: string; at: number } | undefined, ends: string[]): { nodes: Node[]; end: Extract<LexToken, { kind: 'block' }> | undefined } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++]!;
      if (t.kind === 'data') nodes.push({ k: 'text', text: t.text });
      else if (t.kind === 'var') nodes.push(guard(() => outNode(t)));
      else if (ends.includes(t.keyword)) return { nodes, end: t };
      else if (CLOSERS[t.keyword]) {
        const opens = CLOSERS[t.keyword]!;
        if (!opener) return fail(t.at, `${tag(t.keyword)} without an open ${tag(opens)}`);
        return fail(t.at, `${tag(t.keyword)} closes the ${tag(opener.keyword)} at line ${lineOf(text, opener.at)}: expected ${tag(ends[ends.length - 1]!)}`);
      } else nodes.push(guard(() => statement(t)));
    }
    if (opener) fail(opener.at, `${tag(opener.keyword)} is never closed with ${tag(ends[ends.length - 1]!)}`);
    return { nodes, end: undefined };
  };

  const outNode = (t: Extract<LexToken, { kind: 'var' }>): Node => {
    const p = new ExprParser(text, t.tokens);
    if (p.atEnd()) throw new ExprSyntaxError(`expected an expression inside ${syntax.variableStart} ${syntax.variableEnd}`, t.tokens[0]!.pos);
    const expr = p.expression();
    p.expectEnd();
    return { k: 'out', expr, at: origin(t) };
  };

  // A nested body closed by `end<keyword>`, with the closing tag's own tokens checked.
  const closed = (t: Extract<LexToken, { kind: 'block' }>, ends: string[]) => {
    const r = body(t, ends);
    return { nodes: r.nodes, end: r.end! };
  };
  const endTag = (t: Extract<LexToken, { kind: 'block' }>, allowName?: string) => {
    const p = tagParser(text, t.tokens, 1);
    if (allowName !== undefined && p.peek().type === 'name') {
      const n = p.next();
      if (n.value !== allowName) fail(n.pos, `${tag('endblock')} names '${n.value}' but closes the block '${allowName}'`);
    }
    if (!p.atEnd()) fail(p.peek().pos, `expected ${syntax.blockEnd} after ${t.keyword}`);
  };

  const target = (p: ExprParser, withNamespace: boolean): Target => {
    const names: string[] = [];
    const paren = p.skip('(');
    do {
      if (paren && p.at(')')) break;
      const tok = p.peek();
      const n = p.expectName('a variable name');
      if (RESERVED.includes(n)) fail(tok.pos, `cannot assign to '${n}'`);
      if (withNamespace && names.length === 0 && p.at('.')) {
        p.next();
        return { ns: n, attr: p.expectName('an attribute name after .') };
      }
      names.push(n);
    } while (p.skip(',') && !p.at('=') && !p.at('in', 'name'));
    if (paren) p.expect(')');
    return { names };
  };

  const params = (p: ExprParser): Param[] => {
    const out: Param[] = [];
    p.expect('(');
    while (!p.at(')')) {
      if (out.length > 0) {
        p.expect(',', "',' or ')'");
        if (p.at(')')) break;
      }
      const tok = p.peek();
      const n = p.expectName('a parameter name');
      if (out.some((x) => x.name === n)) fail(tok.pos, `parameter '${n}' is given twice`);
      const dflt = p.skip('=') ? p.expression() : null;
      if (dflt === null && out.some((x) => x.dflt !== null)) fail(tok.pos, 'a parameter without a default cannot follow one with a default');
      out.push({ name: n, dflt });
    }
    p.next();
    return out;
  };

  // The filters of `{% filter f | g %}` / `{% set x | f %}`, as an expression applied to the rendered body.
  const filterChain = (t: Extract<LexToken, { kind: 'block' }>, from: number): Expr => {
    const first = t.tokens[from]!;
    const synthetic: Token[] = [
      { type: 'name', value: FILTER_INPUT, pos: first.pos, end: first.pos },
      { type: 'op', value: '|', pos: first.pos, end: first.pos },
    ];
    const p = new ExprParser(text, [...synthetic, ...t.tokens.slice(from)]);
    const expr = p.expression();
    p.expectEnd();
    if (expr.t !== 'filter') fail(first.pos, 'expected a filter');
    return expr;
  };

  const withContext = (p: ExprParser, dflt: boolean): boolean => {
    if (p.at('with', 'name') || p.at('without', 'name')) {
      const w = p.next().value === 'with';
      p.expect('context', "'context'", 'name');
      return w;
    }
    return dflt;
  };

  const statement = (t: Extract<LexToken, { kind: 'block' }>): Node => {
    const p = tagParser(text, t.tokens, 1);
    const at = origin(t);
    const done = () => {
      if (!p.atEnd()) p.fail(`expected ${syntax.blockEnd}`);
    };
    switch (t.keyword) {
      case 'if': {
        const branches: { cond: Expr; body: Node[]; at: Origin }[] = [];
        let cond = p.expression();
        done();
        let branchAt = at;
        for (;;) {
          const r = closed(t, ['elif', 'else', 'endif']);
          branches.push({ cond, body: r.nodes, at: branchAt });
          if (r.end.keyword === 'elif') {
            const q = tagParser(text, r.end.tokens, 1);
            cond = guard(() => q.expression());
            if (!q.atEnd()) q.fail(`expected ${syntax.blockEnd}`);
            branchAt = origin(r.end);
            continue;
          }
          if (r.end.keyword === 'else') {
            endTag(r.end);
            const e = closed(t, ['endif']);
            endTag(e.end);
            return { k: 'if', branches, else: e.nodes };
          }
          endTag(r.end);
          return { k: 'if', branches, else: [] };
        }
      }
      case 'for': {
        const tg = target(p, false);
        if (!('names' in tg)) fail(t.at, 'a loop variable cannot be a namespace attribute');
        p.expect('in', "'in'", 'name');
        const iter = p.tuple(false);
        const cond = p.skip('if', 'name') ? p.expression() : null;
        const recursive = p.skip('recursive', 'name');
        done();
        const r = closed(t, ['else', 'endfor']);
        let elseBody: Node[] = [];
        if (r.end.keyword === 'else') {
          endTag(r.end);
          const e = closed(t, ['endfor']);
          endTag(e.end);
          elseBody = e.nodes;
        } else endTag(r.end);
        return { k: 'for', targets: (tg as { names: string[] }).names, iter, cond, recursive, body: r.nodes, else: elseBody, at };
      }
      case 'set': {
        const tg = target(p, true);
        if (p.skip('=')) {
          const value = p.tuple();
          done();
          return { k: 'set', target: tg, value, at };
        }
        if ('names' in tg && tg.names.length > 1) fail(t.at, 'a block set assigns one variable');
        const filter = p.at('|') ? filterChain(t, tokenIndex(t, p) + 1) : null;
        if (!filter) done();
        const r = closed(t, ['endset']);
        endTag(r.end);
        return { k: 'setblock', target: tg, filter, body: r.nodes, at };
      }
      case 'macro': {
        const name = p.expectName('a macro name');
        const ps = params(p);
        done();
        const start = i;
        const r = closed(t, ['endmacro']);
        endTag(r.end, name);
        const inner = tokens.slice(start, i - 1);
        const uses = (n: string) => inner.some((x) => x.kind !== 'data' && x.tokens.some((k) => k.type === 'name' && k.value === n));
        return { k: 'macro', name, params: ps, body: r.nodes, catchVarargs: uses('varargs'), catchKwargs: uses('kwargs'), at };
      }
      case 'call': {
        const ps = p.at('(') ? params(p) : [];
        const call = p.expression();
        done();
        if (call.t !== 'call') fail(t.at, `${tag('call')} needs a macro call such as ${syntax.blockStart} call m() ${syntax.blockEnd}`);
        const r = closed(t, ['endcall']);
        endTag(r.end);
        return { k: 'callblock', call: call as Extract<Expr, { t: 'call' }>, params: ps, body: r.nodes, at };
      }
      case 'filter': {
        const filter = filterChain(t, 1);
        const r = closed(t, ['endfilter']);
        endTag(r.end);
        return { k: 'filter', filter, body: r.nodes, at };
      }
      case 'with': {
        const assigns: { target: Target; value: Expr }[] = [];
        while (!p.atEnd()) {
          if (assigns.length > 0) p.expect(',', "',' or " + syntax.blockEnd);
          const tg = target(p, false);
          p.expect('=');
          assigns.push({ target: tg, value: p.expression() });
        }
        const r = closed(t, ['endwith']);
        endTag(r.end);
        return { k: 'with', assigns, body: r.nodes, at };
      }
      case 'include': {
        const template = p.expression();
        let ignoreMissing = false;
        if (p.at('ignore', 'name')) {
          p.next();
          p.expect('missing', "'missing'", 'name');
          ignoreMissing = true;
        }
        const wc = withContext(p, true);
        done();
        return { k: 'include', template, ignoreMissing, withContext: wc, at };
      }
      case 'import': {
        const template = p.expression();
        p.expect('as', "'as'", 'name');
        const alias = p.expectName('a name after as');
        const wc = withContext(p, false);
        done();
        return { k: 'import', template, alias, withContext: wc, at };
      }
      case 'from': {
        const template = p.expression();
        p.expect('import', "'import'", 'name');
        const names: [string, string][] = [];
        let wc = false;
        for (;;) {
          if (names.length > 0 && !p.skip(',')) break;
          if ((p.at('with', 'name') || p.at('without', 'name')) && p.peek(1).type === 'name' && p.peek(1).value === 'context') {
            wc = withContext(p, false);
            break;
          }
          if (p.atEnd()) break;
          const n = p.expectName('a name to import');
          if (n.startsWith('_')) fail(p.peek().pos, `names starting with an underscore cannot be imported ('${n}')`);
          names.push([n, p.skip('as', 'name') ? p.expectName('a name after as') : n]);
        }
        if (names.length === 0) p.fail('expected a name to import');
        if (!wc) wc = withContext(p, false);
        done();
        return { k: 'from', template, names, withContext: wc, at };
      }
      case 'extends': {
        const template = p.expression();
        done();
        if (hasExtends) fail(t.at, `a template can extend only one other (a second ${syntax.blockStart} extends ${syntax.blockEnd})`);
        hasExtends = true;
        return { k: 'extends', template, at };
      }
      case 'block': {
        const n = p.expectName('a block name');
        const scoped = p.skip('scoped', 'name');
        const required = p.skip('required', 'name');
        done();
        if (blocks.has(n)) fail(t.at, `the block '${n}' is defined twice`);
        const r = closed(t, ['endblock']);
        endTag(r.end, n);
        if (required && r.nodes.some((x) => !(x.k === 'text' && x.text.trim() === ''))) fail(t.at, `the required block '${n}' may hold only whitespace`);
        const node: BlockNode = { k: 'block', name: n, scoped, required, body: r.nodes, at };
        blocks.set(n, node);
        return node;
      }
      default: {
        const ext = EXTENSION_TAGS[t.keyword];
        if (ext) fail(t.tokens[0]!.pos, `unknown statement '${t.keyword}': ${ext}`);
        return fail(t.tokens[0]!.pos, `unknown statement '${t.keyword}' (Jinja's statements: if, for, set, macro, call, filter, with, include, import, from, extends, block, raw)`);
      }
    }
  };

  const { nodes } = body(undefined, []);
  const meaningful = tokens.filter((t) => !(t.kind === 'data' && t.text.trim() === ''));
  let single: Parsed['single'];
  if (meaningful.length === 1 && meaningful[0]!.kind === 'var' && nodes.length === tokens.length) {
    const at = tokens.indexOf(meaningful[0]!);
    const textOf = (ts: LexToken[]) => ts.map((t) => (t.kind === 'data' ? t.text : '')).join('');
    const out = nodes[at];
    if (out?.k === 'out') single = { expr: out.expr, before: textOf(tokens.slice(0, at)), after: textOf(tokens.slice(at + 1)) };
  }
  return { body: nodes, blocks, single, hasExtends };
}

// The index in a tag's tokens of the parser's next token (for handing the rest to another parser).
function tokenIndex(t: { tokens: Token[] }, p: ExprParser): number {
  const next = p.peek();
  return t.tokens.indexOf(next);
}
