import { describe, expect, it } from 'vitest';
import { stat } from '../../../src/modules/stat.js';
import { TEST_ACCOUNTS, buildTree, cases, makeContext, prepare, sandbox } from '../../support/module-cases.js';

const HELLO_SHA1 = 'f572d396fae9206628714fb2ce00f72e94f2258f';

describe('stat', () => {
  cases(stat, [
    {
      name: 'reports a missing path as not existing',
      args: { path: '{root}/nothing' },
      changed: false,
      result: { stat: { exists: false } },
    },
    {
      name: 'describes a regular file with its sha1 checksum',
      args: { path: '{root}/f' },
      before: { f: { content: 'hello\n', mode: 0o640 } },
      changed: false,
      result: {
        stat: {
          exists: true,
          path: '{root}/f',
          isreg: true,
          isdir: false,
          islnk: false,
          mode: '0640',
          size: 6,
          uid: 0,
          pw_name: 'root',
          gr_name: 'root',
          rusr: true,
          wusr: true,
          xusr: false,
          rgrp: true,
          roth: false,
          readable: true,
          checksum: HELLO_SHA1,
        },
      },
    },
    {
      name: 'reads the mime type of a file whose name has a colon in it',
      args: { path: '{root}/a: b.txt', get_checksum: false },
      before: { 'a: b.txt': 'hello\n' },
      changed: false,
      result: { stat: { exists: true, mimetype: 'text/plain', charset: 'us-ascii' } },
      // The target's own file(1) answers: the build host has one, a confined root does not.
      targets: ['local'],
    },
    {
      name: "says 'unknown' for the mime type on a target without file(1), as Ansible",
      args: { path: '{root}/f', get_checksum: false },
      before: { f: 'hello\n' },
      changed: false,
      result: { stat: { exists: true, mimetype: 'unknown', charset: 'unknown' } },
      targets: ['confined'],
    },
    {
      name: 'describes a directory',
      args: { path: '{root}/d' },
      before: { d: { dir: true, mode: 0o755 } },
      changed: false,
      result: { stat: { exists: true, isdir: true, isreg: false, mode: '0755', executable: true } },
    },
    {
      name: 'describes a symlink itself by default',
      args: { path: '{root}/l' },
      before: { f: 'hello\n', l: { link: 'f' } },
      changed: false,
      result: { stat: { islnk: true, isreg: false, lnk_target: 'f', lnk_source: '{root}/f' } },
    },
    {
      name: 'describes what a symlink points at with follow',
      args: { path: '{root}/l', follow: true },
      before: { f: 'hello\n', l: { link: 'f' } },
      changed: false,
      result: { stat: { islnk: false, isreg: true, checksum: HELLO_SHA1 } },
    },
    {
      name: 'resolves an absolute link inside the target',
      args: { path: '{root}/l' },
      before: { l: { link: '/etc/passwd' } },
      changed: false,
      result: { stat: { islnk: true, lnk_source: '/etc/passwd', lnk_target: '/etc/passwd', readable: true } },
      targets: ['confined'],
    },
    {
      name: 'takes another checksum algorithm by its alias',
      args: { path: '{root}/f', checksum_algo: 'sha256' },
      before: { f: 'hello\n' },
      changed: false,
      result: { stat: { checksum: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03' } },
    },
    {
      name: "names the owner from the target's accounts",
      args: { path: '{root}/f' },
      before: { f: { content: 'x', uid: TEST_ACCOUNTS.uid, gid: TEST_ACCOUNTS.gid } },
      changed: false,
      result: { stat: { uid: TEST_ACCOUNTS.uid, pw_name: TEST_ACCOUNTS.user, gr_name: TEST_ACCOUNTS.group } },
      targets: ['confined'],
    },
    {
      name: 'needs a path',
      args: {},
      invalid: 'missing required arguments: path',
    },
    {
      name: 'refuses an unknown checksum algorithm',
      args: { path: '{root}/f', checksum_algorithm: 'crc32' },
      invalid: 'value of checksum_algorithm must be one of: md5, sha1, sha224, sha256, sha384, sha512, got: crc32',
    },
  ]);

  it('leaves out what was not asked for', async () => {
    const sb = await sandbox('local');
    await buildTree(sb.treeDir, { f: 'x' });
    const args = await prepare(stat, { path: `${sb.rootArg}/f`, get_checksum: false, get_mime: false, get_attributes: 'no' });
    const r = (await stat.run(makeContext({ args }))) as { stat: Record<string, unknown> };
    expect(r.stat.exists).toBe(true);
    expect(Object.keys(r.stat)).not.toContain('checksum');
    expect(Object.keys(r.stat)).not.toContain('mimetype');
    expect(Object.keys(r.stat)).not.toContain('attr_flags');
  });

  it('has no owner name for an id the target does not know, as Ansible omits it', async () => {
    const sb = await sandbox('confined');
    await buildTree(sb.treeDir, { f: { content: 'x', uid: 31337, gid: 31337 } });
    const args = await prepare(stat, { path: `${sb.rootArg}/f` });
    const r = (await stat.run(makeContext({ args, conn: sb.conn }))) as { stat: Record<string, unknown> };
    expect(r.stat.uid).toBe(31337);
    expect(r.stat).not.toHaveProperty('pw_name');
    expect(r.stat).not.toHaveProperty('gr_name');
  });
});
