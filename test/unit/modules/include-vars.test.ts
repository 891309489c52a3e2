// include_vars reads a file, or a directory tree of them as Ansible's action walks it (folders in the
// order of their paths, depth counting folders, files_matching, ignore_files, unknown extensions failing
// unless ignored), merges with hash_behaviour: merge, and refuses file and dir arguments together in
// Ansible's words.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { includeVars } from '../../../src/modules/include-vars.js';
import { buildTree, makeContext, prepare } from '../../support/module-cases.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgplay-include-vars-'));
  await buildTree(dir, {
    'vars/main.yml': 'a: 1\nb: two\n',
    'vars/list.yml': '- not a mapping\n',
    'vars/d/10-first.yml': 'a: 1\nb: first\n',
    'vars/d/20-second.json': '{"b": "second"}\n',
    'vars/d/sub/30-third.yml': 'c: third\n',
    'vars/d/sub/deeper/40-fourth.yml': 'd: fourth\n',
    'vars/d/zz/50-fifth.yml': 'e: fifth\n',
    'vars/t/1.yml': 'x: 1\n',
    'vars/t/notes.txt': 'c: ignored\n',
    'vars/t/bare': 'z: 26\n',
    'vars/m/1.yml': 'cfg: {b: 2, deep: {y: 2}}\n',
  });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The task sits in a role at `dir`, so a relative `dir:` is the role's vars/<dir>.
async function run(args: Record<string, unknown>, vars: Record<string, unknown> = {}) {
  return includeVars.run(makeContext({ args: await prepare(includeVars, args), controllerDir: dir, place: { rolePath: dir, taskDir: join(dir, 'tasks') }, vars }));
}

const files = (...names: string[]) => names.map((n) => join(dir, 'vars', n));

describe('include_vars', () => {
  it('sets the variables of a free-form file and names the file it read', async () => {
    const r = await run({ _raw_params: 'main.yml' });
    expect(r).toMatchObject({ changed: false, ansible_facts: { a: 1, b: 'two' }, ansible_included_var_files: files('main.yml') });
  });

  it.each([
    ['every folder, each in the order of its path, its files by name', {}, { a: 1, b: 'second', c: 'third', d: 'fourth', e: 'fifth' }, ['d/10-first.yml', 'd/20-second.json', 'd/sub/30-third.yml', 'd/sub/deeper/40-fourth.yml', 'd/zz/50-fifth.yml']],
    ['depth 1: the folder itself', { depth: 1 }, { a: 1, b: 'second' }, ['d/10-first.yml', 'd/20-second.json']],
    ['depth 3: the first three folders walked, whatever their level', { depth: 3 }, { a: 1, b: 'second', c: 'third', d: 'fourth' }, ['d/10-first.yml', 'd/20-second.json', 'd/sub/30-third.yml', 'd/sub/deeper/40-fourth.yml']],
    ['files_matching: names a Python regex finds something in', { files_matching: '^[1-3]0-' }, { a: 1, b: 'second', c: 'third' }, ['d/10-first.yml', 'd/20-second.json', 'd/sub/30-third.yml']],
    ['ignore_files: names ending with a match', { ignore_files: ['first.yml', '\\.json'] }, { c: 'third', d: 'fourth', e: 'fifth' }, ['d/sub/30-third.yml', 'd/sub/deeper/40-fourth.yml', 'd/zz/50-fifth.yml']],
    ['extensions, gathered under name', { extensions: ['json'], name: 'loaded', ignore_unknown_extensions: true }, { loaded: { b: 'second' } }, ['d/20-second.json']],
  ])('loads a directory tree: %s', async (_what, extra, facts, read) => {
    const r = await run({ dir: 'd', ...extra });
    expect(r.failed).toBeUndefined();
    expect(r.ansible_facts).toEqual(facts);
    expect(r.ansible_included_var_files).toEqual(files(...read));
  });

  it('fails on a file of another extension unless told to pass over it, under `message` as Ansible', async () => {
    expect(await run({ dir: 't' })).toMatchObject({ failed: true, message: `${join(dir, 'vars/t/bare')} does not have a valid extension: yaml, yml, json` });
    expect((await run({ dir: 't', ignore_unknown_extensions: true })).ansible_facts).toEqual({ x: 1 });
    // A name without an extension has the extension '', which may be listed.
    expect((await run({ dir: 't', ignore_unknown_extensions: true, extensions: ['', 'yml'] })).ansible_facts).toEqual({ x: 1, z: 26 });
  });

  it('says when the directory is missing or is a file', async () => {
    expect(await run({ dir: 'nope' })).toMatchObject({ failed: true, message: `${join(dir, 'vars/nope')} directory does not exist` });
    expect(await run({ dir: 'main.yml' })).toMatchObject({ failed: true, message: `${join(dir, 'vars/main.yml')} is not a directory` });
  });

  it('finds a dir starting with vars/ in the role itself, and one outside a role beside the task file', async () => {
    expect((await run({ dir: 'vars/t' })).ansible_facts).toMatchObject({ x: 1 });
    const ctx = makeContext({ args: await prepare(includeVars, { dir: 'vars/m' }), controllerDir: dir, place: { taskDir: dir } });
    expect((await includeVars.run(ctx)).ansible_facts).toEqual({ cfg: { b: 2, deep: { y: 2 } } });
  });

  it('merges into the variable of the same name with hash_behaviour: merge, and fails on what is no mapping', async () => {
    const r = await run({ dir: 'm', hash_behaviour: 'merge' }, { cfg: { a: 1, b: 1, deep: { x: 1 } } });
    expect(r.ansible_facts).toEqual({ cfg: { a: 1, b: 2, deep: { x: 1, y: 2 } } });
    await expect(run({ dir: 'm', hash_behaviour: 'merge' })).rejects.toThrow("failed to combine variables, expected dicts but got a 'NoneType' and a 'dict'");
    expect((await run({ dir: 'm', hash_behaviour: 'replace' }, { cfg: { a: 1 } })).ansible_facts).toEqual({ cfg: { b: 2, deep: { y: 2 } } });
  });

  it('fails on a file that does not hold a mapping', async () => {
    const r = await run({ file: 'list.yml' });
    expect(r).toMatchObject({ failed: true, message: `${join(dir, 'vars/list.yml')} must be stored as a dictionary/hash` });
  });

  it('refuses file only and dir only arguments together, as Ansible does', async () => {
    const message = 'You are mixing file only and dir only arguments, these are incompatible';
    expect(await run({ file: 'main.yml', dir: 'd' })).toMatchObject({ failed: true, msg: message });
    expect(await run({ _raw_params: 'main.yml', extensions: ['yml'] })).toMatchObject({ failed: true, msg: message });
    expect(await run({ file: 'main.yml', ignore_unknown_extensions: true })).toMatchObject({ failed: true, msg: message });
  });
});
