// modprobe in an image: only the persistence files of the row's tree change (as community.general 6.6
// changes them, extra newlines included); nothing is loaded or unloaded, which would be the build host's kernel.
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../src/connection/local.js';
import { modprobe } from '../../../src/modules/modprobe.js';
import { cases, makeContext, prepare, type TreeSpec } from '../../support/module-cases.js';
import { rooted, rootedRows } from '../../support/rooted-module.js';

// A tree with modprobe (any executable: it is never run) and the two directories.
const base: TreeSpec = { 'usr/sbin/modprobe': { content: '#!/bin/sh\nexit 99\n', mode: 0o755 }, 'etc/modules-load.d': { dir: true }, 'etc/modprobe.d': { dir: true } };

describe('modprobe', () => {
  cases(
    rooted(modprobe),
    rootedRows([
      {
        name: 'writes the module and its options for the image to load at boot',
        args: { name: 'dummy', params: 'numdummies=2 debug=1', persistent: 'present' },
        before: base,
        changed: true,
        after: { ...base, 'etc/modules-load.d/dummy.conf': 'dummy\n', 'etc/modprobe.d/dummy.conf': 'options dummy numdummies=2\noptions dummy debug=1\n' },
        result: { name: 'dummy', params: 'numdummies=2 debug=1', state: 'present' },
      },
      {
        name: 'comments out options that differ, joining the lines with an extra newline as Ansible does',
        args: { name: 'dummy', params: 'numdummies=2', persistent: 'present' },
        before: { ...base, 'etc/modules-load.d/m.conf': 'dummy # mine\n', 'etc/modprobe.d/old.conf': 'options dummy numdummies=4\noptions loop max_loop=8\n' },
        changed: true,
        after: { ...base, 'etc/modules-load.d/m.conf': 'dummy # mine\n', 'etc/modprobe.d/old.conf': '#options dummy numdummies=4\n\noptions loop max_loop=8\n', 'etc/modprobe.d/dummy.conf': 'options dummy numdummies=2\n' },
      },
      {
        name: 'finds nothing to do when a file names the module and no options are asked or set',
        args: { name: 'br_netfilter', persistent: 'present' },
        before: { ...base, 'etc/modules-load.d/k.conf': 'loop\n  br_netfilter  ; comment\n' },
        changed: false,
      },
      {
        name: 'comments out the module and its options for persistent absent',
        args: { name: 'loop', persistent: 'absent' },
        before: { ...base, 'etc/modules-load.d/k.conf': 'loop\nvfat\n', 'etc/modprobe.d/o.conf': 'options loop max_loop=8\n' },
        changed: true,
        after: { ...base, 'etc/modules-load.d/k.conf': '#loop\n\nvfat\n', 'etc/modprobe.d/o.conf': '#options loop max_loop=8\n' },
      },
      {
        name: 'only warns for a load or an unload, which it never does',
        args: { name: 'vfat', state: 'absent' },
        before: base,
        changed: false,
        result: { warnings: [expect.stringContaining("imgplay does not unload kernel module vfat: in a chroot that would be the build host's kernel")] },
      },
      {
        name: 'fails as Ansible does without /etc/modules-load.d',
        args: { name: 'dummy', persistent: 'present' },
        before: { 'usr/sbin/modprobe': base['usr/sbin/modprobe'] as TreeSpec[string], 'etc/modprobe.d': { dir: true } },
        error: 'MODULE FAILURE',
        result: { module_stderr: "FileNotFoundError: [Errno 2] No such file or directory: '/etc/modules-load.d'" },
      },
      {
        name: 'needs modprobe in the target, in Ansible words',
        args: { name: 'dummy', persistent: 'present' },
        before: { 'etc/modules-load.d': { dir: true } },
        error: 'Failed to find required executable "modprobe" in paths:',
      },
      { name: 'takes persistent from its choices', args: { name: 'x', persistent: 'yes' }, invalid: 'value of persistent must be one of: disabled, present, absent, got: yes' },
    ]).map((r) => ({ ...r, targets: ['confined' as const] })),
  );

  it("refuses the local connection, whose kernel and /etc are the build host's", async () => {
    const r = await modprobe.run(makeContext({ args: await prepare(modprobe, { name: 'dummy', persistent: 'present' }), conn: new LocalConnection() }));
    expect(r).toMatchObject({ failed: true });
    expect(r.msg).toContain("build host's kernel");
  });
});
