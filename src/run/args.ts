// Turns templated task arguments into what a module's schema promises: Ansible's type coercion
// (`force=no` is a boolean, `mode=0644` stays a mode), defaults applied, errors naming the argument.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { didYouMean } from '../errors.js';
import { ArgumentError, checkArgs } from '../modules/spec-check.js';
import type { SpecModule } from '../modules/spec.js';
import { findModule } from '../modules/index.js';
import { type ArgsSchema, failed, type Module, type ModuleContext, type ModuleResult } from '../modules/types.js';
import { OMIT } from '../vars/expr.js';

export { ArgumentError };

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: false, verbose: true });
const compiled = new WeakMap<ArgsSchema, ValidateFunction>();

const TRUE = new Set(['yes', 'on', '1', 'true', 't', 'y', '1.0']);
const FALSE = new Set(['no', 'off', '0', 'false', 'f', 'n', '0.0']);

/** Coerces, defaults and validates module arguments; throws ArgumentError naming the argument. */
export function prepareArgs(mod: Module<unknown>, args: Record<string, unknown>): Record<string, unknown> {
  if ('spec' in mod) {
    const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== OMIT));
    const checked = checkArgs((mod as SpecModule<unknown>).spec, given);
    // Ansible prints these as warnings and runs on; the CLI turns process warnings into run warnings.
    for (const w of checked.warnings) process.emitWarning(w, { code: 'IMGPLAY_ARGUMENT' });
    return checked.args;
  }
  const props = (mod.schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (value === OMIT) continue;
    const prop = props[key];
    out[key] = prop ? coerce(value, prop, key, mod.name) : value;
  }
  let validate = compiled.get(mod.schema);
  if (!validate) {
    validate = ajv.compile(mod.schema);
    compiled.set(mod.schema, validate);
  }
  if (!validate(out)) throw new ArgumentError(explain(validate.errors?.[0], mod, Object.keys(props)));
  return out;
}

function typesOf(prop: Record<string, unknown>): string[] {
  const t = prop.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.map(String);
  return [];
}

function coerce(value: unknown, prop: Record<string, unknown>, key: string, mod: string): unknown {
  const types = typesOf(prop);
  if (types.length === 0 || value === null || value === undefined) return value;
  if (types.includes(jsonType(value))) return value;
  // A whole number is a valid float argument, as JSON Schema's 'number' also says.
  if (types.includes('number') && typeof value === 'number') return value;
  for (const type of types) {
    if (type === 'boolean') {
      const s = String(value).toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
    } else if (type === 'integer' || type === 'number') {
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) {
        const n = Number(value);
        if (type === 'number' || Number.isInteger(n)) return n;
      }
      if (typeof value === 'boolean') return value ? 1 : 0;
    } else if (type === 'string') {
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    } else if (type === 'array') {
      // Ansible's 'list' type splits a comma-separated string.
      if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
    }
  }
  const want = types.map((t) => ({ boolean: 'bool', integer: 'int', number: 'float', string: 'str', array: 'list', object: 'dict' })[t] ?? t);
  throw new ArgumentError(`${mod}: argument '${key}' is of type ${pyType(value)} and we were unable to convert to ${want.join(' or ')}: ${JSON.stringify(value)}`);
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

function pyType(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  return ({ string: 'str', number: Number.isInteger(v) ? 'int' : 'float', boolean: 'bool', object: 'dict' } as Record<string, string>)[typeof v] ?? typeof v;
}

function explain(err: ErrorObject | undefined, mod: Module<unknown>, known: string[]): string {
  if (!err) return `${mod.name}: invalid arguments`;
  const path = err.instancePath.replace(/^\//, '').replace(/\//g, '.');
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(err.params.additionalProperty);
      const hint = didYouMean(key, known.filter((k) => !k.startsWith('_')));
      return `${mod.name}: unsupported argument '${key}'${hint ? ` (did you mean '${hint}'?)` : `; supported: ${known.filter((k) => !k.startsWith('_')).join(', ')}`}`;
    }
    case 'required':
      return `${mod.name}: missing required argument '${String(err.params.missingProperty)}'`;
    case 'enum':
      return `${mod.name}: argument '${path}' must be one of ${(err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `${mod.name}: argument '${path}' must be of type ${String(err.params.type)}`;
    case 'not': {
      // By convention a schema's `not: { required: [a, b] }` says a and b exclude each other.
      const both = (err.schema as { required?: string[] } | undefined)?.required;
      return `${mod.name}: parameters are mutually exclusive: ${both ? both.join('|') : path}`;
    }
    default:
      return `${mod.name}: argument '${path || '(arguments)'}' ${err.message ?? 'is invalid'}`;
  }
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
