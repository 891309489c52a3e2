// The generic checks of a module's arguments against its spec, in Ansible's order and words
// (ArgumentSpecValidator): aliases, unsupported, mutually exclusive, required, types, choices, then
// required together / one of / if / by, then defaults. At planning only what is literal is judged.
import type { ArgSpec, ArgType, ModuleSpec } from './spec.js';
import { setKey } from '../jinja/values.js';

/** Arguments a module refused; `argument` names the one to point at, where there is one. */
export class ArgumentError extends Error {
  constructor(
    message: string,
    readonly argument?: string,
    /** A value Ansible takes that imgplay refuses (refusedValues), not a value Ansible would refuse too. */
    readonly refusal = false,
  ) {
    super(message);
  }
}

/** What checking produced: the arguments the run gets, and Ansible's warnings. */
export interface CheckedArgs {
  args: Record<string, unknown>;
  warnings: string[];
}

/** How to check: at run time every value is known; at planning `known` says which are literal. */
export interface CheckOptions {
  /** False for a value that is still a template (unknown until run time, may even be omitted). */
  known?: (value: unknown) => boolean;
}

const TRUE = new Set(['yes', 'on', '1', 'true', 't', 'y', '1.0']);
const FALSE = new Set(['no', 'off', '0', 'false', 'f', 'n', '0.0']);
// Ansible prints a Python set here, in no fixed order; this is one order of the same words.
const BOOLEAN_WORDS = "'true', 1, 'f', 0, 'off', '1', 'yes', 'false', 'on', 't', '0', 'no', 'y', 'n'";

/** Every name an argument answers to, canonical first. */
function namesOfArg(name: string, arg: ArgSpec): string[] {
  return [name, ...(arg.aliases ?? [])];
}

/** Checks `params` against `spec`; throws the first ArgumentError Ansible would report, else the arguments to run with. */
export function checkArgs(spec: ModuleSpec, params: Readonly<Record<string, unknown>>, options: CheckOptions = {}): CheckedArgs {
  const problems = argumentProblems(spec, params, options);
  if (problems.errors.length > 0) throw problems.errors[0]!;
  return { args: problems.args, warnings: problems.warnings };
}

/** Every problem with `params`, in Ansible's order (the first is what Ansible reports). */
export function argumentProblems(spec: ModuleSpec, params: Readonly<Record<string, unknown>>, options: CheckOptions = {}): CheckedArgs & { errors: ArgumentError[] } {
  const known = options.known ?? (() => true);
  const errors: ArgumentError[] = [];
  const warnings: string[] = [];
  const p: Record<string, unknown> = {};
  const aliasOf = new Map<string, string>();
  for (const [name, arg] of Object.entries(spec.args)) for (const alias of arg.aliases ?? []) aliasOf.set(alias, name);

  // Aliases fold into their canonical name; as in Ansible, the last alias given wins.
  const unsupported: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    // Own keys only: `constructor` or `__proto__` is no argument of any module, and an ordinary key when passed on.
    if (Object.hasOwn(spec.args, key)) p[key] = value;
    else if (spec.passesOn !== undefined && !aliasOf.has(key)) setKey(p, key, value);
    else if (!aliasOf.has(key)) unsupported.push(key);
  }
  for (const [name, arg] of Object.entries(spec.args)) {
    for (const alias of arg.aliases ?? []) {
      if (!(alias in params)) continue;
      if (name in params) warnings.push(`Both option ${name} and its alias ${alias} are set.`);
      p[name] = params[alias];
    }
  }
  const present = (k: string) => k in p;
  const literal = (k: string) => k in p && known(p[k]);

  for (const [name, arg] of Object.entries(spec.args)) {
    if (arg.refused !== undefined && present(name)) errors.push(new ArgumentError(`${name} is not supported by imgplay: ${arg.refused}`, name));
  }
  // Ansible counts a key as given when it is there at all; at planning only literal values are certain to stay.
  for (const terms of spec.mutuallyExclusive ?? []) {
    if (terms.filter(literal).length > 1) errors.push(new ArgumentError(`parameters are mutually exclusive: ${terms.join('|')}`, terms.find(literal)));
  }
  const missing = Object.entries(spec.args)
    .filter(([name, arg]) => arg.required && !present(name))
    .map(([name]) => name)
    .sort();
  if (missing.length > 0) errors.push(new ArgumentError(`missing required arguments: ${missing.join(', ')}`));
  // Defaults count as given for the checks that follow, as Ansible sets them before its checks.
  for (const [name, arg] of Object.entries(spec.args)) if (!present(name) && arg.default !== undefined && arg.default !== null) p[name] = arg.default;

  for (const [name, arg] of Object.entries(spec.args)) {
    if (!present(name) || p[name] === null || !known(p[name])) continue;
    try {
      p[name] = coerceArg(p[name], arg);
    } catch (err) {
      errors.push(new ArgumentError(`argument '${name}' is of type <class '${pyType(p[name])}'> and we were unable to convert to ${arg.type === 'list' ? 'list' : (arg.type ?? 'str')}: ${(err as Error).message}`, name));
      continue;
    }
    const bad = badChoice(name, arg, p[name]);
    if (bad !== undefined) errors.push(new ArgumentError(bad, name));
    const reason = arg.refusedValues?.[String(p[name])];
    if (reason !== undefined) errors.push(new ArgumentError(`${name}=${String(p[name])} is not supported by imgplay: ${reason}`, name, true));
  }

  for (const terms of spec.requiredTogether ?? []) {
    // Certain only when one is literal and another is not there at all.
    if (terms.some(literal) && terms.some((t) => !present(t))) errors.push(new ArgumentError(`parameters are required together: ${terms.join(', ')}`, terms.find(literal)));
  }
  for (const terms of spec.requiredOneOf ?? []) {
    if (!terms.some(present)) errors.push(new ArgumentError(`one of the following is required: ${terms.join(', ')}`));
  }
  for (const [key, value, requires, anyOf] of spec.requiredIf ?? []) {
    if (!literal(key) || p[key] !== value) continue;
    const absent = requires.filter((r) => !present(r));
    if (anyOf ? absent.length === requires.length : absent.length > 0) {
      errors.push(new ArgumentError(`${key} is ${pyText(value)} but ${anyOf ? 'any' : 'all'} of the following are missing: ${absent.join(', ')}`, key));
    }
  }
  for (const [key, needs] of Object.entries(spec.requiredBy ?? {})) {
    if (!present(key) || p[key] === null) continue;
    const absent = needs.filter((n) => !present(n) || p[n] === null);
    if (absent.length > 0) errors.push(new ArgumentError(`missing parameter(s) required by '${key}': ${absent.join(', ')}`, key));
  }
  if (unsupported.length > 0) {
    const canonical = Object.entries(spec.args).filter(([, a]) => !a.internal);
    const names = canonical.map(([n]) => n).sort();
    const aliases = canonical.flatMap(([, a]) => a.aliases ?? []).sort();
    errors.push(
      new ArgumentError(
        `Unsupported parameters for (${spec.name}) module: ${[...unsupported].sort().join(', ')}. Supported parameters include: ${names.join(', ')}${aliases.length > 0 ? ` (${aliases.join(', ')})` : ''}.`,
        unsupported[0],
      ),
    );
  }
  return { args: p, warnings, errors };
}

function badChoice(name: string, arg: ArgSpec, value: unknown): string | undefined {
  const choices = arg.choices;
  if (choices === undefined) return undefined;
  const shown = choices.map(String).join(', ');
  if (Array.isArray(value)) {
    const off = value.filter((v) => !choices.includes(v as never));
    return off.length > 0 ? `value of ${name} must be one or more of: ${shown}. Got no match for: ${off.map(String).join(', ')}` : undefined;
  }
  return choices.includes(value as never) ? undefined : `value of ${name} must be one of: ${shown}, got: ${pyText(value)}`;
}

/** Converts a value to an argument's type as Ansible's type checkers do; throws with the reason. */
export function coerceArg(value: unknown, arg: ArgSpec): unknown {
  const type = arg.type ?? 'str';
  const v = toType(value, type);
  if (type === 'list' && Array.isArray(v)) {
    const elements = arg.elements;
    const out = elements === undefined ? v : v.map((e) => toType(e, elements));
    // A yes/no that YAML made a boolean means the choice it names.
    return arg.choices ? out.map((e) => boolChoice(e, arg.choices!)) : out;
  }
  return arg.choices ? boolChoice(v, arg.choices) : v;
}

// YAML made an unquoted yes/no a boolean, and a str argument made that 'True' or 'False': when only one
// choice can be meant, it is taken, as Ansible does.
function boolChoice(value: unknown, choices: readonly (string | number | boolean)[]): unknown {
  if (choices.includes(value as never)) return value;
  const meant = value === true || value === 'True' ? TRUE : value === false || value === 'False' ? FALSE : undefined;
  if (meant === undefined) return value;
  const overlap = choices.filter((c) => typeof c === 'string' && meant.has(c.toLowerCase()));
  return overlap.length === 1 ? overlap[0] : value;
}

function toType(value: unknown, type: ArgType): unknown {
  switch (type) {
    case 'raw':
      return value;
    case 'str':
    case 'path':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return pyText(value);
      if (value !== null && typeof value === 'object') return pyText(value);
      throw new Error(`${pyType(value)} cannot be converted to a string`);
    case 'bool': {
      if (typeof value === 'boolean') return value;
      const s = String(value).toLowerCase();
      if (typeof value === 'string' || typeof value === 'number') {
        if (TRUE.has(s)) return true;
        if (FALSE.has(s)) return false;
      }
      throw new Error(`The value '${String(value)}' is not a valid boolean.  Valid booleans include: ${BOOLEAN_WORDS}`);
    }
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
      throw new Error(`<class '${pyType(value)}'> cannot be converted to an int`);
    case 'float':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
      throw new Error(`<class '${pyType(value)}'> cannot be converted to a float`);
    case 'list':
      if (Array.isArray(value)) return value;
      // Ansible's 'list' type splits a comma-separated string.
      if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (typeof value === 'number' || typeof value === 'boolean') return [pyText(value)];
      throw new Error(`<class '${pyType(value)}'> cannot be converted to a list`);
    case 'dict':
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
      if (typeof value === 'string' && value.trimStart().startsWith('{')) {
        try {
          const parsed: unknown = JSON.parse(value);
          if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
        } catch {
          // Falls through to the refusal.
        }
      }
      throw new Error(`dictionary requested, could not parse JSON or key=value`);
  }
}

/** Python's name for a value's type, as Ansible's messages print it. */
export function pyType(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return ({ string: 'str', boolean: 'bool', object: 'dict' } as Record<string, string>)[typeof v] ?? typeof v;
}

// How Python's str() shows a scalar; containers as JSON, which is close enough for a message.
function pyText(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The names an argument answers to, for planning's "did you mean". */
export function argumentNames(spec: ModuleSpec): string[] {
  return Object.entries(spec.args)
    .filter(([, a]) => !a.internal)
    .flatMap(([n, a]) => namesOfArg(n, a));
}
