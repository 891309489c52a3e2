import { describe, expect, it } from 'vitest';
import { copy } from '../../../src/modules/copy.js';
import { TEST_ACCOUNTS, buildTree, cases, makeContext, prepare, sandbox } from '../../support/module-cases.js';

const { user, uid, gid } = TEST_ACCOUNTS;

describe('copy', () => {
  describe('content', () => {
    cases(copy, [
      {
        name: 'writes inline content to a new file with mode 0644',
        args: { content: 'hello\n', dest: '{root}/a' },
        changed: true,
        after: { a: { content: 'hello\n', mode: 0o644 } },
        result: {
          dest: '{root}/a',
          checksum: 'f572d396fae9206628714fb2ce00f72e94f2258f',
          md5sum: 'b1946ac92492d2347c6235b4d2611184',
          state: 'file',
          mode: '0644',
          size: 6,
          diff: [{ before: '', after: 'hello\n' }],
        },
        check: { changed: true, result: { diff: [{ before: '', after: 'hello\n' }] } },
      },
      {
        name: 'leaves a file with the same content alone',
        args: { content: 'hello\n', dest: '{root}/a' },
        before: { a: 'hello\n' },
        changed: false,
        result: { checksum: 'f572d396fae9206628714fb2ce00f72e94f2258f', path: '{root}/a' },
      },
      {
        name: 'replaces different content and keeps the old mode',
        args: { content: 'new\n', dest: '{root}/a' },
        before: { a: { content: 'old\n', mode: 0o600 } },
        changed: true,
        after: { a: { content: 'new\n', mode: 0o600 } },
        result: { diff: [{ before: 'old\n', after: 'new\n', before_header: '{root}/a' }] },
      },
      {
        name: 'changes only the mode when the content is right',
        args: { content: 'x', dest: '{root}/a', mode: '0600' },
        before: { a: { content: 'x', mode: 0o644 } },
        changed: true,
        after: { a: { content: 'x', mode: 0o600 } },
      },
      {
        name: 'sets owner and group from the target accounts',
        args: { content: 'x', dest: '{root}/a', owner: user, group: String(gid) },
        changed: true,
        after: { a: { content: 'x', uid, gid } },
        result: { owner: user, uid, gid },
        targets: ['confined'],
      },
      {
        name: 'does not overwrite with force=no',
        args: { content: 'new', dest: '{root}/a', force: 'no' },
        before: { a: 'old' },
        changed: false,
      },
      {
        name: 'writes with force=no when nothing is there',
        args: { content: 'new', dest: '{root}/a', force: false },
        changed: true,
        after: { a: 'new' },
      },
      {
        name: 'keeps a backup of what it replaces',
        args: { content: 'new\n', dest: '{root}/a', backup: true },
        before: { a: 'old\n' },
        changed: true,
        after: { a: 'new\n', 'a.*~': 'old\n' },
      },
      {
        name: 'replaces a symlink with a file by default',
        args: { content: 'new\n', dest: '{root}/l' },
        before: { real: 'old\n', l: { link: 'real' } },
        changed: true,
        after: { real: 'old\n', l: 'new\n' },
      },
      {
        name: 'writes through a symlink with follow',
        args: { content: 'new\n', dest: '{root}/l', follow: true },
        before: { real: 'old\n', l: { link: 'real' } },
        changed: true,
        after: { real: 'new\n', l: { link: 'real' } },
        result: { dest: '{root}/real' },
      },
      {
        name: 'writes a dict as Python would dump it as JSON',
        args: { content: { a: 1, b: 'é' }, dest: '{root}/j' },
        changed: true,
        after: { j: '{"a": 1, "b": "\\u00e9"}' },
      },
      {
        name: 'refuses content for a directory dest',
        args: { content: 'x', dest: '{root}/d/' },
        error: 'can not use content with a dir as dest',
      },
      {
        name: 'refuses content when dest is an existing directory',
        args: { content: 'x', dest: '{root}/d' },
        before: { d: { dir: true } },
        error: 'can not use content with a dir as dest',
      },
      {
        name: 'fails when the destination directory is missing',
        args: { content: 'x', dest: '{root}/nodir/a' },
        error: 'Destination directory {root}/nodir does not exist',
        check: false,
      },
      {
        name: 'needs src or content',
        args: { dest: '{root}/a' },
        error: 'src (or content) is required',
      },
      {
        name: 'refuses src and content together',
        args: { src: 'one.txt', content: 'x', dest: '{root}/a' },
        error: 'src and content are mutually exclusive',
      },
      {
        name: 'refuses an unknown argument before running',
        args: { content: 'x', dest: '{root}/a', destination: 'x' },
        invalid: 'Unsupported parameters for (copy) module: destination.',
      },
    ]);
  });

  describe('src from the controller', () => {
    const files = { 'files/one.txt': 'one\n', 'files/d/two': 'two\n', 'files/d/sub/three': 'three\n', 'files/d/lnk': { link: 'two' } };
    cases(copy, [
      {
        name: 'copies a file found in files/',
        args: { src: 'one.txt', dest: '{root}/one.txt' },
        files,
        changed: true,
        after: { 'one.txt': 'one\n' },
        result: { src: '{files}/files/one.txt', dest: '{root}/one.txt', checksum: 'c7059bb19433cc3cabaa6236c83d56668a843dd2' },
      },
      {
        name: 'copies into an existing directory under the source name',
        args: { src: 'one.txt', dest: '{root}/etc' },
        before: { etc: { dir: true } },
        files,
        changed: true,
        after: { 'etc/one.txt': 'one\n' },
        result: { dest: '{root}/etc/one.txt' },
      },
      {
        name: 'creates a trailing-slash destination directory',
        args: { src: 'one.txt', dest: '{root}/new/dir/' },
        files,
        changed: true,
        after: { 'new/dir/one.txt': 'one\n' },
      },
      {
        name: 'keeps the source mode with mode=preserve',
        args: { src: 'run.sh', dest: '{root}/run.sh', mode: 'preserve' },
        files: { 'files/run.sh': { content: '#!/bin/sh\n', mode: 0o750 } },
        changed: true,
        after: { 'run.sh': { content: '#!/bin/sh\n', mode: 0o750 } },
      },
      {
        name: 'copies a directory itself without a trailing slash, following links',
        args: { src: 'd', dest: '{root}/x' },
        files,
        changed: true,
        after: { 'x/d/two': 'two\n', 'x/d/lnk': 'two\n', 'x/d/sub/three': 'three\n' },
        result: { dest: '{root}/x/', src: '{files}/files/d' },
      },
      {
        name: 'copies only the contents with a trailing slash',
        args: { src: 'd/', dest: '{root}/x' },
        files,
        changed: true,
        after: { 'x/two': 'two\n', 'x/lnk': 'two\n', 'x/sub/three': 'three\n' },
      },
      {
        name: 'recreates links with local_follow=false',
        args: { src: 'd/', dest: '{root}/x', local_follow: false },
        files,
        changed: true,
        after: { 'x/two': 'two\n', 'x/lnk': { link: 'two' }, 'x/sub/three': 'three\n' },
      },
      {
        name: 'gives new directories directory_mode',
        args: { src: 'd/', dest: '{root}/x/', directory_mode: '0700', mode: '0600' },
        files: { 'files/d/one': '1\n', 'files/d/sub/three': 'three\n' },
        changed: true,
        after: {
          x: { dir: true, mode: 0o700 },
          'x/one': { content: '1\n', mode: 0o600 },
          'x/sub': { dir: true, mode: 0o700 },
          'x/sub/three': { content: 'three\n', mode: 0o600 },
        },
      },
      {
        // Ansible's quirk: with exactly one file, the result is the last file-module call's, here the directory's.
        name: 'reports the last directory result when a directory source holds one file, as Ansible does',
        args: { src: 'd/', dest: '{root}/x/' },
        files: { 'files/d/sub/three': 'three\n' },
        changed: false,
        after: { 'x/sub/three': 'three\n' },
        result: { dest: '{root}/x/sub', state: 'directory' },
        check: { changed: true },
      },
      {
        name: 'updates only what differs in a directory copy',
        args: { src: 'd/', dest: '{root}/x' },
        files: { 'files/d/a': 'a\n', 'files/d/b': 'b\n' },
        before: { 'x/a': 'a\n', 'x/b': 'old\n', 'x/extra': 'kept\n' },
        changed: true,
        after: { 'x/a': 'a\n', 'x/b': 'b\n', 'x/extra': 'kept\n' },
      },
      {
        name: 'says where it looked for a missing source',
        args: { src: 'nofile', dest: '{root}/a' },
        error: "Could not find or access 'nofile'",
      },
    ]);
  });

  describe('remote_src', () => {
    cases(copy, [
      {
        name: 'copies a file already on the target',
        args: { src: '{root}/a', dest: '{root}/b', remote_src: true },
        before: { a: 'x\n' },
        changed: true,
        after: { a: 'x\n', b: 'x\n' },
        result: { src: '{root}/a', dest: '{root}/b' },
      },
      {
        name: 'merges a directory into another on the target',
        args: { src: '{root}/a/', dest: '{root}/b', remote_src: true },
        before: { 'a/f': 'f\n', 'a/s/g': 'g\n', 'b/old': 'o\n' },
        changed: true,
        after: { 'a/f': 'f\n', 'a/s/g': 'g\n', 'b/old': 'o\n', 'b/f': 'f\n', 'b/s/g': 'g\n' },
      },
      {
        name: 'fails for a missing source',
        args: { src: '{root}/none', dest: '{root}/b', remote_src: true },
        error: 'Source {root}/none not found',
      },
    ]);
  });

  describe('validate', () => {
    cases(copy, [
      {
        name: 'writes when the validator accepts the file',
        args: { content: 'ok\n', dest: '{root}/a', validate: 'grep -q ok %s' },
        changed: true,
        after: { a: 'ok\n' },
        targets: ['local'],
      },
      {
        name: 'leaves the destination alone when the validator refuses',
        args: { content: 'bad\n', dest: '{root}/a', validate: 'grep -q ok %s' },
        before: { a: 'old\n' },
        error: 'failed to validate',
        result: { exit_status: 1 },
        targets: ['local'],
      },
      {
        name: 'needs %s in validate',
        args: { content: 'x', dest: '{root}/a', validate: 'true' },
        error: 'validate must contain %s: true',
        targets: ['local'],
      },
    ]);
  });

  it('reports a check-mode change without the keys of a real run, as Ansible does', async () => {
    const sb = await sandbox('local');
    const args = await prepare(copy, { content: 'x', dest: `${sb.rootArg}/a` });
    const r = await copy.run(makeContext({ args, check: true }));
    expect(r).toEqual({ changed: true });
  });

  it('never leaves a temp file behind', async () => {
    const sb = await sandbox('confined');
    await buildTree(sb.treeDir, { a: 'old' });
    const args = await prepare(copy, { content: 'new', dest: `${sb.rootArg}/a` });
    await copy.run(makeContext({ args, conn: sb.conn }));
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(sb.treeDir)).toEqual(['a']);
  });
});
