// A task's arguments as its module receives them: module_defaults below the task's own arguments, each
// templated (but those the module takes raw), then checked against the module's spec; and its environment.
import { ImgplayError, type SourcePos } from '../errors.js';
import type { Module } from '../modules/types.js';
import { templateValue } from '../jinja/template.js';
import { assignKeys, setKey } from '../jinja/values.js';
import { prepareArgs } from './args.js';

/** The task's arguments over the module_defaults for its module (outer entries first, later win), templated and checked. */
export function moduleArgs(
  mod: Module<unknown>,
  args: Readonly<Record<string, unknown>>,
  moduleDefaults: readonly Readonly<Record<string, unknown>>[],
  vars: Record<string, unknown>,
  pos: SourcePos,
): Record<string, unknown> {
  const raw = new Set(mod.rawArgs ?? []);
  const templated: Record<string, unknown> = {};
  for (const entry of moduleDefaults) {
    const defaults = entry[mod.name];
    if (defaults === undefined || defaults === null) continue;
    const value = templateValue(defaults, vars);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ImgplayError(`module_defaults for ${mod.name} must be a mapping of its arguments`, { pos });
    assignKeys(templated, value as Record<string, unknown>);
  }
  // setKey: an argument named __proto__ (a set_fact variable may be) is an ordinary key.
  for (const [k, v] of Object.entries(args)) setKey(templated, k, raw.has(k) ? v : templateValue(v, vars));
  return prepareArgs(mod, templated);
}

/** The environment of the play's, blocks' and task's `environment` keywords, outer first, templated. */
export function taskEnvironment(environment: readonly unknown[], vars: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const env of environment) {
    const e = templateValue(env, vars);
    if (e && typeof e === 'object') for (const [k, v] of Object.entries(e)) out[k] = String(v);
  }
  return out;
}
