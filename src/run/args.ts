// Turns templated task arguments into what a module's spec promises: Ansible's type coercion
// (`force=no` is a boolean, `mode=0644` stays a mode), aliases folded, defaults applied, errors in Ansible's words.
import { ArgumentError, checkArgs } from '../modules/spec-check.js';
import { isSpecModule } from '../modules/spec.js';
import { findModule } from '../modules/index.js';
import { failed, type Module, type ModuleContext, type ModuleResult } from '../modules/types.js';
import { OMIT } from '../jinja/expr.js';

export { ArgumentError };

/** Coerces, defaults and validates module arguments against the module's spec; throws ArgumentError naming the argument. */
export function prepareArgs(mod: Module<unknown>, args: Record<string, unknown>): Record<string, unknown> {
  // Every module is declared by a spec (issue 15); one without is a programming error, not a user's.
  if (!isSpecModule(mod)) throw new Error(`internal error: module ${mod.name} has no argument spec`);
  const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== OMIT));
  const checked = checkArgs(mod.spec, given);
  // Ansible prints these as warnings and runs on; the CLI turns process warnings into run warnings.
  for (const w of checked.warnings) process.emitWarning(w, { code: 'IMGPLAY_ARGUMENT' });
  return checked.args;
}

/** Runs the module `name` with `args` in `ctx` (another module's context): its arguments are checked as a task's are. */
export async function runOtherModule(ctx: ModuleContext<unknown>, name: string, args: Record<string, unknown>): Promise<ModuleResult> {
  const mod = findModule(name);
  if (mod === undefined) return failed(`Could not find a module for ${name}.`);
  let prepared: Record<string, unknown>;
  try {
    prepared = prepareArgs(mod, args);
  } catch (err) {
    if (err instanceof ArgumentError) return failed(err.message);
    throw err;
  }
  if (ctx.check && !mod.checkMode) return { changed: false, skipped: true, msg: `remote module (${mod.name}) does not support check mode` };
  return mod.run({ ...ctx, args: prepared });
}
