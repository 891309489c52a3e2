// Sets host variables for the rest of the run (Ansible's set_fact).
import { setKey } from '../jinja/values.js';
import { defineModule } from './spec.js';

const BOOLISH: Record<string, boolean> = { true: true, yes: true, false: false, no: false };

export const setFact = defineModule(
  {
    name: 'set_fact',
    doc: {
      short: 'Sets host variables (facts) for the rest of the run: `set_fact: {name: value, ...}`.',
      description: 'In `key=value` form, a value that reads as a boolean (`yes`, `false`) becomes one, as in Ansible without native Jinja types.',
      returns: '`ansible_facts`: the variables set.',
    },
    args: {
      cacheable: { type: 'bool', default: false, description: "Accepted for Ansible's fact cache, which imgplay does not keep: the facts last for the run either way." },
    },
    passesOn: 'every other argument is a variable to set (`name: value`).',
    checkMode: 'full',
    traits: { controllerOnly: true, factsTo: 'variables', namesSet: (args) => Object.keys(args).filter((k) => k !== 'cacheable') },
  },
  async ({ args, template }) => {
    const facts: Record<string, unknown> = {};
    for (const [written, value] of Object.entries(args as Record<string, unknown>)) {
      if (written === 'cacheable') continue;
      // Ansible's set_fact templates each name too (`"{{ k }}={{ v }}"`).
      const key = /\{\{|\{%/.test(written) ? template(written) : written;
      if (!/^[A-Za-z_][\w]*$/.test(key)) return { failed: true, msg: `The variable name '${key}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.` };
      // Ansible converts boolean-looking strings here (without jinja2_native), so `x=yes` is a boolean.
      setKey(facts, key, typeof value === 'string' && Object.hasOwn(BOOLISH, value.toLowerCase()) ? BOOLISH[value.toLowerCase()] : value);
    }
    if (Object.keys(facts).length === 0) return { failed: true, changed: false, msg: 'No key/value pairs provided, at least one is required for this action to succeed' };
    return { changed: false, ansible_facts: facts };
  },
);
