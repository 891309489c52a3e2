import { describe, expect } from 'vitest';
import { blockinfile } from '../../../src/modules/blockinfile.js';
import { TEST_ACCOUNTS, cases } from '../../support/module-cases.js';

const B = '# BEGIN ANSIBLE MANAGED BLOCK\n';
const E = '# END ANSIBLE MANAGED BLOCK\n';
const withBlock = (inner: string): string => `${B}${inner}${E}`;

// Expected contents and messages were taken from ansible-core 2.14's blockinfile on the same inputs.
describe('blockinfile', () => {
  describe('state=present', () => {
    cases(blockinfile, [
      {
        name: 'appends a new block at the end',
        args: { path: '{root}/f', block: 'x\ny' },
        before: { f: 'a\nb\n' },
        changed: true,
        after: { f: `a\nb\n${withBlock('x\ny\n')}` },
        result: {
          msg: 'Block inserted',
          diff: { before: 'a\nb\n', after: `a\nb\n${withBlock('x\ny\n')}`, before_header: '{root}/f (content)', after_header: '{root}/f (content)' },
        },
      },
      {
        name: 'updates the block in place',
        args: { path: '{root}/f', block: 'new' },
        before: { f: `a\n${withBlock('old\n')}b\n` },
        changed: true,
        after: { f: `a\n${withBlock('new\n')}b\n` },
        result: { msg: 'Block inserted' },
      },
      {
        name: 'leaves an identical block alone',
        args: { path: '{root}/f', block: 'x' },
        before: { f: `a\n${withBlock('x\n')}b\n` },
        changed: false,
        result: { msg: '' },
      },
      {
        name: 'inserts at the top with insertbefore=BOF',
        args: { path: '{root}/f', block: 'x', insertbefore: 'BOF' },
        before: { f: 'a\nb\n' },
        changed: true,
        after: { f: `${withBlock('x\n')}a\nb\n` },
      },
      {
        name: 'inserts after the last line matching insertafter',
        args: { path: '{root}/f', block: 'x', insertafter: '^a' },
        before: { f: 'a\nb\na\nc\n' },
        changed: true,
        after: { f: `a\nb\na\n${withBlock('x\n')}c\n` },
      },
      {
        name: 'inserts before the last line matching insertbefore',
        args: { path: '{root}/f', block: 'x', insertbefore: '^a' },
        before: { f: 'a\nb\na\nc\n' },
        changed: true,
        after: { f: `a\nb\n${withBlock('x\n')}a\nc\n` },
      },
      {
        name: 'appends when insertafter matches nothing',
        args: { path: '{root}/f', block: 'x', insertafter: 'zzz' },
        before: { f: 'a\n' },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}` },
      },
      {
        name: 'appends when insertbefore matches nothing',
        args: { path: '{root}/f', block: 'x', insertbefore: 'zzz' },
        before: { f: 'a\n' },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}` },
      },
      {
        name: 'takes insertafter=EOF literally',
        args: { path: '{root}/f', block: 'x', insertafter: 'EOF' },
        before: { f: 'a\n' },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}` },
      },
      {
        name: 'searches a (?m) insertafter pattern in the whole file',
        args: { path: '{root}/f', block: 'x', insertafter: '(?m)^b$' },
        before: { f: 'a\nb\nc\n' },
        changed: true,
        after: { f: `a\nb\n${withBlock('x\n')}c\n` },
      },
      {
        name: 'lets a (?m) insertbefore pattern span lines',
        args: { path: '{root}/f', block: 'x', insertbefore: '(?m)^b\\nc' },
        before: { f: 'a\nb\nc\n' },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}b\nc\n` },
      },
      {
        name: 'uses marker, marker_begin and marker_end',
        args: { path: '{root}/f', block: 'x', marker: '<!-- {mark} -->', marker_begin: 'start', marker_end: 'stop' },
        before: { f: 'a\n' },
        changed: true,
        after: { f: 'a\n<!-- start -->\nx\n<!-- stop -->\n' },
      },
      {
        name: 'takes the content alias and keeps a final newline single',
        args: { dest: '{root}/f', content: 'x\n' },
        before: { f: 'a\n' },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}` },
      },
      {
        name: 'ends an unterminated last line before the block',
        args: { destfile: '{root}/f', block: 'x' },
        before: { f: 'a' },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}` },
      },
      {
        name: 'treats a lone carriage return as a line end, as Python does',
        args: { name: '{root}/f', block: 'x', insertbefore: '^b' },
        before: { f: 'a\rb\n' },
        changed: true,
        after: { f: `a\r\n${withBlock('x\n')}b\n` },
      },
      {
        name: 'replaces from an end marker to a later begin marker',
        args: { path: '{root}/f', block: 'x' },
        before: { f: `${E}mid\n${B}z\n` },
        changed: true,
        after: { f: `${withBlock('x\n')}z\n` },
      },
      {
        name: 'writes through a symlink to the file',
        args: { path: '{root}/l', block: 'x' },
        before: { f: 'a\n', l: { link: 'f' } },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}`, l: { link: 'f' } },
      },
      {
        name: 'keeps a backup',
        args: { path: '{root}/f', block: 'x', backup: true },
        before: { f: 'a\n' },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}`, 'f.*~': 'a\n' },
        result: { backup_file: expect.stringMatching(/\/f\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/) },
      },
      {
        name: 'keeps non-ASCII text intact',
        args: { path: '{root}/f', block: 'th\u00e9' },
        before: { f: 'caf\u00e9\n' },
        changed: true,
        after: { f: `caf\u00e9\n${withBlock('th\u00e9\n')}` },
      },
    ]);
  });

  describe('create', () => {
    cases(blockinfile, [
      {
        name: 'creates a missing file and its directories',
        args: { path: '{root}/sub/dir/f', block: 'hi', create: true },
        changed: true,
        after: { 'sub/dir/f': withBlock('hi\n') },
        result: { msg: 'File created' },
        check: { changed: true, result: { msg: 'File created', diff: { before: '', after: withBlock('hi\n') } } },
      },
      {
        name: 'creates an empty file for an empty block',
        args: { path: '{root}/f', create: true },
        changed: true,
        after: { f: '' },
        result: { msg: 'File created' },
      },
      {
        name: 'fails for a missing file without create, even with state=absent',
        args: { path: '{root}/nope', state: 'absent' },
        error: 'Path {root}/nope does not exist !',
        result: { rc: 257 },
      },
      {
        name: 'says a missing file is not present with create and state=absent',
        args: { path: '{root}/nope', state: 'absent', create: true },
        changed: false,
        result: { msg: 'File {root}/nope not present' },
      },
    ]);
  });

  describe('state=absent', () => {
    cases(blockinfile, [
      {
        name: 'removes the block',
        args: { path: '{root}/f', state: 'absent' },
        before: { f: `a\n${withBlock('x\n')}b\n` },
        changed: true,
        after: { f: 'a\nb\n' },
        result: { msg: 'Block removed' },
      },
      {
        name: 'removes the block when block is empty',
        args: { path: '{root}/f' },
        before: { f: `a\n${withBlock('x\n')}` },
        changed: true,
        after: { f: 'a\n' },
        result: { msg: 'Block removed' },
      },
      {
        name: 'leaves a file without the block alone',
        args: { path: '{root}/f', state: 'absent' },
        before: { f: 'a\n' },
        changed: false,
        result: { msg: '' },
      },
      {
        name: 'still ends an unterminated last line, as Ansible does',
        args: { path: '{root}/f', state: 'absent' },
        before: { f: 'x' },
        changed: true,
        after: { f: 'x\n' },
        result: { msg: 'Block removed' },
      },
    ]);
  });

  describe('attributes and validate', () => {
    cases(blockinfile, [
      {
        name: 'reports a block and a mode change together',
        args: { path: '{root}/f', block: 'x', mode: '0600' },
        before: { f: { content: 'a\n', mode: '0644' } },
        changed: true,
        after: { f: { content: `a\n${withBlock('x\n')}`, mode: '0600' } },
        result: { msg: 'Block inserted and ownership, perms or SE linux context changed' },
      },
      {
        name: 'shows an attribute diff when only attributes change',
        args: { path: '{root}/f', block: 'x', mode: '0600' },
        before: { f: { content: `a\n${withBlock('x\n')}`, mode: '0644' } },
        changed: true,
        after: { f: { content: `a\n${withBlock('x\n')}`, mode: '0600' } },
        result: { msg: 'ownership, perms or SE linux context changed', diff: { before_header: '{root}/f (file attributes)' } },
      },
      {
        name: 'sets the owner from the target accounts',
        args: { path: '{root}/f', block: 'x', owner: TEST_ACCOUNTS.user },
        before: { f: withBlock('x\n') },
        changed: true,
        after: { f: { content: withBlock('x\n'), uid: TEST_ACCOUNTS.uid } },
        targets: ['confined'],
      },
      {
        name: 'writes when validate accepts the new file',
        args: { path: '{root}/f', block: 'x', validate: 'grep -q BEGIN %s' },
        before: { f: 'a\n' },
        changed: true,
        after: { f: `a\n${withBlock('x\n')}` },
        targets: ['local'],
      },
      {
        name: 'leaves the file alone when validate refuses it',
        args: { path: '{root}/f', block: 'x', validate: 'grep -q zzz %s' },
        before: { f: 'a\n' },
        error: 'failed to validate: rc:1 error:',
        targets: ['local'],
      },
    ]);
  });

  describe('errors', () => {
    cases(blockinfile, [
      { name: 'needs path', args: { block: 'x' }, invalid: 'missing required arguments: path' },
      {
        name: 'fails for a directory',
        args: { path: '{root}/d', block: 'x' },
        before: { d: { dir: true } },
        error: 'Path {root}/d is a directory !',
        result: { rc: 256 },
      },
      {
        name: 'refuses insertafter and insertbefore together',
        args: { path: '{root}/f', block: 'x', insertafter: 'a', insertbefore: 'b' },
        before: { f: 'a\n' },
        invalid: 'parameters are mutually exclusive: insertbefore|insertafter',
      },
      { name: 'names a bad insertafter pattern', args: { path: '{root}/f', block: 'x', insertafter: '(' }, before: { f: 'a\n' }, error: 'invalid regular expression' },
      { name: 'refuses an unknown state', args: { path: '{root}/f', state: 'gone' }, invalid: 'value of state must be one of: absent, present, got: gone' },
      { name: 'refuses append_newline, which 2.14 does not have', args: { path: '{root}/f', append_newline: true }, invalid: 'Unsupported parameters for (blockinfile) module: append_newline.' },
    ]);
  });
});
