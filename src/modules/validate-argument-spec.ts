// Validates variables against an argument spec, as ansible.builtin.validate_argument_spec does: the task a role
// with meta/argument_specs.yml runs first ("Validating arguments against arg spec 'main'").
import { templateValue } from '../jinja/template.js';
import { type ArgSpec, type ArgType, defineModule, type ModuleSpec } from './spec.js';
import { argumentProblems } from './spec-check.js';
import { failed } from './types.js';

const TYPES: readonly ArgType[] = ['str', 'bool', 'int', 'float', 'list', 'dict', 'path', 'raw'];

/** An Ansible argument spec (a role's `options`) as imgplay's spec; a type imgplay does not check is refused. */
function toSpec(options: Record<string, unknown>): ModuleSpec | string {
  const args: Record<string, ArgSpec> = {};
  for (const [name, raw] of Object.entries(options)) {
    const o = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const type = (o.type ?? 'str') as ArgType;
    if (!TYPES.includes(type)) return `argument '${name}': type '${String(o.type)}' is not supported by imgplay (it checks ${TYPES.join(', ')})`;
    const elements = o.elements as ArgType | undefined;
    if (elements !== undefined && !TYPES.includes(elements)) return `argument '${name}': elements '${String(elements)}' is not supported by imgplay (it checks ${TYPES.join(', ')})`;
    args[name] = {
      type,
      description: '',
      ...(elements !== undefined ? { elements } : {}),
      ...(o.required === true ? { required: true } : {}),
      ...(Array.isArray(o.choices) ? { choices: o.choices as (string | number | boolean)[] } : {}),
      ...(Array.isArray(o.aliases) ? { aliases: o.aliases as string[] } : {}),
    };
  }
  return { name: 'validate_argument_spec', doc: { short: '' }, args, checkMode: 'full' };
}

export const validateArgumentSpec = defineModule(
  {
    name: 'validate_argument_spec',
    doc: {
      short: 'Checks variables against an argument spec: the task a role with an argument spec runs first.',
      description:
        "As Ansible's action: each argument of the spec that is a variable of the task is templated and checked, with the `provided_arguments` on top (a role's parameters), by the same rules as a module's arguments (type and conversion, `required`, `choices`, `elements`, `aliases`). imgplay adds this task itself at the start of a role whose `meta/argument_specs.yml` (or `argument_specs` in `meta/main.yml`) has the entry point the role runs (`main`, or its `tasks_from`), named `Validating arguments against arg spec 'main' - <short_description>` and tagged `always`, unless `rolespec_validate: false` is given.",
      returns: "`msg`: `The arg spec validation passed`, or on failure `Validation of arguments failed:` and each problem on its own line, with `argument_errors` (the problems) and `argument_spec_data` (the spec).",
      checkMode: 'Validates as in a normal run.',
      differences: ['The `options` of a `dict` or `list` argument (its sub-arguments) are not checked; a `type` other than str, bool, int, float, list, dict, path or raw fails the task, naming it.'],
    },
    args: {
      argument_spec: { type: 'dict', required: true, description: "The spec: each argument's `type`, `required`, `choices`, `elements`, `aliases` (a role's `options`)." },
      provided_arguments: { type: 'dict', description: 'Values checked on top of the variables of the same names (a role passes its parameters).' },
      validate_args_context: { type: 'dict', description: 'Where the spec comes from (a role gives its type, name, entry point and path), returned with a failure.' },
    },
    checkMode: 'full',
    traits: { controllerOnly: true },
  },
  async ({ args, vars }) => {
    const spec = toSpec(args.argument_spec);
    if (typeof spec === 'string') return failed(spec);
    const fromVars: Record<string, unknown> = {};
    for (const name of Object.keys(spec.args)) if (name in vars) fromVars[name] = templateValue(vars[name], vars as Record<string, unknown>);
    const params = { ...fromVars, ...(args.provided_arguments ?? {}) };
    // A role's other parameters are not the spec's business (as 2.14 validates a role's arguments).
    const errors = argumentProblems(spec, params).errors.map((e) => e.message).filter((m) => !m.startsWith('Unsupported parameters'));
    if (errors.length > 0) {
      const context = args.validate_args_context === undefined || args.validate_args_context === null ? {} : { validate_args_context: args.validate_args_context };
      return failed(`Validation of arguments failed:\n${errors.join('\n')}`, { argument_errors: errors, argument_spec_data: args.argument_spec, ...context });
    }
    return { changed: false, msg: 'The arg spec validation passed' };
  },
);
