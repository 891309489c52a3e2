// Runs a program on the target without a shell, as Ansible's command module does.
import { boolArg, strArg } from './support/schema.js';
import { type CommandArgs, runCommand } from './support/run-command.js';
import type { Module } from './types.js';

/** The arguments command and shell both take, as JSON Schema properties. */
export const commandProperties: Record<string, unknown> = {
  _raw_params: { type: 'string' },
  cmd: { type: 'string' },
  chdir: { type: 'string' },
  creates: { type: 'string' },
  removes: { type: 'string' },
  stdin: strArg,
  stdin_add_newline: boolArg(true),
  strip_empty_ends: boolArg(true),
  executable: { type: 'string' },
};

export const command: Module<CommandArgs> = {
  name: 'command',
  aliases: ['ansible.builtin.command', 'ansible.legacy.command'],
  freeForm: '_raw_params',
  schema: {
    type: 'object',
    properties: { ...commandProperties, argv: { type: 'array', items: strArg } },
    additionalProperties: false,
  },
  checkMode: true,
  run: (ctx) => runCommand(ctx, false),
};
