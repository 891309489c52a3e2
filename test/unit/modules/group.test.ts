import { afterAll, beforeAll, describe } from 'vitest';
import { group } from '../../../src/modules/group.js';
import type { Module } from '../../../src/modules/types.js';
import { minbaseCopy, minbaseUnavailable } from '../../support/minbase.js';
import { type Case, cases } from '../../support/module-cases.js';
import { swappedAccounts, swappedRows } from '../../support/swapped-accounts.js';
import { skipWithout } from '../../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);

const base = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nalice:x:1500:100::/home/alice:/bin/sh\n',
  'etc/shadow': 'root:*:20000:0:99999:7:::\nalice:!:20000:0:99999:7:::\n',
  'etc/group': 'root:x:0:\nusers:x:100:\n',
  'etc/gshadow': 'root:*::\nusers:*::\n',
};
const withWeb = (gid: number) => ({
  ...base,
  'etc/group': `${base['etc/group']}web:x:${gid}:\n`,
  'etc/gshadow': `${base['etc/gshadow']}web:!::\n`,
});

const rows: Case[] = [
  {
    name: 'creates a group with the gid given',
    args: { name: 'web', gid: 2000 },
    before: base,
    changed: true,
    after: withWeb(2000),
    result: { name: 'web', state: 'present', gid: 2000, system: false },
    check: { changed: true },
  },
  { name: 'leaves a group with that gid alone', args: { name: 'web', gid: '2000' }, before: withWeb(2000), changed: false, result: { gid: 2000 } },
  { name: 'without gid, any existing group of that name will do', args: { name: 'web' }, before: withWeb(2000), changed: false, result: { gid: 2000 } },
  {
    name: 'renumbers a group whose gid differs',
    args: { name: 'web', gid: 2001 },
    before: withWeb(2000),
    changed: true,
    after: withWeb(2001),
    result: { gid: 2001 },
    check: { changed: true, result: { gid: 2000 } },
  },
  {
    name: 'creates a system group below 1000',
    args: { name: 'web', system: true },
    before: base,
    changed: true,
    after: withWeb(999),
    result: { gid: 999, system: true },
  },
  {
    name: 'non_unique allows a gid already in use',
    args: { name: 'web', gid: 100, non_unique: true },
    before: base,
    changed: true,
    after: withWeb(100),
  },
  { name: 'removes a group with state absent', args: { name: 'web', state: 'absent' }, before: withWeb(2000), changed: true, after: base, result: { name: 'web', state: 'absent' } },
  { name: 'absent for a missing group changes nothing', args: { name: 'web', state: 'absent' }, before: base, changed: false },
  { name: "fails with groupadd's own words for a gid in use", args: { name: 'web', gid: 100 }, before: base, error: "groupadd failed for 'web' (exit 4): groupadd: GID '100' already exists" },
  {
    name: "fails with groupdel's own words for a user's primary group",
    args: { name: 'users', state: 'absent' },
    before: base,
    error: "groupdel failed for 'users' (exit 8): groupdel: cannot remove the primary group of user 'alice'",
  },
  { name: 'non_unique needs a gid, as Ansible requires', args: { name: 'web', non_unique: true }, invalid: 'non_unique is True but all of the following are missing: gid' },
  { name: 'local: true fails naming the libuser tool the image lacks', args: { name: 'web', local: true }, before: base, error: 'lgroupadd is not installed in the target' },
  { name: 'refuses force (not an argument in Ansible 2.14)', args: { name: 'web', force: true }, invalid: 'Unsupported parameters for (group) module: force' },
  { name: 'refuses a task without name', args: { gid: 5 }, invalid: 'missing required arguments: name' },
];

describe.skipIf(skipChroot)("group (in a chroot, with each row's account files)", () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  beforeAll(async () => {
    tree = await minbaseCopy();
  }, 300_000);
  afterAll(async () => {
    await tree?.cleanup();
  });
  cases(swappedAccounts(group as Module<unknown>), swappedRows(rows), { chrootRoot: () => (tree as { root: string }).root });
});
