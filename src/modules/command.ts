// Runs a program on the target without a shell, as Ansible's command module does.
import { defineModule } from './spec.js';
import { commandArgs, runCommand } from './support/run-command.js';


export const command = defineModule(
  {
    name: 'command',
    doc: {
      short: 'Runs a program on the target without a shell.',
      description:
        "`command: ls -l` (free form), or `cmd`, or `argv` (a list run as is). The line is split as Python's `shlex.split` splits it and run without a shell.",
      returns:
        '`changed` (true when the command ran), `rc`, `stdout`, `stderr`, `stdout_lines`, `stderr_lines`, `cmd` (a list for command, the string for shell), `start`, `end`, `delta` (as Python prints datetimes), `msg`. A non-zero rc fails the task with `msg: non-zero return code`; a program that does not exist fails with rc 2 and `[Errno 2] No such file or directory`.',
      checkMode: 'The command never runs. With `creates`/`removes` the module reports what would happen; without them the task is skipped, as Ansible does.',
      differences: [
        '`rc` is absent (Ansible: `null`) in results that fail before anything ran (a missing `chdir`, say).',
        'Environment variables come from `environment:`; a chroot starts from a clean environment.',
      ],
    },
    args: { ...commandArgs, argv: { type: 'list', elements: 'str', description: 'The program and its arguments, run as they are (no splitting).' } },
    freeForm: '_raw_params',
    checkMode: 'partial',
  },
  (ctx) => runCommand(ctx, false),
);
