// Fails unless every condition holds (Ansible's assert).
import { defineModule } from './spec.js';
import { evaluateCondition } from '../jinja/expr.js';
import { isTemplate } from '../jinja/template.js';

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

export const assert = defineModule(
  {
    name: 'assert',
    doc: {
      short: 'Fails unless every condition holds.',
      returns: 'On failure `assertion` (the first condition that failed), `evaluated_to` and `msg`; else `msg`.',
    },
    args: {
      that: { type: 'raw', required: true, description: 'A condition or a list of them, written as for `when:` (not templated first).' },
      fail_msg: { type: 'raw', aliases: ['msg'], description: 'The message when a condition fails (default `Assertion failed`).' },
      success_msg: { type: 'raw', description: 'The message when all hold (default `All assertions passed`).' },
      quiet: { type: 'bool', default: false, description: 'Show less on success.' },
    },
    rawArgs: ['that'],
    traits: { controllerOnly: true },
    checkMode: 'full',
  },
  async ({ args, evaluate, vars }) => {
    const conditions = Array.isArray(args.that) ? args.that : [args.that];
    // Ansible's action shows its result, passed or failed, unless quiet.
    const shown = args.quiet ? {} : { _ansible_verbose_always: true };
    for (const cond of conditions) {
      // As a `when:`, a condition with {{ }} is rendered first and what it rendered to is evaluated (Ansible's Conditional).
      const ok = typeof cond === 'boolean' ? cond : isTemplate(String(cond)) ? evaluateCondition(String(cond), vars) : truthy(evaluate(String(cond)));
      if (!ok) return { failed: true, changed: false, assertion: cond, evaluated_to: false, msg: (args.fail_msg ?? 'Assertion failed') as string, ...shown };
    }
    return { changed: false, msg: (args.success_msg ?? 'All assertions passed') as string, ...shown };
  },
);
