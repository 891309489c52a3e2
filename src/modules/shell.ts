// Runs a command line through the target's shell (/bin/sh unless `executable` says otherwise), as Ansible's shell module does.
import { defineModule } from './spec.js';
import { commandArgs, runCommand } from './support/run-command.js';

export const shell = defineModule(
  {
    name: 'shell',
    doc: {
      short: "Runs a command line through the target's shell.",
      description: 'The line runs with `/bin/sh -c` (or `executable`), inside the tree for a chroot. Results and check mode are those of `command`.',
      differences: ['As for `command`.'],
    },
    args: commandArgs,
    freeForm: '_raw_params',
    checkMode: 'partial',
  },
  (ctx) => runCommand(ctx, true),
);
