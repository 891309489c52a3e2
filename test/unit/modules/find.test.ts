import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { find } from '../../../src/modules/find.js';
import { TEST_ACCOUNTS, cases, makeContext, prepare } from '../../support/module-cases.js';

// Expectations follow ansible-core 2.14's find run on the same trees (os.walk order: each directory's
// files before its subdirectories, depth first); rows keep one match per kind and directory so the
// file system's own entry order cannot change the answer.
const paths = (...p: string[]) => p.map((path) => ({ path }));

const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});
// A temp directory for the tests that look at the controller side directly; removed after the file.
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-find-'));
  scratch.push(dir);
  return dir;
}

describe('find', () => {
  describe('selection', () => {
    cases(find, [
      {
        name: 'finds regular files at the top only by default, skipping hidden ones',
        args: { paths: '{root}' },
        before: { 'a.txt': 'a\n', '.h.txt': 'h\n', 'sub/b.txt': 'b\n', link: { link: 'a.txt' } },
        changed: false,
        result: { files: paths('{root}/a.txt'), matched: 1, examined: 4, msg: 'All paths examined', skipped_paths: {} },
      },
      {
        name: 'descends into a directory after listing its files',
        args: { path: '{root}', recurse: 'yes', file_type: 'any' },
        before: { 'z.txt': 'z\n', 'a/f.txt': 'f\n' },
        changed: false,
        result: { files: paths('{root}/z.txt', '{root}/a', '{root}/a/f.txt'), matched: 3, examined: 3 },
      },
      {
        name: 'finds files inside hidden directories even without hidden',
        args: { name: '{root}', recurse: true },
        before: { '.git/HEAD': 'ref\n' },
        changed: false,
        result: { files: paths('{root}/.git/HEAD'), examined: 2 },
      },
      {
        name: 'includes hidden names with hidden',
        args: { paths: '{root}', hidden: true },
        before: { '.h.txt': 'h\n' },
        changed: false,
        result: { files: paths('{root}/.h.txt') },
      },
      {
        name: 'stops at depth but still counts what it examined',
        args: { paths: '{root}', recurse: true, depth: 2, file_type: 'directory' },
        before: { 'a/b/c/f': 'x\n' },
        changed: false,
        result: { files: paths('{root}/a', '{root}/a/b'), examined: 3 },
      },
      {
        name: 'file_type=directory takes real directories, not links to them',
        args: { paths: '{root}', file_type: 'directory' },
        before: { d: { dir: true }, l: { link: 'd' } },
        changed: false,
        result: { files: [{ path: '{root}/d', isdir: true, islnk: false }], examined: 2 },
      },
      {
        name: 'file_type=link takes symlinks',
        args: { paths: '{root}', file_type: 'link' },
        before: { d: { dir: true }, l: { link: 'd' } },
        changed: false,
        result: { files: [{ path: '{root}/l', islnk: true, isdir: false }] },
      },
      {
        name: 'does not step into a link to a directory without follow',
        args: { paths: '{root}', recurse: true },
        before: { 'd/in': 'x\n', l: { link: 'd' } },
        changed: false,
        result: { files: paths('{root}/d/in'), examined: 3 },
      },
      {
        name: 'steps into a link to a directory with follow',
        args: { paths: '{root}/l', recurse: true, follow: true },
        before: { 'd/sub/in': 'x\n', l: { link: 'd' } },
        changed: false,
        result: { files: paths('{root}/l/sub/in'), examined: 2 },
      },
      {
        name: 'returns stat details with the target account names',
        args: { paths: '{root}', get_checksum: true },
        before: { f: { content: 'hello\n', mode: '0640' } },
        changed: false,
        result: {
          files: [
            expect.objectContaining({
              mode: '0640', isreg: true, isdir: false, size: 6, rusr: true, wusr: true, xusr: false, rgrp: true, woth: false,
              checksum: 'f572d396fae9206628714fb2ce00f72e94f2258f',
            }),
          ],
        },
      },
      {
        name: 'names owners from the target, empty when the target does not know them',
        args: { paths: '{root}' },
        before: { f: { content: 'x', uid: TEST_ACCOUNTS.uid, gid: 99999 } },
        changed: false,
        result: { files: [expect.objectContaining({ uid: TEST_ACCOUNTS.uid, pw_name: TEST_ACCOUNTS.user, gr_name: '' })] },
        targets: ['confined'],
      },
    ]);
  });

  describe('filters', () => {
    cases(find, [
      {
        name: 'matches glob patterns against the name, a comma-separated string splitting without trimming',
        args: { paths: '{root}', patterns: '*.log, *.txt' },
        before: { 'a.log': 'x', 'b.txt': 'x' },
        changed: false,
        result: { files: paths('{root}/a.log'), matched: 1 },
      },
      {
        name: 'lets * match a leading dot when hidden is on (fnmatch, not glob)',
        args: { paths: '{root}', patterns: ['*rc'], hidden: true },
        before: { '.bashrc': 'x', other: 'x' },
        changed: false,
        result: { files: paths('{root}/.bashrc') },
      },
      {
        name: 'drops names that match an exclude',
        args: { paths: '{root}', patterns: ['*'], excludes: ['*.bak'] },
        before: { 'a.conf': 'x', 'a.conf.bak': 'x' },
        changed: false,
        result: { files: paths('{root}/a.conf') },
      },
      {
        name: 'with use_regex, patterns match at the start of the name only',
        args: { paths: '{root}', patterns: ['ab'], use_regex: true },
        before: { abc: 'x', cab: 'x' },
        changed: false,
        result: { files: paths('{root}/abc') },
      },
      {
        name: 'with use_regex, excludes are regexes too',
        args: { paths: '{root}', patterns: ['^[ab]'], excludes: ['.*log'], use_regex: true },
        before: { 'a.log': 'x', 'b.txt': 'x' },
        changed: false,
        result: { files: paths('{root}/b.txt') },
      },
      {
        name: 'contains matches a line from its start',
        args: { paths: '{root}', contains: 'foo' },
        before: { yes: 'one\nfoo bar\n', no: 'a foo\n' },
        changed: false,
        result: { files: paths('{root}/yes') },
      },
      {
        name: 'contains with read_whole_file searches anywhere',
        args: { paths: '{root}', contains: 'a foo', read_whole_file: true },
        before: { yes: 'x\na foo\n', no: 'nothing\n' },
        changed: false,
        result: { files: paths('{root}/yes') },
      },
      {
        name: 'size takes files at least that big',
        args: { paths: '{root}', size: '1k' },
        before: { big: 'x'.repeat(1024), small: 'x'.repeat(1023) },
        changed: false,
        result: { files: paths('{root}/big') },
      },
      {
        name: 'a negative size takes files at most that big',
        args: { paths: '{root}', size: '-2' },
        before: { big: 'xxx', small: 'xx' },
        changed: false,
        result: { files: paths('{root}/small') },
      },
      {
        name: 'age takes files at least that old',
        args: { paths: '{root}', age: '1d' },
        before: { new: 'x' },
        changed: false,
        result: { files: [], matched: 0, examined: 1 },
      },
      {
        name: 'a negative age takes files at most that old',
        args: { paths: '{root}', age: '-1w' },
        before: { new: 'x' },
        changed: false,
        result: { files: paths('{root}/new') },
      },
    ]);
  });

  describe('problems', () => {
    cases(find, [
      {
        name: 'skips paths that are not directories, with a warning each',
        args: { paths: ['{root}/f', '{root}/nope'] },
        before: { f: 'x' },
        changed: false,
        result: {
          files: [],
          examined: 0,
          msg: 'Not all paths examined, check warnings for details',
          warnings: ["Skipped '{root}/f' path due to this access issue: '{root}/f' is not a directory\n", expect.any(String)],
        },
      },
      { name: 'refuses a malformed age', args: { paths: '{root}', age: '1x' }, error: 'failed to process age', result: { age: '1x' } },
      { name: 'refuses a malformed size', args: { paths: '{root}', size: '10q' }, error: 'failed to process size' },
      { name: 'refuses an unknown file_type', args: { paths: '{root}', file_type: 'socket' }, invalid: 'value of file_type must be one of: any, directory, file, link, got: socket' },
      { name: 'needs paths', args: { patterns: '*' }, invalid: 'missing required arguments: paths' },
      { name: 'refuses a mapping for paths', args: { paths: { a: 1 } }, error: "argument 'paths' is of type <class 'dict'> and we were unable to convert to list" },
    ]);
  });

  it('names each skipped path in skipped_paths', async () => {
    const dir = await scratchDir();
    await writeFile(join(dir, 'f'), 'x');
    const result = await find.run(makeContext({ args: await prepare(find, { paths: [dir, join(dir, 'f'), join(dir, 'nope')] }) }));
    expect(result.skipped_paths).toEqual({ [join(dir, 'f')]: `'${join(dir, 'f')}' is not a directory`, [join(dir, 'nope')]: `'${join(dir, 'nope')}' is not a directory` });
    expect(result.files).toEqual([expect.objectContaining({ path: join(dir, 'f') })]);
    expect(result.examined).toBe(1);
  });

  it('orders entries as the file system lists them, as os.walk does', async () => {
    const dir = await scratchDir();
    for (const n of ['m', 'c', 'x', 'a']) await writeFile(join(dir, n), n);
    await mkdir(join(dir, 'sub'));
    await symlink('m', join(dir, 'lm'));
    const old = new Date(Date.now() - 3 * 86400_000);
    await utimes(join(dir, 'c'), old, old);
    const { opendir } = await import('node:fs/promises');
    const order: string[] = [];
    for await (const e of await opendir(dir)) if (e.isFile()) order.push(join(dir, e.name));
    const args = await prepare(find, { paths: dir });
    const result = await find.run(makeContext({ args }));
    expect((result.files as { path: string }[]).map((f) => f.path)).toEqual(order);
    const aged = await find.run(makeContext({ args: await prepare(find, { paths: dir, age: '2d', age_stamp: 'mtime' }) }));
    expect((aged.files as { path: string }[]).map((f) => f.path)).toEqual([join(dir, 'c')]);
  });
});
