// Fails the task with a message (Ansible's fail).
import type { Module } from './types.js';

export const fail: Module<{ msg?: unknown }> = {
  name: 'fail',
  aliases: ['ansible.builtin.fail'],
  schema: { type: 'object', properties: { msg: {} }, additionalProperties: false },
  checkMode: true,
  async run({ args }) {
    return { failed: true, changed: false, msg: (args.msg ?? 'Failed as requested from task') as string };
  },
};
