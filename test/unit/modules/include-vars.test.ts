// include_vars reads a file or a directory of them, refuses what it cannot honour at planning, and
// refuses file and dir arguments together in Ansible's words.
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
    'vars/d/30-notes.txt': 'c: ignored\n',
  });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: Record<string, unknown>) {
  return includeVars.run(makeContext({ args: await prepare(includeVars, args), controllerDir: dir }));
}

describe('include_vars', () => {
  it('sets the variables of a free-form file and names the file it read', async () => {
    const r = await run({ _raw_params: 'main.yml' });
    expect(r).toMatchObject({ changed: false, ansible_facts: { a: 1, b: 'two' }, ansible_included_var_files: [join(dir, 'vars/main.yml')] });
  });

  it('loads the files of a directory in name order, later ones winning, and skips other extensions', async () => {
    const r = await run({ dir: 'd' });
    expect(r.ansible_facts).toEqual({ a: 1, b: 'second' });
    expect(r.ansible_included_var_files).toEqual([join(dir, 'vars/d/10-first.yml'), join(dir, 'vars/d/20-second.json')]);
  });

  it('loads only the extensions it is given, gathered under name', async () => {
    const r = await run({ dir: 'd', extensions: ['json'], name: 'loaded' });
    expect(r.ansible_facts).toEqual({ loaded: { b: 'second' } });
  });

  it('fails on a file that does not hold a mapping', async () => {
    const r = await run({ file: 'list.yml' });
    expect(r).toMatchObject({ failed: true, msg: `${join(dir, 'vars/list.yml')} must be stored as a dictionary/hash` });
  });

  it('refuses file only and dir only arguments together, as Ansible does', async () => {
    const message = 'You are mixing file only and dir only arguments, these are incompatible';
    expect(await run({ file: 'main.yml', dir: 'd' })).toMatchObject({ failed: true, msg: message });
    expect(await run({ _raw_params: 'main.yml', extensions: ['yml'] })).toMatchObject({ failed: true, msg: message });
    expect(await run({ file: 'main.yml', ignore_unknown_extensions: true })).toMatchObject({ failed: true, msg: message });
  });

  it('refuses the arguments it cannot honour, saying why', async () => {
    await expect(prepare(includeVars, { dir: 'd', depth: 1 })).rejects.toThrow('depth is not supported by imgplay: imgplay reads only the files directly inside `dir`.');
    await expect(prepare(includeVars, { file: 'main.yml', hash_behaviour: 'merge' })).rejects.toThrow('hash_behaviour=merge is not supported by imgplay');
    await expect(prepare(includeVars, { dir: 'd', ignore_unknown_extensions: 'no' })).rejects.toThrow('ignore_unknown_extensions=false is not supported by imgplay');
  });

  it('accepts the values that say what it does anyway', async () => {
    const r = await run({ dir: 'd', ignore_unknown_extensions: true, hash_behaviour: 'replace' });
    expect(r.ansible_facts).toEqual({ a: 1, b: 'second' });
  });
});
