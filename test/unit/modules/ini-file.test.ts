import { describe, expect } from 'vitest';
import { iniFile } from '../../../src/modules/ini-file.js';
import { cases } from '../../support/module-cases.js';

// Expected contents and messages were taken from community.general 6.6's ini_file (Debian's ansible 7.7) on the same inputs.
describe('ini_file', () => {
  describe('state=present', () => {
    cases(iniFile, [
      {
        name: 'creates a missing file and its directory, starting with an empty line as Ansible does',
        args: { path: '{root}/etc/app.ini', section: 'main', option: 'port', value: '8080' },
        changed: true,
        after: { 'etc/app.ini': '\n[main]\nport = 8080\n' },
        result: { msg: 'section and option added', path: '{root}/etc/app.ini', diff: { before: '', after: '\n[main]\nport = 8080\n' } },
      },
      {
        name: 'changes the value of an option in its section and leaves other sections alone',
        args: { dest: '{root}/f.ini', section: 'b', option: 'x', value: '2' },
        before: { 'f.ini': '[a]\nx = 1\n[b]\nx = 1\ny = 3\n' },
        changed: true,
        after: { 'f.ini': '[a]\nx = 1\n[b]\nx = 2\ny = 3\n' },
        result: { msg: 'option changed' },
      },
      {
        name: 'adds an option after the last line of the section that is not blank or a comment',
        args: { path: '{root}/f.ini', section: 'a', option: 'z', value: 'v', no_extra_spaces: true },
        before: { 'f.ini': '[a]\nx = 1\n\n# note\n[b]\n' },
        changed: true,
        after: { 'f.ini': '[a]\nx = 1\nz=v\n\n# note\n[b]\n' },
        result: { msg: 'option added' },
      },
      {
        name: 'writes an option without a section above the first section',
        args: { path: '{root}/f.ini', option: 'top', value: '1' },
        before: { 'f.ini': '# head\n[a]\nx = 1\n' },
        changed: true,
        after: { 'f.ini': 'top = 1\n# head\n[a]\nx = 1\n' },
      },
      {
        name: 'takes over a commented-out option line and drops the other lines of the option (exclusive)',
        args: { path: '{root}/f.ini', section: 'a', option: 'x', value: '5' },
        before: { 'f.ini': '[a]\n#x = 1\nx = 2\n; x = 3\n' },
        changed: true,
        after: { 'f.ini': '[a]\nx = 5\n' },
      },
      {
        name: 'keeps one line per value and only those values',
        args: { path: '{root}/f.ini', section: 'a', option: 'srv', values: ['a', 'b', 'a'] },
        before: { 'f.ini': '[a]\nsrv = b\nsrv = c\n' },
        changed: true,
        after: { 'f.ini': '[a]\nsrv = b\nsrv = a\n' },
      },
      {
        name: 'adds a value beside the others when not exclusive',
        args: { path: '{root}/f.ini', section: 'a', option: 'srv', values: ['a'], exclusive: false },
        before: { 'f.ini': '[a]\nsrv = b\n' },
        changed: true,
        after: { 'f.ini': '[a]\nsrv = b\nsrv = a\n' },
      },
      {
        name: 'writes an option without a value with allow_no_value',
        args: { path: '{root}/f.ini', section: 'mysqld', option: 'skip-name-resolve', allow_no_value: true },
        before: { 'f.ini': '[mysqld]\nuser = mysql\n' },
        changed: true,
        after: { 'f.ini': '[mysqld]\nuser = mysql\nskip-name-resolve\n' },
      },
      {
        name: 'adds only a section when no option is given',
        args: { path: '{root}/f.ini', section: 'new', allow_no_value: true },
        before: { 'f.ini': '[a]\n' },
        changed: true,
        after: { 'f.ini': '[a]\n[new]\n' },
        result: { msg: 'only section added' },
      },
      {
        name: 'ends an unterminated last line, which counts as a change',
        args: { path: '{root}/f.ini', section: 'a', option: 'x', value: '1' },
        before: { 'f.ini': '[a]\nx = 1' },
        changed: true,
        after: { 'f.ini': '[a]\nx = 1\n' },
        result: { msg: 'OK' },
      },
      {
        name: 'reads CRLF lines as lines and writes LF when it changes the file',
        args: { path: '{root}/f.ini', section: 'a', option: 'y', value: '2' },
        before: { 'f.ini': '[a]\r\nx = 1\r\n' },
        changed: true,
        after: { 'f.ini': '[a]\nx = 1\ny = 2\n' },
      },
      {
        name: 'leaves a file that already says it alone',
        args: { path: '{root}/f.ini', section: 'a', option: 'x', value: '1' },
        before: { 'f.ini': '[a]\nx = 1\n' },
        changed: false,
        result: { msg: 'OK' },
      },
      {
        name: 'replaces a symlink by a file with the mode of the file it named',
        args: { path: '{root}/link.ini', section: 'a', option: 'x', value: '2' },
        before: { 'real.ini': { content: '[a]\nx = 1\n', mode: 0o640 }, 'link.ini': { link: 'real.ini' } },
        changed: true,
        after: { 'real.ini': { content: '[a]\nx = 1\n', mode: 0o640 }, 'link.ini': { content: '[a]\nx = 2\n', mode: 0o640 } },
      },
      {
        name: 'sets the mode, which check mode does not predict (as in Ansible)',
        args: { path: '{root}/f.ini', section: 'a', option: 'x', value: '1', mode: '0600' },
        before: { 'f.ini': { content: '[a]\nx = 1\n', mode: 0o644 } },
        changed: true,
        after: { 'f.ini': { content: '[a]\nx = 1\n', mode: 0o600 } },
        check: { changed: false },
      },
      {
        name: 'keeps a backup of the old file',
        args: { path: '{root}/f.ini', section: 'a', option: 'x', value: '2', backup: true },
        before: { 'f.ini': '[a]\nx = 1\n' },
        changed: true,
        after: { 'f.ini': '[a]\nx = 2\n', 'f.ini.*~': '[a]\nx = 1\n' },
        result: { backup_file: expect.stringMatching(/f\.ini\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/) },
      },
    ]);
  });

  describe('state=absent', () => {
    cases(iniFile, [
      {
        name: 'removes every line of the option in the section, whatever the value',
        args: { path: '{root}/f.ini', section: 'a', option: 'x', value: 'ignored', state: 'absent' },
        before: { 'f.ini': '[a]\nx = 1\n#x = 2\nx=3\n[b]\nx = 1\n' },
        changed: true,
        after: { 'f.ini': '[a]\n#x = 2\n[b]\nx = 1\n' },
        result: { msg: 'option changed' },
      },
      {
        name: 'removes only the given values when not exclusive',
        args: { path: '{root}/f.ini', section: 'a', option: 'x', values: ['1'], exclusive: false, state: 'absent' },
        before: { 'f.ini': '[a]\nx = 1\nx = 3\n' },
        changed: true,
        after: { 'f.ini': '[a]\nx = 3\n' },
      },
      {
        name: 'removes a whole section',
        args: { path: '{root}/f.ini', section: 'a', state: 'absent' },
        before: { 'f.ini': '[a]\nx = 1\n\n[b]\ny = 2\n' },
        changed: true,
        after: { 'f.ini': '[b]\ny = 2\n' },
        result: { msg: 'section removed' },
      },
    ]);
  });

  describe('errors', () => {
    cases(iniFile, [
      {
        name: 'fails on a missing file without create',
        args: { path: '{root}/nope.ini', section: 'a', option: 'x', value: '1', create: false },
        error: 'Destination {root}/nope.ini does not exist!',
        result: { rc: 257 },
      },
      {
        name: 'needs a value for state present',
        args: { path: '{root}/f.ini', section: 'a', option: 'x' },
        before: { 'f.ini': '' },
        error: "Parameter 'value(s)' must be defined if state=present and allow_no_value=False.",
      },
      { name: 'refuses value with values', args: { path: '{root}/f.ini', value: '1', values: ['2'] }, invalid: 'parameters are mutually exclusive: value|values' },
      { name: 'refuses later collections’ arguments', args: { path: '{root}/f.ini', value: '1', ignore_spaces: true }, invalid: 'Unsupported parameters for (ini_file) module: ignore_spaces' },
    ]);
  });
});
