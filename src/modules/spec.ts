// A module declares its arguments once, in the spirit of Ansible's argument_spec: from that one spec
// come its TypeScript type (ArgsOf), its JSON Schema, the names it answers to, the generic checks
// (aliases, unsupported, required, types, choices, mutually exclusive, required together/one of/if/by),
// the checks of literal arguments at planning, and its documentation.
import { describeFsError, isFsError } from './support/fs-error.js';
import { ModuleFailure } from './support/module-failure.js';
import { type ArgsSchema, failed, type Module, type ModuleContext, type ModuleResult } from './types.js';

/** Ansible's argument types; `path` is a string (no ~ expansion: a chroot's home is not the controller's). */
export type ArgType = 'str' | 'bool' | 'int' | 'float' | 'list' | 'dict' | 'path' | 'raw';

/** One argument: its type, default, choices, aliases and what it means. */
export interface ArgSpec {
  /** Default 'str'. */
  readonly type?: ArgType;
  /** The type of a list's elements (default 'str'). */
  readonly elements?: ArgType;
  readonly required?: boolean;
  readonly default?: unknown;
  readonly choices?: readonly (string | number | boolean)[];
  readonly aliases?: readonly string[];
  /** What it does, for the docs (Markdown, one paragraph). */
  readonly description: string;
  /** Refused at planning with this reason when given (Ansible has it; imgplay cannot honour it). */
  readonly refused?: string;
  /** Values refused at planning with the reason (a choice Ansible has that imgplay cannot honour). */
  readonly refusedValues?: Readonly<Record<string, string>>;
  /** Not part of the user's interface: a free-form parameter such as _raw_params, or set by the executor. */
  readonly internal?: boolean;
}

/** `state` is `present` but `path` is missing: [key, value, requires, anyOf?]. */
export type RequiredIf = readonly [key: string, value: unknown, requires: readonly string[], anyOf?: boolean];

/** How a module takes part in check mode, as Ansible's `check_mode` attribute says. */
export type CheckSupport = 'full' | 'partial' | 'none';

/** A module's documentation beyond its arguments. */
export interface ModuleDoc {
  /** One line: what it does. */
  readonly short: string;
  /** More paragraphs (Markdown). */
  readonly description?: string;
  /** What it returns beyond changed/failed/msg (Markdown). */
  readonly returns?: string;
  /** How it behaves under --check, when that needs saying. */
  readonly checkMode?: string;
  /** Where it differs from Ansible's module of the same name. */
  readonly differences?: readonly string[];
}

/** Everything about a module but its run. */
export interface ModuleSpec {
  readonly name: string;
  /** Its collection (default ansible.builtin; ansible.legacy names follow for builtins). */
  readonly collection?: string;
  /** Further full names it answers to (community.general.x when a module moved). */
  readonly otherNames?: readonly string[];
  readonly doc: ModuleDoc;
  readonly args: Readonly<Record<string, ArgSpec>>;
  readonly mutuallyExclusive?: readonly (readonly string[])[];
  readonly requiredTogether?: readonly (readonly string[])[];
  readonly requiredOneOf?: readonly (readonly string[])[];
  readonly requiredIf?: readonly RequiredIf[];
  /** Arguments that need others: {key: [needed...]}. */
  readonly requiredBy?: Readonly<Record<string, readonly string[]>>;
  /** Arguments it does not declare are handed on to another module, which checks them (package to apt): where, in words. */
  readonly passesOn?: string;
  /** The argument a free-form string (`command: ls -l`) fills. */
  readonly freeForm?: string;
  readonly checkMode: CheckSupport;
  readonly diff?: boolean;
  /** Argument values that are not templated before the module sees them (e.g. assert's `that`). */
  readonly rawArgs?: readonly string[];
  /**
   * A file system error the run does not expect fails the task with Python's OSError words (`[Errno 2] No
   * such file or directory`), naming the path of this argument (`true`: no path), as the module's Ansible
   * counterpart reports it; without it such an error is a bug of imgplay's and ends the run.
   */
  readonly fsErrors?: true | string;
  /** What the executor does differently for it, as Ansible's action plugins declare (none for most modules). */
  readonly traits?: ExecutorTraits;
}

/** What is special about a module for the executor: declared by the module, so the executor names none. */
export interface ExecutorTraits {
  /** It acts on the play, not on a host: the executor carries its action out on the play's hosts (meta). */
  readonly actsOnPlay?: boolean;
  /** It runs for the play's first host alone, which alone gets its result (Ansible's BYPASS_HOST_LOOP; add_host). */
  readonly bypassHostLoop?: boolean;
  /** Where its `ansible_facts` go: the host's facts (the default, as setup's), the host's variables (set_fact;
   *  its `cacheable` argument makes them facts too), or include_vars' layer. Kept out of the result but for facts. */
  readonly factsTo?: 'facts' | 'variables' | 'include_vars';
  /** It is an action of the controller alone (Ansible's action plugins without a module: debug, fail, assert,
   *  set_fact, ...): the task never opens the host's connection, so a host imgplay cannot reach still runs it. */
  readonly controllerOnly?: boolean;
  /** Its result is shown at every verbosity (debug). */
  readonly verboseAlways?: boolean;
  /** The variable names a task of it may set, read from its arguments before it runs ('any': it may set any);
   *  planning takes a role name built from one of them as unknown until the run. */
  readonly namesSet?: (args: Readonly<Record<string, unknown>>) => readonly string[] | 'any';
  /** Its result asks the executor to change the run's inventory: `add_host` ({host_name, groups, host_vars}) or
   *  `add_group` with `parent_groups` for the host (add_host, group_by). */
  readonly changesInventory?: boolean;
}

/** A module's traits (none for a module without a spec, or no module). */
export function traitsOf(m: Module<unknown> | undefined): ExecutorTraits {
  return m !== undefined && isSpecModule(m) ? (m.spec.traits ?? {}) : {};
}

type Scalar<T> = T extends 'bool' ? boolean : T extends 'int' | 'float' ? number : T extends 'dict' ? Record<string, unknown> : T extends 'raw' ? unknown : T extends 'list' ? unknown[] : string;
type Element<A> = A extends { readonly elements: infer E } ? Scalar<E> : string;
type Choice<A> = A extends { readonly choices: readonly (infer C)[] } ? C : never;
type ValueOf<A> = A extends { readonly type: 'list' }
  ? ([Choice<A>] extends [never] ? Element<A> : Choice<A>)[]
  : [Choice<A>] extends [never]
    ? Scalar<A extends { readonly type: infer T } ? T : 'str'>
    : Choice<A>;
type Always<A> = A extends { readonly required: true } ? true : A extends { readonly default: unknown } ? true : false;

/** The arguments a module's run receives: aliases folded, defaults applied, every value of its declared type. */
export type ArgsOf<S extends Readonly<Record<string, ArgSpec>>> = {
  -readonly [K in keyof S as Always<S[K]> extends true ? K : never]: ValueOf<S[K]>;
} & {
  -readonly [K in keyof S as Always<S[K]> extends true ? never : K]?: ValueOf<S[K]>;
};

/** A module built from a spec: the Module the executor runs, with its spec beside it. */
export interface SpecModule<A> extends Module<A> {
  readonly spec: ModuleSpec;
}

/** Whether a module was declared by a spec (the rest still carry a hand-written JSON Schema). */
export function isSpecModule<A>(m: Module<A>): m is SpecModule<A> {
  return 'spec' in m;
}

/** Every name a module answers to: short, collection-qualified, and ansible.legacy for builtins. */
export function namesOf(spec: ModuleSpec): string[] {
  const collection = spec.collection ?? 'ansible.builtin';
  const names = [`${collection}.${spec.name}`];
  if (collection === 'ansible.builtin') names.push(`ansible.legacy.${spec.name}`);
  return [...names, ...(spec.otherNames ?? [])];
}

/** Declares a module from its spec and its run; the run's arguments are typed by the spec. */
export function defineModule<const S extends ModuleSpec>(spec: S, run: (ctx: ModuleContext<ArgsOf<S['args']>>) => Promise<ModuleResult>): SpecModule<ArgsOf<S['args']>> {
  return {
    name: spec.name,
    aliases: namesOf(spec),
    schema: jsonSchemaOf(spec),
    ...(spec.freeForm === undefined ? {} : { freeForm: spec.freeForm }),
    checkMode: spec.checkMode !== 'none',
    ...(spec.diff === undefined ? {} : { diff: spec.diff }),
    ...(spec.rawArgs === undefined ? {} : { rawArgs: [...spec.rawArgs] }),
    spec,
    run: async (ctx) => {
      try {
        return await run(ctx);
      } catch (err) {
        if (err instanceof ModuleFailure) return failed(err.message, err.fields);
        if (spec.fsErrors !== undefined && isFsError(err)) {
          const path = spec.fsErrors === true ? undefined : (ctx.args as Record<string, unknown>)[spec.fsErrors];
          return failed(describeFsError(err, typeof path === 'string' ? path : undefined));
        }
        throw err;
      }
    },
  };
}

const JSON_TYPE: Record<ArgType, string | undefined> = {
  str: 'string',
  path: 'string',
  bool: 'boolean',
  int: 'integer',
  float: 'number',
  list: 'array',
  dict: 'object',
  raw: undefined,
};

function jsonOf(type: ArgType, elements: ArgType | undefined, choices: ArgSpec['choices']): Record<string, unknown> {
  if (type === 'list') return { type: 'array', items: jsonOf(elements ?? 'str', undefined, choices) };
  const json: Record<string, unknown> = {};
  const t = JSON_TYPE[type];
  if (t !== undefined) json.type = t;
  if (choices !== undefined) json.enum = [...choices];
  return json;
}

/** The JSON Schema of a module's arguments (canonical names; aliases are folded before validation). */
export function jsonSchemaOf(spec: ModuleSpec): ArgsSchema {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, arg] of Object.entries(spec.args)) {
    const prop = jsonOf(arg.type ?? 'str', arg.elements, arg.choices);
    if (arg.default !== undefined) prop.default = arg.default;
    if (arg.description) prop.description = arg.description;
    properties[name] = prop;
    if (arg.required) required.push(name);
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}
