// The evaluator (evaluate.ts) renders a variable whose value is a template and runs lookup()/query(), while the
// renderer (template.ts) and the lookups (lookups.ts) are built on the evaluator. That is Jinja's own recursion,
// not a layering choice: rather than a module cycle, the upper halves bind themselves here as they load and the
// evaluator calls through. expr.ts, the entry callers import, loads them all.
import { InternalError } from '../errors.js';
import { isUnsafeText } from '../yaml/unsafe.js';

type Vars = Readonly<Record<string, unknown>>;

/** What the evaluator and the lookups need of the renderer. */
export interface Templating {
  templateValue<T>(value: T, vars: Vars, options?: { file?: boolean }): T;
  renderString(text: string, vars: Vars, options?: { file?: boolean }): string;
}

/** lookup()/query(): the plugin's name, its terms and keyword arguments, the scope, and whether to join (lookup) or not (query). */
export type LookupRunner = (name: unknown, terms: unknown[], kwargs: Record<string, unknown>, scope: Vars, joined: boolean) => unknown;

let templating: Templating | undefined;
let lookups: LookupRunner | undefined;

/** Binds the renderer; template.ts calls it once as it loads. */
export function bindTemplating(t: Templating): void {
  templating = t;
}

/** Binds lookup()/query(); lookups.ts calls it once as it loads. */
export function bindLookups(run: LookupRunner): void {
  lookups = run;
}

/** The renderer the evaluator calls through. */
export function renderer(): Templating {
  if (templating === undefined) throw new InternalError('the Jinja renderer was used before jinja/template.ts was loaded (import jinja/expr.js)');
  return templating;
}

/** The lookup plugins the evaluator calls through. */
export function lookupRunner(): LookupRunner {
  if (lookups === undefined) throw new InternalError('a lookup ran before jinja/lookups.ts was loaded (import jinja/expr.js)');
  return lookups;
}

/** True when text holds a Jinja marker ({{, {% or {#}) and so needs rendering; never for `!unsafe` text. */
export function isTemplate(text: string): boolean {
  return (text.includes('{{') || text.includes('{%') || text.includes('{#')) && !isUnsafeText(text);
}
