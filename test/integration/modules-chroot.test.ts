// The first modules in a real chroot (a debootstrapped minbase tree): commands run inside it and file
// work stays inside it, with the tree's own accounts and PATH.
import { afterAll, beforeAll, describe } from 'vitest';
import { command } from '../../src/modules/command.js';
import { copy } from '../../src/modules/copy.js';
import { shell } from '../../src/modules/shell.js';
import { stat } from '../../src/modules/stat.js';
import { type Case, cases } from '../support/module-cases.js';
import { minbaseCopy, minbaseUnavailable } from '../support/minbase.js';
import { skipWithout } from '../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);
const inChroot = (rows: Case[]): Case[] => rows.map((r) => ({ ...r, targets: ['chroot'] }));
const wouldRun = { changed: false, result: { skipped: true } };

describe.skipIf(skipChroot)('modules in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  beforeAll(async () => {
    tree = await minbaseCopy();
  });
  afterAll(async () => {
    await tree?.cleanup();
  });
  const chrootRoot = () => {
    if (tree === undefined) throw new Error('the minbase copy is not ready');
    return tree.root;
  };

  describe('command', () => {
    cases(
      command,
      inChroot([
        {
          name: "runs the tree's own programs, in chdir",
          args: { _raw_params: 'pwd', chdir: '{root}' },
          changed: true,
          again: true,
          result: { stdout: '{root}' },
          check: wouldRun,
        },
        {
          name: 'sees the paths of the tree, not of the host',
          args: { _raw_params: 'cat {root}/marker' },
          before: { marker: 'inside\n' },
          changed: true,
          again: true,
          result: { stdout: 'inside' },
          check: wouldRun,
        },
        {
          name: 'globs creates inside the tree',
          args: { _raw_params: 'touch {root}/never', creates: '{root}/mark*' },
          before: { marker: '' },
          changed: false,
        },
        {
          name: "reports a program missing from the tree's PATH as Python would",
          args: { _raw_params: 'nonexistentcmd-imgplay' },
          error: "[Errno 2] No such file or directory: b'nonexistentcmd-imgplay'",
        },
      ]),
      { chrootRoot },
    );
  });

  describe('shell', () => {
    cases(
      shell,
      inChroot([
        {
          name: 'redirects into a file inside the tree',
          args: { cmd: 'echo "$GREETING" > out', chdir: '{root}', creates: 'out' },
          environment: { GREETING: 'hi' },
          changed: true,
          after: { out: 'hi\n' },
          check: { changed: true },
        },
      ]),
      { chrootRoot },
    );
  });

  describe('copy and stat', () => {
    cases(
      copy,
      inChroot([
        {
          name: "sets the owner by the tree's own user names",
          args: { content: 'x', dest: '{root}/f', owner: '_apt', group: 'nogroup' },
          changed: true,
          after: { f: { content: 'x', uid: 42, gid: 65534 } },
          result: { owner: '_apt', group: 'nogroup' },
        },
      ]),
      { chrootRoot },
    );
    cases(
      stat,
      inChroot([
        {
          name: 'follows an absolute link inside the tree',
          args: { path: '/etc/os-release', follow: true },
          changed: false,
          result: { stat: { isreg: true, exists: true } },
        },
      ]),
      { chrootRoot },
    );
  });
});
