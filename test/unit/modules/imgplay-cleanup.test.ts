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
// A tree with apt's own user, as Debian's base-passwd makes it.
const apt = 'root:x:0:0:root:/root:/bin/sh\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n';
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
        name: "gives apt's partial folders the owner and mode apt gives them after a download, whether or not it downloaded",
        args: {},
        before: {
          'etc/passwd': apt,
          'var/cache/apt/archives/partial': { dir: true, mode: 0o755 },
          'var/lib/apt/lists/partial': { dir: true, mode: 0o700, uid: 42, gid: 0 },
        },
        changed: true,
        after: {
          'etc/passwd': apt,
          'var/cache/apt/archives/partial': { dir: true, mode: 0o700, uid: 42, gid: 0 },
          'var/lib/apt/lists/partial': { dir: true, mode: 0o700, uid: 42, gid: 0 },
        },
        result: { removed: 0, owned_by_apt: ['/var/cache/apt/archives/partial'] },
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
