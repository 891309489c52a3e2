import { describe } from 'vitest';
import { imgplayCleanup } from '../../../src/modules/imgplay-cleanup.js';
import { type TreeSpec, cases } from '../../support/module-cases.js';
import { rooted, rootedRows } from '../../support/rooted-module.js';

// What ldconfig and systemd leave that differs between two builds of the same packages.
const varying: TreeSpec = {
  'var/cache/ldconfig/aux-cache': 'glibc-ld.so.auxcache-2.0 inode 4711',
  'var/lib/systemd/random-seed': 'random bytes',
  'var/lib/systemd/credential.secret': 'random bytes',
};
const kept: TreeSpec = {
  'etc/ld.so.cache': 'the cache the loader reads',
  'var/lib/systemd/deb-systemd-helper-enabled/ssh.service.dsh-also': '/etc/systemd/system/multi-user.target.wants/ssh.service\n',
};

describe('imgplay_cleanup', () => {
  cases(
    rooted(imgplayCleanup),
    rootedRows([
      {
        name: "removes ldconfig's aux-cache and systemd's random seed and credential secret, and nothing the loader or systemd need",
        args: {},
        before: { ...varying, ...kept },
        changed: true,
        after: { ...kept, 'var/cache/ldconfig': { dir: true } },
        result: { removed: 3 },
      },
      {
        name: 'keeps them with varying off',
        args: { varying: false },
        before: { ...varying, ...kept },
        changed: false,
      },
    ]),
  );
});
