// Runs a command line on the target through its /bin/sh (or `executable`), as Ansible's raw does: no
// creates/removes, no chdir, always changed.
import { defineModule } from './spec.js';
import { execModuleResult } from './support/exec-result.js';
import type { ModuleResult } from './types.js';

export const raw = defineModule(
  {
    name: 'raw',
    doc: {
      short: "Runs a command line through the target's shell, below the module layer.",
      description:
        'The line runs through the target\'s `/bin/sh` (or `executable`), as Ansible runs raw: no `creates`/`removes`/`chdir`, and the task `environment` is not passed (a warning says so).',
      returns: '`rc`, `stdout`, `stderr`, `stdout_lines`, `stderr_lines`, always `changed: true`; a non-zero exit fails with `msg: non-zero return code`.',
      checkMode: 'Skipped (`skipped: true`, nothing run), as in Ansible.',
      differences: ['`stdout`/`stderr` lose their final newline (the connection strips it; Ansible keeps it).'],
    },
    args: {
      _raw_params: { description: 'The command line (free form: `raw: ls -l`).', internal: true },
      executable: { description: 'The shell to run the line with (default `/bin/sh`).' },
    },
    freeForm: '_raw_params',
    // Ansible skips raw under --check with a bare skipped result; returning it here keeps its shape.
    checkMode: 'full',
  },
  async ({ args, conn, check, environment, signal }) => {
    const command = args._raw_params ?? '';
    if (command.trim() === '') return { changed: false, failed: true, msg: 'no command given', rc: 256 };
    if (check) return { changed: false, skipped: true };
    const warnings: string[] = [];
    // Ansible runs raw below the module layer, where the environment keyword does not reach.
    if (Object.keys(environment).length > 0) warnings.push('raw module does not support the environment keyword');
    const res = await conn.exec(command, { executable: args.executable, signal });
    const result: ModuleResult = execModuleResult(res);
    if (warnings.length > 0) result.warnings = warnings;
    if (res.rc !== 0) Object.assign(result, { failed: true, msg: 'non-zero return code' });
    return result;
  },
);
