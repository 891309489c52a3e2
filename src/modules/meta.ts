// Declares meta actions; the executor carries them out (flush_handlers, end_play, ...).
import { defineModule } from './spec.js';

/** The meta actions imgplay understands. */
export const META_ACTIONS = ['flush_handlers', 'end_play', 'end_host', 'end_batch', 'noop', 'clear_facts', 'clear_host_errors', 'refresh_inventory', 'reset_connection'] as const;

export const meta = defineModule(
  {
    name: 'meta',
    doc: {
      short: 'Acts on the run itself: `meta: flush_handlers`, `end_play`, `end_host`, ...',
      description: 'The executor carries the action out; the task itself changes nothing.',
    },
    args: { _raw_params: { required: true, choices: [...META_ACTIONS], internal: true, description: 'The action (free form).' } },
    freeForm: '_raw_params',
    checkMode: 'full',
    traits: { actsOnPlay: true },
  },
  async () => ({ changed: false }),
);
