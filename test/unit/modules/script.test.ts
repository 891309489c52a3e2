import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../../src/connection/chroot.js';
import { LocalConnection } from '../../../src/connection/local.js';
import type { Connection } from '../../../src/connection/types.js';
import { script } from '../../../src/modules/script.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../../support/minbase.js';
import { type Case, type TreeSpec, cases, makeContext, prepare } from '../../support/module-cases.js';
import { skipWithout } from '../../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);
const targets = unavailable === undefined ? (['local', 'chroot'] as const) : (['local'] as const);
const FILES: TreeSpec = {
  'files/args.sh': '#!/bin/sh\necho "args: $# [$1] [$2]"\n',
  'files/inside.sh': '#!/bin/sh\ntest -d "$1" && echo inside\n',
  'files/pwd.sh': '#!/bin/sh\npwd\n',
  'files/self.sh': '#!/bin/sh\necho "$0"\n',
  'files/env.sh': '#!/bin/sh\necho "$IMGPLAY_SCRIPT_TEST"\n',
  'files/touch.sh': '#!/bin/sh\necho made > "$1"\n',
  'files/fail.sh': '#!/bin/sh\necho oops >&2\nexit 4\n',
  'files/bashism': '[[ 1 == 1 ]] && echo "bash $1"\n',
};
const skippedInCheck = { changed: false, result: { skipped: true, msg: 'Check mode is not supported for this task.' } };
// A script always changes; without creates/removes Ansible skips it under --check.
const rows = (list: Case[]): Case[] => list.map((r) => ({ targets: [...targets], files: FILES, again: true, check: skippedInCheck, ...r }));

const hostPasswd = readFileSync('/etc/passwd', 'utf8');
const mountsBefore = await mountsSnapshot();
let tree: { root: string; cleanup(): Promise<void> } | undefined;

describe('script', () => {
  beforeAll(async () => {
    if (unavailable === undefined) tree = await minbaseCopy();
  }, 120_000);
  afterAll(async () => {
    await tree?.cleanup();
    expect(await mountsSnapshot()).toBe(mountsBefore);
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(hostPasswd);
  });

  cases(
    script,
    rows([
      {
        name: 'runs a controller script with its arguments, quoting kept',
        args: { _raw_params: 'args.sh "a b" c' },
        changed: true,
        result: { rc: 0, stdout: 'args: 2 [a b] [c]', stdout_lines: ['args: 2 [a b] [c]'], stderr: '' },
      },
      { name: 'takes the line from cmd', args: { cmd: 'args.sh x' }, changed: true, result: { stdout: 'args: 1 [x] []' } },
      { name: 'runs inside the target', args: { _raw_params: 'inside.sh {root}' }, changed: true, result: { stdout: 'inside' } },
      { name: 'runs in chdir', args: { _raw_params: 'pwd.sh', chdir: '{root}' }, changed: true, result: { stdout: '{root}' } },
      {
        name: 'runs from a private copy in the target /tmp',
        args: { _raw_params: 'self.sh' },
        changed: true,
        result: { stdout: expect.stringMatching(/^\/tmp\/\.imgplay-script-[^/]+\/self\.sh$/) },
      },
      { name: 'passes the task environment', args: { _raw_params: 'env.sh' }, environment: { IMGPLAY_SCRIPT_TEST: 'yes' }, changed: true, result: { stdout: 'yes' } },
      { name: 'runs a script without shebang through executable', args: { _raw_params: 'bashism z', executable: '/bin/bash' }, changed: true, result: { stdout: 'bash z' } },
      {
        name: 'runs until creates exists, then skips',
        args: { _raw_params: 'touch.sh {root}/made', creates: '{root}/made' },
        changed: true,
        again: false,
        after: { made: 'made\n' },
        check: { changed: true },
      },
      {
        name: 'skips when creates exists',
        args: { _raw_params: 'fail.sh', creates: '{root}/made' },
        before: { made: '' },
        changed: false,
        again: false,
        result: { skipped: true, msg: '{root}/made exists, matching creates option' },
        check: { changed: false, result: { skipped: true } },
      },
      {
        name: 'skips when removes is missing',
        args: { _raw_params: 'fail.sh', removes: '{root}/gone' },
        changed: false,
        again: false,
        result: { skipped: true, msg: '{root}/gone does not exist, matching removes option' },
        check: { changed: false, result: { skipped: true } },
      },
      { name: 'fails on a non-zero exit', args: { _raw_params: 'fail.sh' }, error: 'non-zero return code', result: { rc: 4, stderr: 'oops', changed: true } },
      { name: 'refuses a relative chdir', args: { _raw_params: 'pwd.sh', chdir: 'rel' }, error: 'chdir rel must be an absolute path for a Unix-aware remote node' },
      { name: 'fails for a missing script', args: { _raw_params: 'nope.sh' }, error: "Could not find or access 'nope.sh'" },
    ]),
    { chrootRoot: () => tree?.root as string },
  );

  const leavesNoCopy = async (conn: Connection, tmpHost: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'imgplay-script-'));
    try {
      await mkdir(join(dir, 'files'));
      await writeFile(join(dir, 'files/self.sh'), '#!/bin/sh\necho "$0"\n');
      const r = await script.run(makeContext({ args: await prepare(script, { _raw_params: 'self.sh' }), conn, controllerDir: dir }));
      const remote = String(r.stdout).trim();
      expect(remote).toMatch(/^\/tmp\/\.imgplay-script-/);
      expect(existsSync(join(tmpHost, remote.slice('/tmp'.length)))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  it('removes its copy of the script afterwards [local]', () => leavesNoCopy(new LocalConnection(), '/tmp'));
  it.skipIf(skipChroot)('removes its copy of the script afterwards [chroot]', async () => {
    const conn = await ChrootConnection.open(tree?.root as string);
    try {
      await leavesNoCopy(conn, join(tree?.root as string, 'tmp'));
    } finally {
      await conn.close();
    }
  });
});
