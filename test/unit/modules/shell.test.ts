import { describe } from 'vitest';
import { shell } from '../../../src/modules/shell.js';
import { type Case, cases } from '../../support/module-cases.js';

// Commands need a real system to run in, so these rows run on the local target only.
const local = (rows: Case[]): Case[] => rows.map((r) => ({ targets: ['local'], ...r }));
const wouldRun = { changed: false, result: { skipped: true, msg: 'Command would have run if not in check mode' } };

describe('shell', () => {
  cases(
    shell,
    local([
      {
        name: 'runs the line through /bin/sh, pipes and all',
        args: { _raw_params: `echo "Mixed Case" | tr 'a-z' 'A-Z'; echo err >&2` },
        changed: true,
        again: true,
        result: { stdout: 'MIXED CASE', stderr: 'err', stderr_lines: ['err'], cmd: `echo "Mixed Case" | tr 'a-z' 'A-Z'; echo err >&2`, rc: 0 },
        check: wouldRun,
      },
      {
        name: 'uses the executable asked for',
        args: { cmd: '[[ 1 == 1 ]] && echo bash', executable: '/bin/bash' },
        changed: true,
        again: true,
        result: { stdout: 'bash' },
        check: wouldRun,
      },
      {
        name: 'redirects inside chdir',
        args: { cmd: 'echo hi > out', chdir: '{root}', creates: 'out' },
        changed: true,
        after: { out: 'hi\n' },
        check: { changed: true },
      },
      {
        name: 'expands variables from the task environment',
        args: { _raw_params: 'echo "$GREETING, $((1+2))"' },
        environment: { GREETING: 'hello' },
        changed: true,
        again: true,
        result: { stdout: 'hello, 3' },
        check: wouldRun,
      },
      {
        name: 'fails with the exit code of the line',
        args: { _raw_params: 'echo out; exit 3' },
        error: 'non-zero return code',
        result: { rc: 3, stdout: 'out' },
      },
      {
        name: 'refuses argv, which only command takes',
        args: { argv: ['echo'] },
        invalid: 'argv',
      },
    ]),
  );
});
