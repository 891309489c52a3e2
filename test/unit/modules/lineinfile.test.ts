import { describe, expect, it } from 'vitest';
import { lineinfile } from '../../../src/modules/lineinfile.js';
import { ensureLinePresent, readLines, removeLines } from '../../../src/modules/support/line-edit.js';
import { compilePyRegex, expandMatch, toBytes } from '../../../src/modules/support/py-regex.js';
import { TEST_ACCOUNTS, cases } from '../../support/module-cases.js';

const hosts = '127.0.0.1 localhost\n';
const conf = 'a=1\nb=2\na=3\n';

describe('lineinfile', () => {
  describe('state=present', () => {
    cases(lineinfile, [
      {
        name: 'adds a missing line at the end',
        args: { path: '{root}/hosts', line: '127.0.1.1 micro' },
        before: { hosts },
        changed: true,
        after: { hosts: `${hosts}127.0.1.1 micro\n` },
        result: { msg: 'line added', backup: '', diff: { before: hosts, after: `${hosts}127.0.1.1 micro\n`, before_header: '{root}/hosts (content)' } },
      },
      {
        name: 'leaves a file that has the line alone',
        args: { path: '{root}/hosts', line: '127.0.0.1 localhost' },
        before: { hosts },
        changed: false,
        result: { msg: '' },
      },
      {
        name: 'replaces the last match of regexp',
        args: { path: '{root}/f', regexp: '^a=', line: 'a=9' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nb=2\na=9\n' },
        result: { msg: 'line replaced' },
      },
      {
        name: 'replaces the first match with firstmatch',
        args: { path: '{root}/f', regexp: '^a=', line: 'a=9', firstmatch: true },
        before: { f: conf },
        changed: true,
        after: { f: 'a=9\nb=2\na=3\n' },
      },
      {
        name: 'takes destfile and value as aliases of path and line',
        args: { destfile: '{root}/f', value: 'b=2' },
        before: { f: 'a=1\n' },
        changed: true,
        after: { f: 'a=1\nb=2\n' },
      },
      {
        name: "matches $ before the line's newline, as Python does",
        args: { dest: '{root}/f', regex: '^a\\s*=\\s*1$', line: 'a=2' },
        before: { f: 'a = 1\n' },
        changed: true,
        after: { f: 'a=2\n' },
      },
      {
        name: 'inserts after the last line matching insertafter',
        args: { path: '{root}/f', insertafter: '^b=', line: 'new' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nb=2\nnew\na=3\n' },
      },
      {
        name: 'inserts before a matching line',
        args: { path: '{root}/f', insertbefore: '^b=', line: 'new' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nnew\nb=2\na=3\n' },
      },
      {
        name: 'inserts at the beginning with insertbefore=BOF',
        args: { path: '{root}/f', insertbefore: 'BOF', line: 'new' },
        before: { f: conf },
        changed: true,
        after: { f: `new\n${conf}` },
      },
      {
        name: 'appends when insertafter matches nothing',
        args: { path: '{root}/f', insertafter: '^nomatch', line: 'new' },
        before: { f: conf },
        changed: true,
        after: { f: `${conf}new\n` },
      },
      {
        name: 'ends an unterminated last line before appending',
        args: { path: '{root}/f', line: 'c' },
        before: { f: 'a=1\nb=2' },
        changed: true,
        after: { f: 'a=1\nb=2\nc\n' },
      },
      {
        name: 'fills backreferences from the regexp',
        args: { path: '{root}/f', regexp: '^x=(\\d+)', line: 'y=\\1', backrefs: true },
        before: { f: 'x=1\n' },
        changed: true,
        after: { f: 'y=1\n' },
      },
      {
        name: 'changes nothing with backrefs when regexp does not match',
        args: { path: '{root}/f', regexp: '^x=(\\d+)', line: 'y=\\1', backrefs: true },
        before: { f: 'z=1\n' },
        changed: false,
      },
      {
        name: 'replaces a line containing search_string',
        args: { path: '{root}/f', search_string: 'b=', line: 'b=5' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nb=5\na=3\n' },
      },
      {
        name: 'creates the file (and its directory) with create',
        args: { path: '{root}/etc/new.conf', line: 'x', create: true },
        changed: true,
        after: { 'etc/new.conf': { content: 'x\n', mode: 0o644 } },
      },
      {
        name: 'reports line and attribute changes together',
        args: { path: '{root}/f', line: 'c', mode: '0600' },
        before: { f: { content: 'a=1\n', mode: 0o644 } },
        changed: true,
        after: { f: { content: 'a=1\nc\n', mode: 0o600 } },
        result: { msg: 'line added and ownership, perms or SE linux context changed' },
      },
      {
        name: 'sets the owner from the target accounts',
        args: { path: '{root}/f', line: 'a=1', owner: TEST_ACCOUNTS.user },
        before: { f: 'a=1\n' },
        changed: true,
        after: { f: { content: 'a=1\n', uid: TEST_ACCOUNTS.uid } },
        result: { msg: 'ownership, perms or SE linux context changed' },
        targets: ['confined'],
      },
      {
        name: 'writes through a symlink to the file',
        args: { path: '{root}/l', line: 'c' },
        before: { f: 'a\n', l: { link: 'f' } },
        changed: true,
        after: { f: 'a\nc\n', l: { link: 'f' } },
      },
      {
        name: 'keeps a backup',
        args: { path: '{root}/f', line: 'c', backup: true },
        before: { f: 'a\n' },
        changed: true,
        after: { f: 'a\nc\n', 'f.*~': 'a\n' },
      },
      {
        name: 'keeps non-ASCII text intact',
        args: { path: '{root}/f', line: 'c' },
        before: { f: 'caf\u00e9\n' },
        changed: true,
        after: { f: 'caf\u00e9\nc\n' },
      },
      {
        name: 'fails for a missing file without create',
        args: { path: '{root}/nofile', line: 'x' },
        error: 'Destination {root}/nofile does not exist !',
        result: { rc: 257 },
      },
      {
        name: 'fails for a directory',
        args: { path: '{root}/d', line: 'x' },
        before: { d: { dir: true } },
        error: 'Path {root}/d is a directory !',
      },
      {
        name: 'needs line with state=present',
        args: { path: '{root}/f', regexp: 'x' },
        before: { f: 'x\n' },
        error: 'line is required with state=present',
      },
      {
        name: 'needs regexp with backrefs',
        args: { path: '{root}/f', line: 'x', backrefs: true },
        before: { f: 'x\n' },
        error: 'regexp is required with backrefs=true',
      },
      {
        name: 'refuses insertafter and insertbefore together',
        args: { path: '{root}/f', line: 'x', insertafter: 'a', insertbefore: 'b' },
        before: { f: 'x\n' },
        invalid: 'parameters are mutually exclusive: insertbefore|insertafter',
      },
      {
        name: 'refuses backrefs beside search_string even when false, as Ansible counts it as given',
        args: { path: '{root}/f', line: 'x', search_string: 'a', backrefs: false },
        invalid: 'parameters are mutually exclusive: backrefs|search_string',
      },
      { name: 'needs path', args: { line: 'x' }, invalid: 'missing required arguments: path' },
      { name: 'refuses an unknown state', args: { path: '{root}/f', line: 'x', state: 'gone' }, invalid: 'value of state must be one of: absent, present, got: gone' },
      {
        // `-` always runs chattr, as in Ansible, so every run reports the change.
        name: 'removes a chattr attribute with the target\'s chattr, and reports it as an attribute change',
        args: { path: '{root}/f', line: 'x', attr: '-d' },
        before: { f: 'x\n' },
        changed: true,
        again: true,
        result: { msg: 'ownership, perms or SE linux context changed', diff: { before_header: '{root}/f (file attributes)', after: { attributes: '-d' } } },
        targets: ['local'],
      },
      {
        name: 'fails as Ansible does when chattr refuses the letters',
        args: { path: '{root}/f', line: 'x', attributes: '+Q' },
        before: { f: 'x\n' },
        error: 'chattr failed',
        result: { details: expect.stringContaining('Error while setting attributes: Usage:') },
        targets: ['local'],
      },
      {
        name: 'names a bad regular expression',
        args: { path: '{root}/f', line: 'x', regexp: '(' },
        before: { f: 'x\n' },
        error: 'invalid regular expression "("',
      },
    ]);
  });

  describe('state=absent', () => {
    cases(lineinfile, [
      {
        name: 'removes every line containing search_string',
        args: { path: '{root}/f', search_string: 'a=', state: 'absent' },
        before: { f: conf },
        changed: true,
        after: { f: 'b=2\n' },
        result: { msg: '2 line(s) removed', found: 2 },
      },
      {
        name: 'removes lines matching regexp',
        args: { path: '{root}/f', regexp: '^b', state: 'absent' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\na=3\n' },
      },
      {
        name: 'removes an exact line',
        args: { path: '{root}/f', line: 'a=3', state: 'absent' },
        before: { f: conf },
        changed: true,
        after: { f: 'a=1\nb=2\n' },
      },
      {
        name: 'is content with a missing file',
        args: { path: '{root}/nofile', line: 'x', state: 'absent' },
        changed: false,
        result: { msg: 'file not present' },
      },
      {
        name: 'needs something to match',
        args: { path: '{root}/f', state: 'absent' },
        before: { f: 'x\n' },
        error: 'one of line, search_string, or regexp is required with state=absent',
      },
    ]);
  });
});

describe('line editing', () => {
  it('splits lines keeping their endings, as readlines does', () => {
    expect(readLines('a\nb\r\nc')).toEqual(['a\n', 'b\r\n', 'c']);
    expect(readLines('')).toEqual([]);
  });

  it('treats an exact line with CRLF as needing replacement, as Ansible does', () => {
    const lines = ['a\r\n'];
    expect(ensureLinePresent(lines, { line: 'a', regexp: '^a', backrefs: false, firstmatch: false })).toEqual({ changed: true, msg: 'line replaced' });
    expect(lines).toEqual(['a\n']);
  });

  it('does not insert again right after the anchor', () => {
    const lines = ['a=1\n', 'new\n'];
    expect(ensureLinePresent(lines, { line: 'new', insertafter: '^a', backrefs: false, firstmatch: false }).changed).toBe(false);
  });

  it('counts removed lines', () => {
    expect(removeLines(['a\n', 'b\n', 'a\n'], { line: 'a' })).toEqual({ lines: ['b\n'], found: 2 });
  });
});

describe('Python regular expressions', () => {
  it('translates named groups and their backreferences', () => {
    const m = compilePyRegex('(?P<key>\\w+)=(?P=key)').exec('x=x\n');
    expect(m?.groups?.key).toBe('x');
  });

  it('honours a leading inline flag', () => {
    expect(compilePyRegex('(?i)^hello').test('HELLO\n')).toBe(true);
  });

  it('keeps \\s to ASCII whitespace on bytes', () => {
    expect(compilePyRegex('caf\\s').test(toBytes('caf\u00e0'))).toBe(false);
  });

  it('expands numbered and named groups, leaving unmatched ones empty', () => {
    const m = compilePyRegex('^(a)(?P<n>b)?(c)?').exec('ab') as RegExpExecArray;
    expect(expandMatch(m, '\\1-\\g<n>-\\g<1>-\\3.')).toBe('a-b-a-.');
  });
});
