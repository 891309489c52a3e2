// Declares meta actions; the executor carries them out (flush_handlers, end_play, ...).
import type { Module } from './types.js';

/** The meta actions imgplay understands. */
export const META_ACTIONS = ['flush_handlers', 'end_play', 'end_host', 'end_batch', 'noop', 'clear_facts', 'clear_host_errors', 'refresh_inventory', 'reset_connection'] as const;

export const meta: Module<{ _raw_params: string }> = {
  name: 'meta',
  aliases: ['ansible.builtin.meta'],
  freeForm: '_raw_params',
  schema: {
    type: 'object',
    required: ['_raw_params'],
    properties: { _raw_params: { enum: [...META_ACTIONS] } },
    additionalProperties: false,
  },
  checkMode: true,
  async run() {
    return { changed: false };
  },
};
