import { describe, expect } from 'vitest';
import { replace } from '../../../src/modules/replace.js';
import { TEST_ACCOUNTS, cases } from '../../support/module-cases.js';

const conf = 'a=1\nb=2\na=3\n';
const sections = 'a\n[s]\na\nx\n[e]\na\n';

// Expected contents and messages were taken from ansible-core 2.14's replace on the same inputs.
describe('replace', () => {
  describe('edits', () => {
    cases(replace, [
      {
        name: 'replaces every match, expanding numbered groups',
        args: { path: '{root}/f', regexp: '^a=(\\d)$', replace: 'a=\\1\\1' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=11\nb=2\na=33\n' },
        result: {
          msg: '2 replacements made',
          rc: 0,
          diff: { before_header: '{root}/f', after_header: '{root}/f', before: conf, after: 'a=11\nb=2\na=33\n' },
        },
        check: { changed: true, result: { msg: '2 replacements made', diff: { after: 'a=11\nb=2\na=33\n' } } },
      },
      {
        name: 'expands named groups with \\g<name>',
        args: { path: '{root}/f', regexp: '^(?P<k>b)=(?P<v>\\d)', replace: '\\g<v>=\\g<k>' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\n2=b\na=3\n' },
        result: { msg: '1 replacements made' },
      },
      {
        name: 'deletes matches when replace is left out',
        args: { path: '{root}/f', regexp: '^b=.*\\n' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\na=3\n' },
      },
      {
        name: 'reports nothing when nothing matches',
        args: { path: '{root}/f', regexp: '^zzz', replace: 'y' },
        before: { f: conf },
        changed: false,
        result: { msg: '', rc: 0 },
      },
      {
        name: 'is unchanged when the replacement equals the match',
        args: { path: '{root}/f', regexp: '^a', replace: 'a' },
        before: { f: conf },
        changed: false,
        result: { msg: '' },
      },
      {
        name: 'only edits the text after `after`',
        args: { path: '{root}/f', regexp: '^a', replace: 'A', after: 'b=2' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nb=2\nA=3\n' },
      },
      {
        name: 'only edits the text before `before`',
        args: { path: '{root}/f', regexp: '^a', replace: 'A', before: 'b=2' },
        before: { f: conf },
        changed: true,
        after: { f: 'A=1\nb=2\na=3\n' },
      },
      {
        name: 'only edits between `after` and `before`',
        args: { path: '{root}/f', regexp: '^a$', replace: 'b', after: '\\[s\\]', before: '\\[e\\]' },
        before: { f: sections },
        changed: true,
        after: { f: 'a\n[s]\nb\nx\n[e]\na\n' },
      },
      {
        name: 'says when after/before match nothing, and leaves attributes alone',
        args: { path: '{root}/f', regexp: 'a', after: 'zzz', mode: '0600' },
        before: { f: { content: conf, mode: '0644' } },
        changed: false,
        result: { msg: 'Pattern for before/after params did not match the given file: zzz(?P<subsection>.*)', rc: 0 },
      },
      {
        name: 'takes the dest alias',
        args: { dest: '{root}/f', regexp: 'b', replace: 'B' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nB=2\na=3\n' },
      },
      {
        name: 'takes the destfile alias',
        args: { destfile: '{root}/f', regexp: 'b', replace: 'B' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nB=2\na=3\n' },
      },
      {
        name: 'takes the name alias',
        args: { name: '{root}/f', regexp: 'b', replace: 'B' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nB=2\na=3\n' },
      },
      {
        name: "lets '.' match a carriage return, as Python's does",
        args: { path: '{root}/f', regexp: '^a=.*$', replace: 'x' },
        before: { f: 'a=1\r\nb\r\n' },
        changed: true,
        after: { f: 'x\nb\r\n' },
      },
      {
        name: 'matches characters, not bytes, in UTF-8 text',
        args: { path: '{root}/f', regexp: 'caf.$', replace: 'tea' },
        before: { f: 'caf\u00e9\n' },
        changed: true,
        after: { f: 'tea\n' },
      },
      {
        name: 'keeps inline flags of the pattern',
        args: { path: '{root}/f', regexp: '(?i)^B=2$', replace: 'b=5' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nb=5\na=3\n' },
      },
      {
        name: 'writes through a symlink to the file',
        args: { path: '{root}/l', regexp: 'a', replace: 'c' },
        before: { f: 'a\n', l: { link: 'f' } },
        changed: true,
        after: { f: 'c\n', l: { link: 'f' } },
      },
      {
        name: 'keeps a backup',
        args: { path: '{root}/f', regexp: 'a', replace: 'c', backup: true },
        before: { f: 'a\n' },
        changed: true,
        after: { f: 'c\n', 'f.*~': 'a\n' },
        result: { backup_file: expect.stringMatching(/\/f\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/) },
      },
      {
        name: 'accepts latin-1 as the encoding',
        args: { path: '{root}/f', regexp: 'b', replace: 'B', encoding: 'latin-1' },
        before: { f: 'b\n' },
        changed: true,
        after: { f: 'B\n' },
      },
    ]);
  });

  describe('attributes', () => {
    cases(replace, [
      {
        name: 'sets the mode alone',
        args: { path: '{root}/f', regexp: 'zzz', mode: '0600' },
        before: { f: { content: conf, mode: '0644' } },
        changed: true,
        after: { f: { content: conf, mode: '0600' } },
        result: { msg: 'ownership, perms or SE linux context changed' },
      },
      {
        name: 'reports a replacement and a mode change together',
        args: { path: '{root}/f', regexp: 'b', replace: 'B', mode: '0600' },
        before: { f: { content: conf, mode: '0644' } },
        changed: true,
        after: { f: { content: 'a=1\nB=2\na=3\n', mode: '0600' } },
        result: { msg: '1 replacements made and ownership, perms or SE linux context changed' },
      },
      {
        name: 'sets the owner from the target accounts',
        args: { path: '{root}/f', regexp: 'zzz', owner: TEST_ACCOUNTS.user },
        before: { f: 'a\n' },
        changed: true,
        after: { f: { content: 'a\n', uid: TEST_ACCOUNTS.uid } },
        targets: ['confined'],
      },
    ]);
  });

  describe('validate', () => {
    cases(replace, [
      {
        name: 'writes when validate accepts the new file',
        args: { path: '{root}/f', regexp: 'a', replace: 'c', validate: 'grep -q c %s' },
        before: { f: 'a\n' },
        changed: true,
        after: { f: 'c\n' },
        targets: ['local'],
      },
      {
        name: 'leaves the file alone when validate refuses it',
        args: { path: '{root}/f', regexp: 'a', replace: 'c', validate: 'grep -q zzz %s' },
        before: { f: 'a\n' },
        error: 'failed to validate: rc:1 error:',
        targets: ['local'],
      },
      {
        name: 'needs %s in validate',
        args: { path: '{root}/f', regexp: 'a', replace: 'c', validate: 'true' },
        before: { f: 'a\n' },
        error: 'validate must contain %s: true',
        targets: ['local'],
      },
    ]);
  });

  describe('errors', () => {
    cases(replace, [
      { name: 'needs path', args: { regexp: 'x' }, invalid: 'missing required arguments: path' },
      { name: 'needs regexp', args: { path: '{root}/f' }, invalid: 'missing required arguments: regexp' },
      { name: 'fails for a missing file', args: { path: '{root}/nope', regexp: 'x' }, error: 'Path {root}/nope does not exist !', result: { rc: 257 } },
      {
        name: 'fails for a directory',
        args: { path: '{root}/d', regexp: 'x' },
        before: { d: { dir: true } },
        error: 'Path {root}/d is a directory !',
        result: { rc: 256 },
      },
      { name: 'names a bad regular expression', args: { path: '{root}/f', regexp: '(' }, before: { f: 'x\n' }, error: 'invalid regular expression' },
      { name: 'names a bad escape in replace', args: { path: '{root}/f', regexp: 'x', replace: '\\q' }, before: { f: 'x\n' }, error: 'bad escape \\q in replace' },
      { name: 'names a missing group in replace', args: { path: '{root}/f', regexp: 'x', replace: '\\2' }, before: { f: 'x\n' }, error: 'invalid group reference 2' },
      { name: 'names an unknown encoding', args: { path: '{root}/f', regexp: 'x', encoding: 'bogus' }, before: { f: 'x\n' }, error: 'unknown encoding: bogus' },
      { name: 'refuses an unknown argument', args: { path: '{root}/f', regexp: 'x', line: 'y' }, invalid: 'Unsupported parameters for (replace) module: line.' },
    ]);
  });
});
