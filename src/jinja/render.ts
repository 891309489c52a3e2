// Interprets parsed Jinja templates: statements walk the tree, expressions go to the expression language. Macros,
// `caller`, `super`, `self` and recursive `loop` are callables of that language; scopes are prototype chains over
// the task's variables, marked local so values set in a template are not templated again.
import { isUnsafeText, noteUnsafeUse } from '../yaml/unsafe.js';
import { TemplateError } from '../errors.js';
import { asUserError, evaluateRaw, inExpression, markLocalScope, resolveVariable } from './evaluate.js';
import { type Expr } from './expr-syntax.js';
import { CALL, isMapping, pyEquals, pyStr, truthy, tuple, UndefinedValue, type Callable } from './values.js';
import { ANSIBLE_SYNTAX, normaliseSource, type Syntax } from './lexer.js';
import { CALLER_ARG, FILTER_INPUT, parseTemplate, type BlockNode, type Node, type Origin, type Param, type Parsed, type Target } from './parser.js';

/** Finds a template named in include, import, from or extends; undefined when there is none by that name. */
export type Loader = (name: string) => { text: string; name: string } | undefined;

/** A parsed template and what errors call it. */
export interface Compiled {
  parsed: Parsed;
  /** Undefined for the template being rendered (errors say "the template"), else its name as written. */
  name: string | undefined;
}

// Bounds that keep a hostile template from hanging or crashing the process.
const MAX_DEPTH = 200;
const MAX_ITERATIONS = 1_000_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

function tooLarge(at: Origin): TemplateError {
  return new TemplateError(`the template's output grew beyond ${MAX_OUTPUT / 1024 / 1024} MiB; imgplay stops there (line ${at.line})`);
}

type Frame = Record<string, unknown>;
type BlockDef = { node: BlockNode; tpl: Compiled };

interface State {
  syntax: Syntax;
  rawStrings: boolean;
  loader: Loader | undefined;
  depth: number;
  iterations: number;
  multiline: boolean;
}

/** What one template's statements run with: the template (for errors), its context and its block chains. */
interface Run {
  st: State;
  tpl: Compiled;
  ctx: Frame;
  blocks: Map<string, BlockDef[]>;
}

const cache = new Map<string, Compiled>();
const CACHE_LIMIT = 2000;

/** Parses template text (cached by text and syntax). */
export function compileTemplate(text: string, syntax: Syntax, rawStrings: boolean, name?: string): Compiled {
  const key = `${name ?? ''}\0${rawStrings ? 1 : 0}\0${syntax === ANSIBLE_SYNTAX ? '' : JSON.stringify(syntax)}\0${text}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const compiled = { parsed: parseTemplate(normaliseSource(text, syntax), syntax, rawStrings, name), name };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

/** Renders a compiled template against variables; the caller restores trailing newlines. */
export function renderTemplate(tpl: Compiled, vars: Readonly<Record<string, unknown>>, opts: { syntax: Syntax; rawStrings: boolean; loader?: Loader; multiline: boolean }): string {
  const st: State = { syntax: opts.syntax, rawStrings: opts.rawStrings, loader: opts.loader, depth: 0, iterations: 0, multiline: opts.multiline };
  const ctx = local(Object.create(vars) as Frame);
  try {
    return runTemplate(st, tpl, ctx, new Map());
  } catch (err) {
    throw asUserError(err);
  }
}

function local(frame: Frame): Frame {
  return markLocalScope(frame);
}

function child(frame: Frame): Frame {
  return local(Object.create(frame) as Frame);
}

function callable(fn: (args: unknown[], kwargs: Record<string, unknown>) => unknown, props: Frame = {}): Frame & Callable {
  return Object.assign(props, { [CALL]: fn });
}

function deeper<T>(st: State, what: string, fn: () => T): T {
  if (st.depth >= MAX_DEPTH) {
    throw new TemplateError(`template recursion deeper than ${MAX_DEPTH} levels (${what})`, {
      hint: 'a macro, include, import or recursive loop that calls itself needs a condition that ends the recursion',
    });
  }
  st.depth++;
  try {
    return fn();
  } finally {
    st.depth--;
  }
}

function runTemplate(st: State, tpl: Compiled, ctx: Frame, inherited: Map<string, BlockDef[]>): string {
  const blocks = new Map(inherited);
  for (const [n, node] of tpl.parsed.blocks) blocks.set(n, [...(blocks.get(n) ?? []), { node, tpl }]);
  const run: Run = { st, tpl, ctx, blocks };
  if (blocks.size > 0) ctx.self = selfReference(run);
  let out = '';
  let parent: Compiled | undefined;
  for (const node of tpl.parsed.body) {
    if (node.k === 'extends') {
      parent = load(run, node.template, ctx, node.at, false);
      continue;
    }
    // After extends, a child's own text and blocks do not print; its sets and macros still take effect.
    if (parent) {
      if (node.k !== 'block' && node.k !== 'text' && node.k !== 'out') renderNode(run, node, ctx);
      continue;
    }
    out += renderNode(run, node, ctx);
  }
  if (!parent) return out;
  const p = parent;
  return out + deeper(st, `extends '${p.name}'`, () => runTemplate(st, p, ctx, blocks));
}

function selfReference(run: Run): Frame {
  const self: Frame = {};
  for (const name of run.blocks.keys()) self[name] = callable(() => deeper(run.st, `self.${name}()`, () => renderBlock(run, name, 0, run.ctx)));
  return self;
}

function renderNodes(run: Run, nodes: Node[], frame: Frame): string {
  let out = '';
  for (const node of nodes) out += renderNode(run, node, frame);
  return out;
}

// Adds the tag and its line to an error raised while evaluating it.
function located<T>(run: Run, at: Origin, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const where = run.tpl.name !== undefined ? ` (line ${at.line} of template '${run.tpl.name}')` : run.st.multiline ? ` (line ${at.line} of the template)` : '';
    throw inExpression(asUserError(err), `${at.src}${where}`);
  }
}

function value(run: Run, expr: Expr, frame: Frame, at: Origin): unknown {
  return located(run, at, () => {
    const v = evaluateRaw(expr, frame);
    if (v instanceof UndefinedValue) throw v.error();
    return v;
  });
}

// What `{{ x }}` prints: None as '' (Ansible's finalize), strings as they are, anything else as Python's str().
export function show(v: unknown): string {
  if (v instanceof UndefinedValue) throw v.error();
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') return pyStr(v);
  if (isUnsafeText(v)) noteUnsafeUse();
  return v;
}

function renderNode(run: Run, node: Node, frame: Frame): string {
  switch (node.k) {
    case 'text':
      return node.text;
    case 'out':
      return located(run, node.at, () => show(evaluateRaw(node.expr, frame)));
    case 'if': {
      for (const b of node.branches) {
        if (located(run, b.at, () => truthy(evaluateRaw(b.cond, frame)))) return renderNodes(run, b.body, frame);
      }
      return renderNodes(run, node.else, frame);
    }
    case 'for':
      return renderFor(run, node, frame);
    case 'set':
      assign(frame, node.target, value(run, node.value, frame, node.at), node.at, run);
      return '';
    case 'setblock': {
      const body = renderNodes(run, node.body, child(frame));
      assign(frame, node.target, node.filter ? applyFilter(run, node.filter, body, frame, node.at) : body, node.at, run);
      return '';
    }
    case 'macro':
      frame[node.name] = macro(run, node, frame);
      return '';
    case 'callblock': {
      const caller = callable((args, kwargs) =>
        deeper(run.st, 'caller()', () => renderNodes(run, node.body, bind(run, 'caller', node.params, args, kwargs, frame, false, false, node.at))),
      );
      const layer = child(frame);
      layer[CALLER_ARG] = caller;
      const call: Expr = { ...node.call, kwargs: [...node.call.kwargs, ['caller', { t: 'name', name: CALLER_ARG, pos: node.call.pos }]] };
      return located(run, node.at, () => show(evaluateRaw(call, layer)));
    }
    case 'filter':
      return show(applyFilter(run, node.filter, renderNodes(run, node.body, child(frame)), frame, node.at));
    case 'with': {
      const values = node.assigns.map((a) => value(run, a.value, frame, node.at));
      const inner = child(frame);
      node.assigns.forEach((a, i) => assign(inner, a.target, values[i], node.at, run));
      return renderNodes(run, node.body, inner);
    }
    case 'include': {
      const tpl = load(run, node.template, frame, node.at, node.ignoreMissing);
      if (!tpl) return '';
      const ctx = node.withContext ? child(frame) : local(Object.create(null) as Frame);
      return deeper(run.st, `include '${tpl.name}'`, () => runTemplate(run.st, tpl, ctx, new Map()));
    }
    case 'import':
      frame[node.alias] = importModule(run, node.template, node.withContext, frame, node.at);
      return '';
    case 'from': {
      const mod = importModule(run, node.template, node.withContext, frame, node.at);
      for (const [name, alias] of node.names) frame[alias] = Object.hasOwn(mod, name) ? mod[name] : undefined;
      return '';
    }
    case 'extends':
      throw new TemplateError(`${run.st.syntax.blockStart} extends ${run.st.syntax.blockEnd} inside another statement is not supported by imgplay (line ${node.at.line}): write it at the top level of the template`);
    case 'block':
      return renderBlock(run, node.name, 0, frame);
  }
}

function renderBlock(run: Run, name: string, idx: number, frame: Frame): string {
  const defs = run.blocks.get(name);
  const def = defs?.[idx];
  if (!defs || !def) throw new TemplateError(`no block '${name}' to render`);
  if (def.node.required && idx === 0) {
    throw new TemplateError(`the required block '${name}' is not defined by any template extending the one that declares it`);
  }
  const inner = child(def.node.scoped ? frame : run.ctx);
  inner.super = callable(() => {
    if (idx + 1 >= defs.length) throw new TemplateError(`super() in block '${name}': no parent template defines it`);
    return deeper(run.st, `super() of block '${name}'`, () => renderBlock(run, name, idx + 1, frame));
  });
  return renderNodes({ ...run, tpl: def.tpl }, def.node.body, inner);
}

function applyFilter(run: Run, filter: Expr, input: string, frame: Frame, at: Origin): unknown {
  const layer = child(frame);
  layer[FILTER_INPUT] = input;
  return value(run, filter, layer, at);
}

function assign(frame: Frame, target: Target, v: unknown, at: Origin, run: Run): void {
  if ('ns' in target) {
    const ns = located(run, at, () => resolveVariable(frame, target.ns));
    if (!isMapping(ns)) throw new TemplateError(`cannot set ${target.ns}.${target.attr}: '${target.ns}' is not a namespace (line ${at.line})`);
    ns[target.attr] = v;
    return;
  }
  bindTargets(frame, target.names, target.names.length > 1 && Array.isArray(v) ? tuple([...v]) : v);
}

function bindTargets(frame: Frame, targets: string[], item: unknown): void {
  if (targets.length === 1) {
    frame[targets[0]!] = item;
    return;
  }
  const values = Array.isArray(item) ? item : typeof item === 'string' ? [...item] : isMapping(item) ? Object.keys(item) : undefined;
  if (!values || values.length !== targets.length) {
    throw new TemplateError(`cannot unpack ${pyStr(item)} into ${targets.length} variables (${targets.join(', ')})`);
  }
  targets.forEach((t, i) => {
    frame[t] = values[i];
  });
}

function loopItems(v: unknown): unknown[] {
  if (v instanceof UndefinedValue) throw v.error();
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isMapping(v)) return Object.keys(v);
  throw new TemplateError(`cannot loop over ${v === null ? 'None' : pyStr(v)}: a list, dict or string is needed`);
}

function renderFor(run: Run, node: Extract<Node, { k: 'for' }>, frame: Frame): string {
  const over = (iterable: unknown, depth: number): string => {
    let items = located(run, node.at, () => loopItems(iterable));
    if (node.cond) {
      const cond = node.cond;
      items = items.filter((item) => {
        const f = child(frame);
        bindTargets(f, node.targets, item);
        return located(run, node.at, () => truthy(evaluateRaw(cond, f)));
      });
    }
    if (items.length === 0) return renderNodes(run, node.else, child(frame));
    let out = '';
    const length = items.length;
    let last: unknown[] | undefined;
    let i = 0;
    // One loop object per loop, updated as it advances (Jinja's LoopContext is one object too).
    const loop: Frame = {
      length, depth, depth0: depth - 1,
      cycle: callable((args) => {
        if (args.length === 0) throw new TemplateError('loop.cycle() needs at least one value');
        return args[i % args.length];
      }),
      changed: callable((args) => {
        const changed = last === undefined || last.length !== args.length || !args.every((a, k) => pyEquals(a, last![k]));
        last = args;
        return changed;
      }),
    };
    if (node.recursive) callable((args) => deeper(run.st, 'a recursive loop', () => over(args[0], depth + 1)), loop);
    for (; i < length; i++) {
      if (++run.st.iterations > MAX_ITERATIONS) {
        throw new TemplateError(`the template's loops ran more than ${MAX_ITERATIONS} iterations; imgplay stops there (line ${node.at.line})`);
      }
      if (out.length > MAX_OUTPUT) throw tooLarge(node.at);
      const f = child(frame);
      located(run, node.at, () => bindTargets(f, node.targets, items[i]));
      loop.index = i + 1;
      loop.index0 = i;
      loop.revindex = length - i;
      loop.revindex0 = length - i - 1;
      loop.first = i === 0;
      loop.last = i === length - 1;
      loop.previtem = i > 0 ? items[i - 1] : undefined;
      loop.nextitem = i + 1 < length ? items[i + 1] : undefined;
      f.loop = loop;
      out += renderNodes(run, node.body, f);
    }
    return out;
  };
  const iterable = located(run, node.at, () => evaluateRaw(node.iter, frame));
  return over(iterable, 1);
}

function bind(run: Run, what: string, params: Param[], args: unknown[], kwargs: Record<string, unknown>, parent: Frame, catchVarargs: boolean, catchKwargs: boolean, at: Origin): Frame {
  const f = child(parent);
  const rest = { ...kwargs };
  params.forEach((p, i) => {
    if (i < args.length) {
      if (Object.hasOwn(rest, p.name)) throw new TemplateError(`${what} got multiple values for the argument '${p.name}'`);
      f[p.name] = args[i];
    } else if (Object.hasOwn(rest, p.name)) {
      f[p.name] = rest[p.name];
    } else if (p.dflt) {
      f[p.name] = value(run, p.dflt, f, at);
    } else {
      f[p.name] = undefined;
    }
    delete rest[p.name];
  });
  const extra = args.slice(params.length);
  if (extra.length > 0 && !catchVarargs) throw new TemplateError(`${what} takes not more than ${params.length} argument(s)`);
  if (catchVarargs) f.varargs = tuple(extra);
  const unknown = Object.keys(rest).filter((k) => k !== 'caller');
  if (unknown.length > 0 && !catchKwargs) throw new TemplateError(`${what} takes no keyword argument '${unknown[0]}'`);
  if (catchKwargs) f.kwargs = Object.fromEntries(unknown.map((k) => [k, rest[k]]));
  if (Object.hasOwn(rest, 'caller')) f.caller = rest.caller;
  return f;
}

function macro(run: Run, node: Extract<Node, { k: 'macro' }>, frame: Frame): Frame & Callable {
  const what = `macro '${node.name}'`;
  return callable((args, kwargs) =>
    deeper(run.st, what, () => renderNodes(run, node.body, bind(run, what, node.params, args, kwargs, frame, node.catchVarargs, node.catchKwargs, node.at))),
  );
}

function load(run: Run, nameExpr: Expr, frame: Frame, at: Origin, ignoreMissing: boolean): Compiled | undefined {
  const names = value(run, nameExpr, frame, at);
  const list = Array.isArray(names) ? names : [names];
  const tried: string[] = [];
  for (const n of list) {
    if (typeof n !== 'string') throw new TemplateError(`a template name must be a string, not ${pyStr(n)} (line ${at.line})`);
    tried.push(n);
    if (!run.st.loader) {
      throw new TemplateError(`${at.src}: templates can be included, imported or extended only from template files (the template module), line ${at.line}`);
    }
    const found = run.st.loader(n);
    if (found) return compileTemplate(found.text, run.st.syntax, run.st.rawStrings, found.name);
  }
  if (ignoreMissing) return undefined;
  throw new TemplateError(`template not found: ${tried.map((t) => `'${t}'`).join(', ')} (in ${at.src}, line ${at.line})`, {
    hint: "templates are searched in the role's templates/ and the playbook's templates/ directories, as Ansible does",
  });
}

function importModule(run: Run, nameExpr: Expr, withContext: boolean, frame: Frame, at: Origin): Frame {
  const tpl = load(run, nameExpr, frame, at, false)!;
  const ctx = withContext ? child(frame) : local(Object.create(null) as Frame);
  deeper(run.st, `import '${tpl.name}'`, () => runTemplate(run.st, tpl, ctx, new Map()));
  const mod: Frame = {};
  for (const key of Object.keys(ctx)) if (!key.startsWith('_') && key !== 'self') mod[key] = ctx[key];
  return mod;
}
