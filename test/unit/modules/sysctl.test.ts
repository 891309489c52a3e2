// sysctl in an image: the file in the tree changes, the build host's running kernel never does.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sysctl } from '../../../src/modules/sysctl.js';
import { minbaseCopy, minbaseUnavailable } from '../../support/minbase.js';
import { cases } from '../../support/module-cases.js';
import { skipWithout } from '../../support/needs.js';

const skipChroot = skipWithout(await minbaseUnavailable());
const hostSwappiness = () => readFileSync('/proc/sys/vm/swappiness', 'utf8').trim();
// A value the host does not have, so applying it anywhere would show.
const other = () => (hostSwappiness() === '17' ? '18' : '17');

describe.skipIf(skipChroot)('sysctl in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  const before = hostSwappiness();
  beforeAll(async () => {
    tree = await minbaseCopy();
  });
  afterAll(async () => {
    await tree?.cleanup();
  });

  cases(
    sysctl,
    [
      {
        name: "writes the image's file and leaves the running kernel, the build host's, alone",
        args: { name: 'vm.swappiness', value: other(), sysctl_file: '{root}/99-image.conf', reload: true, sysctl_set: true },
        changed: true,
        after: { '99-image.conf': `vm.swappiness=${other()}\n` },
        targets: ['chroot'],
      },
      {
        name: 'replaces the earlier lines of the key and keeps the others',
        args: { key: 'vm.swappiness', val: 'no', sysctl_file: '{root}/f.conf' },
        before: { 'f.conf': '# c\nvm.swappiness = 60\nkernel.panic=10\nvm.swappiness=1\n' },
        changed: true,
        after: { 'f.conf': '# c\nvm.swappiness=0\nkernel.panic=10\n' },
        targets: ['chroot'],
      },
      {
        name: 'removes a key',
        args: { name: 'kernel.panic', state: 'absent', sysctl_file: '{root}/f.conf' },
        before: { 'f.conf': 'kernel.panic=10\nvm.swappiness=1\n' },
        changed: true,
        after: { 'f.conf': 'vm.swappiness=1\n' },
        targets: ['chroot'],
      },
      { name: 'needs a value for state present', args: { name: 'kernel.panic' }, invalid: 'state is present but all of the following are missing: value', targets: ['chroot'] },
    ],
    { chrootRoot: () => tree!.root },
  );

  it("has not changed the build host's kernel", () => {
    expect(hostSwappiness()).toBe(before);
  });
});
