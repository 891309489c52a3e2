// Fails the task with a message (Ansible's fail).
import { defineModule } from './spec.js';

export const fail = defineModule(
  {
    name: 'fail',
    doc: { short: 'Fails the task with a message.', description: 'Usually with `when:`, to stop a run whose inputs are wrong.' },
    args: { msg: { type: 'raw', default: 'Failed as requested from task', description: 'The message (any value).' } },
    traits: { controllerOnly: true },
    checkMode: 'full',
  },
  async ({ args }) => ({ failed: true, changed: false, msg: args.msg as string }),
);
