import { describe, expect, it } from 'vitest';
import { command } from '../../../src/modules/command.js';
import { shlexSplit } from '../../../src/modules/support/shlex.js';
import { formatDelta, formatTime } from '../../../src/modules/support/run-command.js';
import { type Case, cases, makeContext, prepare } from '../../support/module-cases.js';

// Commands need a real system to run in, so these rows run on the local target only.
const local = (rows: Case[]): Case[] => rows.map((r) => ({ targets: ['local'], ...r }));
const wouldRun = { changed: false, result: { skipped: true, msg: 'Command would have run if not in check mode', rc: 0 } };

describe('command', () => {
  cases(
    command,
    local([
      {
        name: 'runs a program without a shell',
        args: { _raw_params: 'echo a | b' },
        changed: true,
        again: true,
        result: { rc: 0, stdout: 'a | b', stdout_lines: ['a | b'], stderr: '', cmd: ['echo', 'a', '|', 'b'], msg: '' },
        check: wouldRun,
      },
      {
        name: 'takes the command line from cmd',
        args: { cmd: "printf '%s\\n' 'one two' three" },
        changed: true,
        again: true,
        result: { stdout: 'one two\nthree', stdout_lines: ['one two', 'three'] },
        check: wouldRun,
      },
      {
        name: 'takes argv as given, spaces and all',
        args: { argv: ['echo', 'a  b'] },
        changed: true,
        again: true,
        result: { stdout: 'a  b', cmd: ['echo', 'a  b'] },
        check: wouldRun,
      },
      {
        name: 'runs in chdir',
        args: { _raw_params: 'pwd', chdir: '{root}' },
        changed: true,
        again: true,
        result: { stdout: '{root}' },
        check: wouldRun,
      },
      {
        name: 'runs until creates exists, then skips',
        args: { _raw_params: 'touch {root}/made', creates: '{root}/made' },
        changed: true,
        after: { made: '' },
        check: { changed: true, result: { msg: 'Command would have run if not in check mode' } },
      },
      {
        name: 'matches creates as a glob',
        args: { _raw_params: 'touch {root}/other', creates: '{root}/ma*' },
        before: { made: '' },
        changed: false,
        result: { msg: "Did not run command since '{root}/ma*' exists", stdout: 'skipped, since {root}/ma* exists', rc: 0 },
        check: { changed: false, result: { msg: "Would not run command since '{root}/ma*' exists" } },
      },
      {
        name: 'takes a relative creates from chdir',
        args: { _raw_params: 'touch made', chdir: '{root}', creates: 'made' },
        changed: true,
        after: { made: '' },
      },
      {
        name: 'runs only while removes exists',
        args: { _raw_params: 'rm {root}/gone', removes: '{root}/gone' },
        before: { gone: 'x' },
        changed: true,
        after: {},
      },
      {
        name: 'skips when removes is missing',
        args: { _raw_params: 'false', removes: '{root}/gone' },
        changed: false,
        result: { msg: "Did not run command since '{root}/gone' does not exist" },
      },
      {
        name: 'feeds stdin with a newline added',
        args: { _raw_params: 'wc -c', stdin: 'ab' },
        changed: true,
        again: true,
        result: { stdout: '3' },
        check: wouldRun,
      },
      {
        name: 'feeds stdin as is with stdin_add_newline=false',
        args: { _raw_params: 'wc -c', stdin: 'ab', stdin_add_newline: false },
        changed: true,
        again: true,
        result: { stdout: '2' },
        check: wouldRun,
      },
      {
        name: 'strips trailing newlines from the output',
        args: { _raw_params: "printf 'a\\n\\n\\n'" },
        changed: true,
        again: true,
        result: { stdout: 'a' },
        check: wouldRun,
      },
      {
        name: 'passes the task environment',
        args: { _raw_params: 'printenv IMGPLAY_TEST' },
        environment: { IMGPLAY_TEST: 'yes' },
        changed: true,
        again: true,
        result: { stdout: 'yes' },
        check: wouldRun,
      },
      {
        name: 'warns that command ignores executable',
        args: { _raw_params: 'true', executable: '/bin/bash' },
        changed: true,
        again: true,
        result: { warnings: ["As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '/bin/bash'."] },
        check: wouldRun,
      },
      {
        name: 'fails on a non-zero exit with everything the command said',
        args: { _raw_params: 'ls {root}/nonexistent' },
        error: 'non-zero return code',
        result: { rc: 2, changed: true, stdout: '', stderr_lines: [expect.stringContaining('No such file or directory')] },
      },
      {
        name: "fails like Python's FileNotFoundError for a missing program",
        args: { _raw_params: 'nonexistentcmd-imgplay foo' },
        error: "[Errno 2] No such file or directory: b'nonexistentcmd-imgplay'",
        result: { rc: 2, cmd: 'nonexistentcmd-imgplay foo', changed: false },
      },
      {
        name: 'fails for a missing chdir',
        args: { _raw_params: 'pwd', chdir: '{root}/nowhere' },
        error: "Unable to change directory before execution: [Errno 2] No such file or directory: b'{root}/nowhere'",
      },
      {
        name: 'needs a command',
        args: { chdir: '{root}' },
        error: 'no command given',
        result: { rc: 256 },
      },
      {
        name: 'refuses a command line and argv together',
        args: { _raw_params: 'echo', argv: ['echo'] },
        error: 'only command or argv can be given, not both',
      },
      {
        name: 'refuses cmd next to a free-form command',
        args: { _raw_params: 'echo a', cmd: 'echo b' },
        error: "The 'cmd' argument cannot be used when other raw parameters are specified",
      },
      {
        name: 'names an unbalanced quote',
        args: { _raw_params: "echo 'a" },
        error: 'No closing quotation',
      },
    ]),
  );

  it('reports start, end and delta as Python prints datetimes', async () => {
    const args = await prepare(command, { _raw_params: 'true' });
    const r = await command.run(makeContext({ args }));
    expect(r.start).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    expect(r.end).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    expect(r.delta).toMatch(/^0:00:0\d\.\d{6}$/);
  });
});

describe('shlex splitting', () => {
  it('groups quoted words and joins adjacent parts', () => {
    expect(shlexSplit(`a 'b c' "d \\"e\\"" f'g'h \\ i`)).toEqual(['a', 'b c', 'd "e"', 'fgh', ' i']);
  });

  it('keeps an empty quoted argument', () => {
    expect(shlexSplit(`echo ''`)).toEqual(['echo', '']);
  });

  it('keeps a backslash inside double quotes unless it escapes', () => {
    expect(shlexSplit(`"a\\b"`)).toEqual(['a\\b']);
  });

  it('refuses unbalanced quotes and a trailing backslash', () => {
    expect(() => shlexSplit(`"a`)).toThrow('No closing quotation');
    expect(() => shlexSplit(`a\\`)).toThrow('No escaped character');
  });
});

describe('time formatting', () => {
  it('prints timedelta as Python does', () => {
    expect(formatDelta(1.5)).toBe('0:00:00.001500');
    expect(formatDelta(61_000)).toBe('0:01:01');
    expect(formatDelta(90_000_000)).toBe('1 day, 1:00:00');
  });

  it('prints microseconds', () => {
    expect(formatTime(new Date(2024, 0, 2, 3, 4, 5, 6).getTime() + 0.007)).toBe('2024-01-02 03:04:05.006007');
  });
});
