// Fails unless every condition holds (Ansible's assert).
import type { Module } from './types.js';

interface AssertArgs {
  that: unknown;
  fail_msg?: unknown;
  msg?: unknown;
  success_msg?: unknown;
  quiet: boolean;
}

export const assert: Module<AssertArgs> = {
  name: 'assert',
  aliases: ['ansible.builtin.assert'],
  schema: {
    type: 'object',
    required: ['that'],
    properties: { that: {}, fail_msg: {}, msg: {}, success_msg: {}, quiet: { type: 'boolean', default: false } },
    additionalProperties: false,
  },
  checkMode: true,
  rawArgs: ['that'],
  async run({ args, evaluate }) {
    const conditions = Array.isArray(args.that) ? args.that : [args.that];
    for (const cond of conditions) {
      const ok = typeof cond === 'boolean' ? cond : truthy(evaluate(String(cond)));
      if (!ok) {
        return {
          failed: true,
          changed: false,
          assertion: cond,
          evaluated_to: false,
          msg: (args.fail_msg ?? args.msg ?? 'Assertion failed') as string,
        };
      }
    }
    return { changed: false, msg: (args.success_msg ?? 'All assertions passed') as string, ...(args.quiet ? { _ansible_verbose_always: false } : {}) };
  },
};

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}
