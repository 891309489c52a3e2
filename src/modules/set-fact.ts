// Sets host variables for the rest of the run (Ansible's set_fact).
import type { Module } from './types.js';

const BOOLISH: Record<string, boolean> = { true: true, yes: true, false: false, no: false };

export const setFact: Module<Record<string, unknown>> = {
  name: 'set_fact',
  aliases: ['ansible.builtin.set_fact'],
  schema: { type: 'object', properties: { cacheable: { type: 'boolean' } }, minProperties: 1 },
  checkMode: true,
  async run({ args }) {
    const facts: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(args)) {
      if (key === 'cacheable') continue;
      if (!/^[A-Za-z_][\w]*$/.test(key)) return { failed: true, msg: `The variable name '${key}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.` };
      // Ansible converts boolean-looking strings here (without jinja2_native), so `x=yes` is a boolean.
      facts[key] = typeof value === 'string' && value.toLowerCase() in BOOLISH ? BOOLISH[value.toLowerCase()] : value;
    }
    return { changed: false, ansible_facts: facts };
  },
};
