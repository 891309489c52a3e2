// Runs a command line through the target's shell (/bin/sh unless `executable` says otherwise), as Ansible's shell module does.
import { commandProperties } from './command.js';
import { type CommandArgs, runCommand } from './support/run-command.js';
import type { Module } from './types.js';

export const shell: Module<CommandArgs> = {
  name: 'shell',
  aliases: ['ansible.builtin.shell', 'ansible.legacy.shell'],
  freeForm: '_raw_params',
  schema: {
    type: 'object',
    properties: commandProperties,
    additionalProperties: false,
  },
  checkMode: true,
  run: (ctx) => runCommand(ctx, true),
};
