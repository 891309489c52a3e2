import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { raw } from '../../../src/modules/raw.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../../support/minbase.js';
import { type Case, cases } from '../../support/module-cases.js';

const unavailable = await minbaseUnavailable();
const targets = unavailable === undefined ? (['local', 'chroot'] as const) : (['local'] as const);
// raw always changes, and Ansible skips it under --check.
const rows = (list: Case[]): Case[] => list.map((r) => ({ targets: [...targets], again: true, check: { changed: false, result: { skipped: true } }, ...r }));

const hostPasswd = readFileSync('/etc/passwd', 'utf8');
const mountsBefore = await mountsSnapshot();
let tree: { root: string; cleanup(): Promise<void> } | undefined;

describe('raw', () => {
  beforeAll(async () => {
    if (unavailable === undefined) tree = await minbaseCopy();
  }, 120_000);
  afterAll(async () => {
    await tree?.cleanup();
    expect(await mountsSnapshot()).toBe(mountsBefore);
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(hostPasswd);
  });

  cases(
    raw,
    rows([
      {
        name: 'runs the line through /bin/sh with stdout and stderr apart',
        args: { _raw_params: 'echo a | tr a b; echo err >&2' },
        changed: true,
        result: { rc: 0, stdout: 'b', stdout_lines: ['b'], stderr: 'err', stderr_lines: ['err'] },
      },
      {
        name: 'runs inside the target',
        args: { _raw_params: 'test -d {root} && echo inside' },
        changed: true,
        result: { stdout: 'inside' },
      },
      {
        name: 'changes the tree',
        args: { _raw_params: 'echo made > {root}/made' },
        changed: true,
        after: { made: 'made\n' },
      },
      {
        name: 'uses executable as the shell',
        args: { _raw_params: '[[ 1 == 1 ]] && echo bash', executable: '/bin/bash' },
        changed: true,
        result: { stdout: 'bash' },
      },
      {
        name: 'does not pass the environment keyword, and warns',
        args: { _raw_params: 'echo ${IMGPLAY_RAW_TEST:-unset}' },
        environment: { IMGPLAY_RAW_TEST: 'set' },
        changed: true,
        result: { stdout: 'unset', warnings: ['raw module does not support the environment keyword'] },
      },
      {
        name: 'fails on a non-zero exit with its rc',
        args: { _raw_params: 'echo out; exit 3' },
        error: 'non-zero return code',
        result: { rc: 3, stdout: 'out', changed: true },
      },
    ]),
    { chrootRoot: () => tree?.root as string },
  );
});
