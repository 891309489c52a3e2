// Renders Ansible's Jinja templates: `{{ expr }}` and every Jinja statement (lexer.ts, parser.ts, render.ts), for task arguments,
// variables and template files alike, with Ansible's rules for the types of lone expressions and trailing newlines.
import { isUnsafeText, markUnsafeText, noteUnsafeUse, unsafeUses } from '../yaml/unsafe.js';
import { TemplateError, UndefinedVariableError } from '../errors.js';
import { asUserError, evaluateRaw, hasTemplates, inExpression, literalEval } from './evaluate.js';
import { bindTemplating, isTemplate } from './late-bound.js';
import './lookups.js';
import { isMapping, isUnsafe, markUnsafe, PyFloat, pyStr, setKey, toPlain, UndefinedValue } from './values.js';
import { ANSIBLE_SYNTAX, type Syntax } from './lexer.js';
import { compileTemplate, renderTemplate, show, type Loader } from './render.js';

export type { Loader } from './render.js';
export type { Syntax } from './lexer.js';

type Vars = Readonly<Record<string, unknown>>;

/** How a text is templated. */
export interface RenderOptions {
  /** True for template files (the template module): Jinja's escapes apply, so '\n' in a literal is a newline.
   *  False (the default) for task arguments and variables, where Ansible doubles backslashes before Jinja sees
   *  them, so `regex_replace('(a)', '\1')` means group 1 and '\n' stays a backslash and an n. */
  file?: boolean;
  /** The template module's environment settings (delimiters, trim_blocks, lstrip_blocks, newline_sequence). */
  syntax?: Partial<Syntax>;
  /** Finds the templates named by include, import, from and extends. */
  loader?: Loader;
  /** A string whose rendering meets an undefined variable is left as written instead of failing (Ansible's
   *  fail_on_undefined=False, which its hostvars[x] uses): each string of a list or dict on its own. */
  undefinedLeavesText?: boolean;
}

export { isTemplate } from './late-bound.js';

const OVERRIDE = '#jinja2:';
const OVERRIDABLE: Record<string, keyof Syntax> = {
  block_start_string: 'blockStart',
  block_end_string: 'blockEnd',
  variable_start_string: 'variableStart',
  variable_end_string: 'variableEnd',
  comment_start_string: 'commentStart',
  comment_end_string: 'commentEnd',
  trim_blocks: 'trimBlocks',
  lstrip_blocks: 'lstripBlocks',
  keep_trailing_newline: 'keepTrailingNewline',
  newline_sequence: 'newline',
};

// Ansible reads a first line `#jinja2: trim_blocks: False, lstrip_blocks: True` as settings for this template and
// drops it; values are Python literals.
function withOverrides(text: string, syntax: Syntax): { text: string; syntax: Syntax } {
  if (!text.startsWith(OVERRIDE)) return { text, syntax };
  const eol = text.indexOf('\n');
  const line = text.slice(OVERRIDE.length, eol < 0 ? undefined : eol);
  const out = { ...syntax } as Record<string, unknown>;
  for (const pair of line.split(',')) {
    const colon = pair.indexOf(':');
    if (colon < 0) throw new TemplateError(`failed to parse jinja2 override '${pair.trim()}'. Did you use something different from colon as key-value separator?`);
    const key = pair.slice(0, colon).trim();
    const field = OVERRIDABLE[key];
    if (!field) throw new TemplateError(`the jinja2 override '${key}' is not supported by imgplay (supported: ${Object.keys(OVERRIDABLE).join(', ')})`);
    const v = literalEval(pair.slice(colon + 1).trim()) ?? pyLiteralString(pair.slice(colon + 1).trim());
    if (v === undefined) throw new TemplateError(`the jinja2 override ${key} needs a Python literal, not ${pair.slice(colon + 1).trim()}`);
    out[field] = v;
  }
  return { text: eol < 0 ? '' : text.slice(eol + 1), syntax: out as unknown as Syntax };
}

function pyLiteralString(src: string): string | undefined {
  const m = /^(['"])(.*)\1$/s.exec(src);
  return m ? m[2]!.replace(/\\n/g, '\n').replace(/\\r/g, '\r') : undefined;
}

function countTrailingNewlines(s: string): number {
  let n = 0;
  while (n < s.length && s[s.length - 1 - n] === '\n') n++;
  return n;
}

function setup(text: string, options: RenderOptions) {
  const base = options.syntax ? { ...ANSIBLE_SYNTAX, ...options.syntax } : ANSIBLE_SYNTAX;
  const { text: body, syntax } = withOverrides(text, base);
  const rawStrings = options.file !== true;
  try {
    return { body, syntax, rawStrings, tpl: compileTemplate(body, syntax, rawStrings) };
  } catch (err) {
    // A template nested deeper than the parser's stack is an error in the template, not a crash.
    throw asUserError(err);
  }
}

/** Renders a template string to text. Undefined variables throw UndefinedVariableError, malformed templates
 *  TemplateError; the caller adds the task and file:line. */
export function renderString(text: string, vars: Vars, options: RenderOptions = {}): string {
  if (!options.file && !options.syntax && !isTemplate(text)) return text;
  const { syntax, rawStrings, tpl } = setup(text, options);
  return finish(text, renderTemplate(tpl, vars, { syntax, rawStrings, loader: options.loader, multiline: text.includes('\n') }), syntax);
}

// Jinja drops the template's last newline; Ansible then restores as many trailing newlines as the source had.
function finish(source: string, out: string, syntax: Syntax): string {
  const want = countTrailingNewlines(source);
  const have = countTrailingNewlines(out);
  return have < want ? out + syntax.newline.repeat(want - have) : out;
}

// Ansible's STRING_TYPE_FILTERS: their text result is never turned back into a list or dict.
const STRING_FILTERS = new Set(['string', 'to_json', 'to_nice_json', 'to_yaml', 'to_nice_yaml']);

// What templating makes of `!unsafe` text is unsafe too (Ansible's taint): the result is never templated again.
function templateString(text: string, vars: Vars, options: RenderOptions): unknown {
  if (!isTemplate(text)) return text;
  const before = unsafeUses();
  let out: unknown;
  try {
    out = renderText(text, vars, options);
  } catch (err) {
    if (options.undefinedLeavesText && err instanceof UndefinedVariableError) return text;
    throw err;
  }
  if (unsafeUses() === before) return out;
  return typeof out === 'string' ? markUnsafeText(out) : markUnsafe(out);
}

function renderText(text: string, vars: Vars, options: RenderOptions): unknown {
  const { syntax, rawStrings, tpl } = setup(text, options);
  const single = tpl.parsed.single;
  if (!single || syntax !== ANSIBLE_SYNTAX) {
    const out = finish(text, renderTemplate(tpl, vars, { syntax, rawStrings, loader: options.loader, multiline: text.includes('\n') }), syntax);
    const lit = literalEval(out);
    return lit === undefined ? out : lit;
  }
  const { expr, before } = single;
  // The newline Jinja drops from the end belongs to the text after the expression.
  const after = single.after + (text.endsWith('\n') ? '\n' : '');
  let v: unknown;
  try {
    v = evaluateRaw(expr, vars);
    if (v instanceof UndefinedValue) throw v.error();
  } catch (err) {
    throw inExpression(asUserError(err), text.trim());
  }
  const exact = before === '' && after === '';
  if (typeof v === 'string') {
    if (isUnsafeText(v)) noteUnsafeUse();
    // Ansible turns text that looks like a list, dict or bool into one (its literal_eval of template results),
    // except what its string-type filters return; whitespace around a string result is kept.
    const lit = before === '' && !(expr.t === 'filter' && STRING_FILTERS.has(expr.name)) ? literalEval(v) : undefined;
    // Rendered as Jinja renders it (the source's last newline dropped), then Ansible's newlines restored.
    return lit !== undefined ? lit : exact ? v : finish(text, before + v + single.after, syntax);
  }
  // Lists, dicts and bools keep their type whatever whitespace surrounds them. Numbers and None keep theirs
  // only through Ansible's single-variable shortcut (`{{ name }}`, optionally followed by one newline);
  // anything computed is text, as Ansible 2.14 renders `"{{ n + 1 }}"` to "3" (its SINGLE_VAR rule).
  if (v !== null && v !== undefined && !isNumberValue(v)) return toPlain(v);
  if (expr.t === 'name' && before === '' && (after === '' || after === '\n')) return toPlain(v);
  return finish(text, before + show(v) + single.after, syntax);
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

bindTemplating({ templateValue, renderString });
