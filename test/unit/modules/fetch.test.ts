import { mkdir, mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fetch } from '../../../src/modules/fetch.js';
import { cases, makeContext, prepare } from '../../support/module-cases.js';

// Digests of 'hello\n', as ansible 2.14 reported them for the same file.
const sha1 = 'f572d396fae9206628714fb2ce00f72e94f2258f';
const md5 = 'b1946ac92492d2347c6235b4d2611184';
const skipped = { changed: false, result: { skipped: true, msg: 'check mode not (yet) supported for this module' } };
const vars = { inventory_hostname: 'web1' };

const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});
// A temp directory for the tests that look at the controller side directly; removed after the file.
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-fetch-'));
  scratch.push(dir);
  return dir;
}

describe('fetch', () => {
  cases(fetch, [
    {
      name: 'copies a file to dest/<inventory_hostname>/<src path>',
      args: { src: '{root}/a.txt', dest: '{files}/out' },
      vars,
      before: { 'a.txt': 'hello\n' },
      changed: true,
      result: { checksum: sha1, md5sum: md5, remote_checksum: sha1, remote_md5sum: null, dest: '{files}/out/web1{root}/a.txt' },
      check: skipped,
    },
    {
      name: 'with flat and a trailing slash, keeps only the file name',
      args: { src: '{root}/sub/a.txt', dest: '{files}/flat/', flat: true },
      vars,
      before: { 'sub/a.txt': 'hello\n' },
      changed: true,
      result: { checksum: sha1, dest: '{files}/flat/a.txt' },
      check: skipped,
    },
    {
      name: 'with flat and a file name, writes exactly there',
      args: { src: '{root}/a.txt', dest: '{files}/renamed', flat: 'yes' },
      vars,
      before: { 'a.txt': 'hello\n' },
      changed: true,
      result: { dest: '{files}/renamed' },
      check: skipped,
    },
    {
      name: 'leaves an identical controller copy alone',
      args: { src: '{root}/a.txt', dest: '{files}/same', flat: true },
      vars,
      before: { 'a.txt': 'hello\n' },
      files: { same: 'hello\n' },
      changed: false,
      result: { checksum: sha1, md5sum: md5, file: '{root}/a.txt', dest: '{files}/same' },
      check: skipped,
    },
    {
      name: 'follows a symlink on the target',
      args: { src: '{root}/link', dest: '{files}/got', flat: true },
      vars,
      before: { 'a.txt': 'hello\n', link: { link: 'a.txt' } },
      changed: true,
      result: { checksum: sha1 },
      check: skipped,
    },
    {
      name: 'ignores a missing src when fail_on_missing is false',
      args: { src: '{root}/nope', dest: '{files}/out', fail_on_missing: false },
      vars,
      changed: false,
      result: { file: '{root}/nope', msg: 'the remote file does not exist, not transferring, ignored' },
      check: skipped,
    },
    {
      name: 'fails on a missing src by default',
      args: { src: '{root}/nope', dest: '{files}/out' },
      vars,
      error: 'the remote file does not exist, not transferring, ignored',
    },
    {
      name: 'fails on a directory',
      args: { src: '{root}/d', dest: '{files}/out' },
      vars,
      before: { d: { dir: true } },
      error: 'remote file is a directory, fetch cannot work on directories',
    },
    {
      name: 'fails when flat dest is an existing directory without a trailing slash',
      args: { src: '{root}/a.txt', dest: '{files}/d', flat: true },
      vars,
      before: { 'a.txt': 'hello\n' },
      files: { d: { dir: true } },
      error: 'dest is an existing directory, use a trailing slash',
    },
    {
      name: 'requires src and dest',
      args: { src: '{root}/a.txt' },
      error: 'src and dest are required',
    },
  ]);

  it('writes the bytes to the controller and overwrites a different copy', async () => {
    const dir = await scratchDir();
    await mkdir(join(dir, 'target'));
    await writeFile(join(dir, 'target/a.txt'), 'new\n');
    await writeFile(join(dir, 'old'), 'old\n');
    const args = await prepare(fetch, { src: join(dir, 'target/a.txt'), dest: join(dir, 'old'), flat: true });
    const result = await fetch.run(makeContext({ args, vars }));
    expect(result.changed).toBe(true);
    expect(await readFile(join(dir, 'old'), 'utf8')).toBe('new\n');
  });

  it('takes a relative dest from the playbook directory', async () => {
    const dir = await scratchDir();
    await writeFile(join(dir, 'a.txt'), 'hello\n');
    const args = await prepare(fetch, { src: join(dir, 'a.txt'), dest: 'fetched' });
    const result = await fetch.run(makeContext({ args, vars: { ...vars, playbook_dir: dir } }));
    expect(result.dest).toBe(join(dir, 'fetched/web1', dir, 'a.txt'));
    expect(await readFile(join(dir, 'fetched/web1', dir, 'a.txt'), 'utf8')).toBe('hello\n');
  });
});
