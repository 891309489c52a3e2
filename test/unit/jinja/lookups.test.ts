import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/jinja/expr.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-lookups-'));
mkdirSync(join(dir, 'files'));
mkdirSync(join(dir, 'roles', 'r', 'files'), { recursive: true });
mkdirSync(join(dir, 'roles', 'r', 'tasks'), { recursive: true });
writeFileSync(join(dir, 'roles', 'r', 'tasks', 'main.yml'), '[]\n');
writeFileSync(join(dir, 'files', 'a.txt'), '  play a\n\n');
writeFileSync(join(dir, 'roles', 'r', 'files', 'a.txt'), 'role a\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const play = { playbook_dir: dir, ansible_search_path: [dir], name: 'x', n: null };
const role = { ...play, ansible_search_path: [join(dir, 'roles', 'r'), join(dir, 'roles', 'r', 'tasks'), dir] };

describe('lookups', () => {
  it('read files from the search path, a role before the playbook, stripping as asked', () => {
    expect(evaluate("lookup('file', 'a.txt')", play)).toBe('  play a');
    expect(evaluate("lookup('file', 'a.txt', lstrip=True, rstrip=False)", play)).toBe('play a\n\n');
    expect(evaluate("lookup('file', 'a.txt')", role)).toBe('role a');
    expect(() => evaluate("lookup('file', 'nope.txt')", play)).toThrow('could not locate file in lookup: nope.txt');
  });

  it('join strings for lookup(), keep lists for query() and wantlist, and return a lone non-string as is', () => {
    expect(evaluate("lookup('items', ['a', 'b'])", play)).toBe('a,b');
    expect(evaluate("lookup('items', ['a', 'b'], wantlist=True)", play)).toEqual(['a', 'b']);
    expect(evaluate("query('items', 'a')", play)).toEqual(['a']);
    expect(evaluate("lookup('items', [7])", play)).toBe(7);
    expect(evaluate("lookup('items', [1, 'a'])", play)).toEqual([1, 'a']);
    expect(evaluate("lookup('items', [])", play)).toEqual([]);
  });

  it('hide what a plugin failed at with errors=ignore, but not undefined variables or unknown options', () => {
    expect(evaluate("lookup('file', 'nope.txt', errors='ignore')", play)).toBeNull();
    expect(evaluate("query('pipe', 'exit 3', errors='ignore')", play)).toEqual([]);
    expect(() => evaluate("lookup('vars', 'nope', errors='ignore')", play)).toThrow("'nope' is undefined");
    expect(() => evaluate("lookup('file', 'a.txt', strip=True, errors='ignore')", play)).toThrow("Unrecognized options for the 'file' lookup: strip");
  });

  it('run pipe and lines on the controller in the playbook directory', () => {
    expect(evaluate("lookup('pipe', 'pwd')", play)).toBe(dir);
    expect(evaluate("query('lines', 'printf \"a\\\\nb\\\\n\"')", play)).toEqual(['a', 'b']);
    expect(() => evaluate("lookup('pipe', 'exit 4')", play)).toThrow('lookup_plugin.pipe(exit 4) returned 4');
  });

  it('find the first existing candidate, or fail, or return nothing with skip', () => {
    expect(evaluate("lookup('first_found', 'nope', 'a.txt')", play)).toBe(join(dir, 'files', 'a.txt'));
    expect(evaluate("lookup('first_found', 'a.txt')", role)).toBe(join(dir, 'roles', 'r', 'files', 'a.txt'));
    expect(evaluate("query('first_found', {'files': ['x', 'a.txt'], 'paths': ['files']})", play)).toEqual([join(dir, 'files', 'a.txt')]);
    expect(evaluate("query('first_found', 'nope', skip=True)", play)).toEqual([]);
    expect(() => evaluate("lookup('first_found', 'nope')", play)).toThrow('No file was found when using first_found.');
  });

  it('refuse the lookups imgplay does not have, naming why', () => {
    expect(() => evaluate("lookup('url', 'https://example.org')", play)).toThrow("the 'url' lookup is not implemented in imgplay");
    expect(() => evaluate("lookup('nosuch', 'x')", play)).toThrow('lookup plugin (nosuch) not found');
  });

  it('list variable names by regular expression and give variables with a default', () => {
    expect(evaluate("query('varnames', '^n')", play)).toEqual(['name', 'n']);
    expect(evaluate("lookup('vars', 'nope', default=5)", play)).toBe(5);
    expect(evaluate("lookup('env', 'IMGPLAY_UNSET_FOR_TEST', default='d')", play)).toBe('d');
  });
});
