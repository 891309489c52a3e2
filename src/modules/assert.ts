// Fails unless every condition holds (Ansible's assert).
import { defineModule } from './spec.js';
import { evaluateCondition } from '../jinja/expr.js';
import { isTemplate, templateValue } from '../jinja/template.js';
import { TEMPLATED_CONDITION } from '../jinja/evaluate.js';

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
      that: { type: 'raw', required: true, description: 'A condition or a list of them, written as for `when:`. One string is templated first, as Ansible does (it may name a list of conditions); the items of a list are not.' },
      fail_msg: { type: 'raw', aliases: ['msg'], description: 'The message when a condition fails (default `Assertion failed`).' },
      success_msg: { type: 'raw', description: 'The message when all hold (default `All assertions passed`).' },
      quiet: { type: 'bool', default: false, description: 'Show less on success.' },
    },
    rawArgs: ['that'],
    traits: { controllerOnly: true },
    checkMode: 'full',
  },
  async ({ args, evaluate, vars }) => {
    // As 2.14's action: a `that` written as one string is templated first (it may name a list of conditions);
    // the items of a list are conditions as written.
    const that = typeof args.that === 'string' ? templateValue(args.that, vars) : args.that;
    const conditions = Array.isArray(that) ? that : [that];
    // Ansible's action shows its result, passed or failed, unless quiet.
    const shown = args.quiet ? {} : { _ansible_verbose_always: true };
    const warnings = new Set<string>();
    const warned = () => (warnings.size > 0 ? { warnings: [...warnings] } : {});
    for (const cond of conditions) {
      // As a `when:`, a condition with {{ }} is rendered first and what it rendered to is evaluated (Ansible's Conditional).
      const templated = typeof cond === 'string' && isTemplate(cond);
      if (templated) warnings.add(`${TEMPLATED_CONDITION}${cond}`);
      const ok = typeof cond === 'boolean' ? cond : templated ? evaluateCondition(cond, vars) : truthy(evaluate(String(cond)));
      if (!ok) return { failed: true, changed: false, assertion: cond, evaluated_to: false, msg: (args.fail_msg ?? 'Assertion failed') as string, ...shown, ...warned() };
    }
    return { changed: false, msg: (args.success_msg ?? 'All assertions passed') as string, ...shown, ...warned() };
  },
);
