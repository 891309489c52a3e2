import { afterAll, beforeAll, describe } from 'vitest';
import type { Module } from '../../../src/modules/types.js';
import { user } from '../../../src/modules/user.js';
import { minbaseCopy, minbaseUnavailable } from '../../support/minbase.js';
import { type Case, cases } from '../../support/module-cases.js';
import { swappedAccounts, swappedRows } from '../../support/swapped-accounts.js';
import { skipWithout } from '../../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);
const today = Math.floor(Date.now() / 86_400_000);
const hash = '$6$saltsalt$' + 'a'.repeat(86);
const otherHash = '$6$saltsalt$' + 'b'.repeat(86);

const base = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\n',
  'etc/shadow': 'root:*:20000:0:99999:7:::\n',
  'etc/group': 'root:x:0:\nadm:x:4:\nusers:x:100:\n',
  'etc/gshadow': 'root:*::\nadm:*::\nusers:*::\n',
};
const alice = (over: Partial<Record<keyof typeof base, string>> = {}) => ({
  ...base,
  'etc/passwd': `${base['etc/passwd']}alice:x:1500:100:Alice:/home/alice:/bin/sh\n`,
  'etc/shadow': `${base['etc/shadow']}alice:${hash}:20000:0:99999:7:::\n`,
  'etc/group': 'root:x:0:\nadm:x:4:alice\nusers:x:100:\n',
  'etc/gshadow': 'root:*::\nadm:*::alice\nusers:*::\n',
  ...over,
});
const aliceArgs = { name: 'alice', uid: 1500, group: 'users', groups: 'adm', comment: 'Alice', home: '/home/alice', shell: '/bin/sh', password: hash, create_home: false };

const rows: Case[] = [
  {
    name: 'creates an account with uid, primary and supplementary groups, comment, shell and hash',
    args: aliceArgs,
    before: base,
    changed: true,
    after: {
      ...alice(),
      'etc/shadow': `${base['etc/shadow']}alice:${hash}:${today}:0:99999:7:::\n`,
    },
    result: {
      name: 'alice', state: 'present', uid: 1500, group: 100, groups: 'adm', comment: 'Alice', home: '/home/alice', shell: '/bin/sh',
      system: false, create_home: false, password: 'NOT_LOGGING_PASSWORD',
    },
    check: { changed: true },
  },
  {
    name: 'takes the alias user and a list of groups, and leaves a matching account alone',
    args: { ...aliceArgs, name: undefined, user: 'alice', groups: ['adm'] },
    before: alice(),
    changed: false,
    result: { name: 'alice', uid: 1500, group: 100, append: false, move_home: false },
  },
  {
    name: 'changes only the shell and comment that differ',
    args: { name: 'alice', shell: '/bin/bash', comment: 'Alice Liddell', create_home: false },
    before: alice(),
    changed: true,
    after: alice({ 'etc/passwd': `${base['etc/passwd']}alice:x:1500:100:Alice Liddell:/home/alice:/bin/bash\n` }),
    result: { shell: '/bin/bash', comment: 'Alice Liddell' },
    check: { changed: true, result: { shell: '/bin/sh' } },
  },
  {
    name: 'appends a supplementary group, keeping the others',
    args: { name: 'alice', groups: 'users', append: true, create_home: false },
    before: alice(),
    changed: true,
    after: alice({ 'etc/group': 'root:x:0:\nadm:x:4:alice\nusers:x:100:alice\n', 'etc/gshadow': 'root:*::\nadm:*::alice\nusers:*::alice\n' }),
  },
  {
    name: 'with append, a group the user already has changes nothing',
    args: { name: 'alice', groups: 'adm', append: true, create_home: false },
    before: alice(),
    changed: false,
  },
  {
    name: 'without append, replaces the supplementary groups (an empty list removes them all)',
    args: { name: 'alice', groups: [], create_home: false },
    before: alice(),
    changed: true,
    after: alice({ 'etc/group': base['etc/group'], 'etc/gshadow': base['etc/gshadow'] }),
  },
  {
    name: 'sets a different hash verbatim',
    args: { name: 'alice', password: otherHash, create_home: false },
    before: alice(),
    changed: true,
    after: alice({ 'etc/shadow': `${base['etc/shadow']}alice:${otherHash}:${today}:0:99999:7:::\n` }),
    result: { password: 'NOT_LOGGING_PASSWORD' },
  },
  {
    name: 'update_password on_create leaves an existing hash alone',
    args: { name: 'alice', password: otherHash, update_password: 'on_create', create_home: false },
    before: alice(),
    changed: false,
  },
  {
    name: 'password_lock locks the account once',
    args: { name: 'alice', password_lock: true, create_home: false },
    before: alice(),
    changed: true,
    after: alice({ 'etc/shadow': `${base['etc/shadow']}alice:!${hash}:20000:0:99999:7:::\n` }),
  },
  {
    name: 'sets an expiry date from epoch seconds',
    args: { name: 'alice', expires: 1893456000, create_home: false },
    before: alice(),
    changed: true,
    after: alice({ 'etc/shadow': `${base['etc/shadow']}alice:${hash}:20000:0:99999:7::21915:\n` }),
  },
  {
    name: "creates a system account with its own group and a uid below 1000, and useradd's locked password",
    args: { name: 'svc', system: true, create_home: false, shell: '/usr/sbin/nologin' },
    before: base,
    changed: true,
    after: {
      'etc/passwd': `${base['etc/passwd']}svc:x:999:999::/home/svc:/usr/sbin/nologin\n`,
      'etc/shadow': `${base['etc/shadow']}svc:!:${today}::::::\n`,
      'etc/group': `${base['etc/group']}svc:x:999:\n`,
      'etc/gshadow': `${base['etc/gshadow']}svc:!::\n`,
    },
    result: { uid: 999, group: 999, system: true, home: '/home/svc' },
  },
  {
    name: 'removes an account with state absent',
    args: { name: 'alice', state: 'absent' },
    before: alice(),
    changed: true,
    after: base,
    result: { name: 'alice', state: 'absent', force: false, remove: false },
  },
  {
    name: 'absent for a missing account changes nothing',
    args: { name: 'alice', state: 'absent' },
    before: base,
    changed: false,
    result: { name: 'alice', state: 'absent' },
  },
  {
    name: 'fails naming a primary group the target lacks',
    args: { name: 'alice', group: 'nosuch', create_home: false },
    before: alice(),
    error: 'Group nosuch does not exist',
  },
  {
    name: 'fails with useradd\'s own words when it refuses (a uid in use)',
    args: { name: 'bob', uid: 1500, create_home: false },
    before: alice(),
    error: "useradd failed for 'bob' (exit 4): useradd: UID 1500 is not unique",
  },
  { name: 'refuses a task without name or user', args: { shell: '/bin/sh' }, invalid: 'missing required arguments: name' },
  { name: 'refuses a state other than present or absent', args: { name: 'alice', state: 'locked' }, invalid: 'value of state must be one of: absent, present, got: locked' },
  { name: 'refuses generate_ssh_key, saying why', args: { name: 'alice', generate_ssh_key: true }, invalid: 'generate_ssh_key is not supported by imgplay: SSH keys are not generated into images' },
];

describe.skipIf(skipChroot)('user (in a chroot, with each row\'s account files)', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  beforeAll(async () => {
    tree = await minbaseCopy();
  }, 300_000);
  afterAll(async () => {
    await tree?.cleanup();
  });
  cases(swappedAccounts(user as Module<unknown>), swappedRows(rows), { chrootRoot: () => (tree as { root: string }).root });
});

