// Turns a task's `loop` / `with_<lookup>` value into the list of items it iterates, as Ansible does.
import { ImgplayError, UndefinedVariableError } from '../errors.js';
import type { IncludeNode, TaskNode } from './model.js';
import { LookupError, withLookupItems } from '../jinja/lookups.js';
import { isTemplate, templateValue } from '../jinja/template.js';
import { isMapping, isTrueWord } from '../jinja/values.js';

/** The items of a loop; kind is 'loop' or the lookup of `with_<lookup>`, run on the templated value as Ansible's
 *  with_ loops run their lookup plugin (with the task's variables, for search paths and variable names). */
export function loopItems(kind: string, raw: unknown, node: TaskNode | IncludeNode, vars: Readonly<Record<string, unknown>>): unknown[] {
  const value = kind === 'first_found' ? firstFoundTerms(raw, vars) : templateValue(raw, vars);
  if (kind === 'loop') {
    if (!Array.isArray(value)) {
      throw new ImgplayError(`Invalid data passed to 'loop', it requires a list, got this instead: ${JSON.stringify(value)}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.`, { pos: node.pos });
    }
    return value;
  }
  // Ansible's list lookup takes any sequence (a lone string becomes one), never a mapping.
  if (kind === 'list' && isMapping(value)) throw new ImgplayError('with_list expects a list', { pos: node.pos });
  try {
    return withLookupItems(kind, value, vars, node.action);
  } catch (err) {
    // What the lookup itself reports points at the task; template errors carry their own expression.
    if (err instanceof LookupError) throw new ImgplayError(err.message, { pos: node.pos, hint: err.hint, cause: err });
    throw err;
  }
}

// with_first_found templates its terms leniently: a candidate naming an undefined variable is dropped (a file
// name) or left for the lookup to skip (a dict of files and paths), so the next candidate can match.
function firstFoundTerms(raw: unknown, vars: Readonly<Record<string, unknown>>): unknown {
  if (!Array.isArray(raw)) return templateValue(raw, vars);
  const out: unknown[] = [];
  for (const term of raw) {
    try {
      out.push(templateValue(term, vars));
    } catch (err) {
      if (!(err instanceof UndefinedVariableError)) throw err;
      if (!(typeof term === 'string' && isTemplate(term))) out.push(term);
    }
  }
  return out;
}

/** A task's loop_control, templated once per host before the loop (as ansible-core 2.14; `label` is per item). */
export interface LoopControl {
  readonly loopVar: string;
  readonly indexVar?: string | undefined;
  /** Seconds to wait between two items. */
  readonly pause: number;
  readonly extended: boolean;
  readonly extendedAllitems: boolean;
}

const LOOP_CONTROL_KEYS = new Set(['loop_var', 'index_var', 'label', 'pause', 'extended', 'extended_allitems']);

/** Reads loop_control with `template` (the host's variables); unknown keys are refused as Ansible refuses them. */
export function loopControlOf(lc: Readonly<Record<string, unknown>> | undefined, template: (v: unknown) => unknown, node: TaskNode | IncludeNode): LoopControl {
  const fail = (msg: string) => new ImgplayError(msg, { pos: node.pos });
  for (const key of Object.keys(lc ?? {})) if (!LOOP_CONTROL_KEYS.has(key)) throw fail(`'${key}' is not a valid attribute for a LoopControl`);
  const get = (k: string) => (lc?.[k] === undefined || lc[k] === null ? undefined : template(lc[k]));
  const loopVar = get('loop_var');
  const indexVar = get('index_var');
  const pause = get('pause');
  const pauseSeconds = pause === undefined ? 0 : Number(pause);
  if (!Number.isFinite(pauseSeconds) || pauseSeconds < 0) throw fail(`loop_control.pause: ${JSON.stringify(pause)} is not a number of seconds`);
  return {
    loopVar: loopVar === undefined ? 'item' : String(loopVar),
    indexVar: indexVar === undefined ? undefined : String(indexVar),
    pause: pauseSeconds,
    extended: yes(get('extended') ?? false),
    extendedAllitems: yes(get('extended_allitems') ?? true),
  };
}

/** The variables one loop item adds: the loop variable, the index variable and `ansible_loop` (with extended). */
export function loopItemVars(ctl: LoopControl, items: readonly unknown[], index: number): Record<string, unknown> {
  const out: Record<string, unknown> = { [ctl.loopVar]: items[index], ansible_loop_var: ctl.loopVar };
  if (ctl.indexVar !== undefined) {
    out[ctl.indexVar] = index;
    out.ansible_index_var = ctl.indexVar;
  }
  if (ctl.extended) {
    const n = items.length;
    const loop: Record<string, unknown> = { index: index + 1, index0: index, first: index === 0, last: index + 1 === n, length: n, revindex: n - index, revindex0: n - index - 1 };
    if (ctl.extendedAllitems) loop.allitems = items;
    if (index + 1 < n) loop.nextitem = items[index + 1];
    if (index > 0) loop.previtem = items[index - 1];
    out.ansible_loop = loop;
  }
  return out;
}

function yes(v: unknown): boolean {
  if (typeof v === 'string') return isTrueWord(v.trim());
  return Boolean(v);
}
