// What a locked build tells apt: the pins, and which planned downloads break the lock.
import { describe, expect, it } from 'vitest';
import { activeLock, downloadsOutsideLock, honourLock, pinPreferences, plannedDownloads } from '../../../src/image/lock-honour.js';
import type { Lock } from '../../../src/image/lock-file.js';

const H = (c: string) => c.repeat(64);
const lock: Lock = {
  lock: 1,
  playbook: 'playbooks/all.yml',
  suites: [{ id: 'bookworm', uri: 'http://mirror.invalid/debian', suite: 'bookworm', release: `sha256:${H('a')}`, indexes: [] }],
  stages: {
    base: [
      { name: 'libc6', version: '2.36-9+deb12u7', arch: 'amd64', sha256: H('1'), suite: 'bookworm', filename: 'pool/l.deb' },
      { name: 'adduser', version: '3.134', arch: 'all', sha256: H('2'), suite: 'bookworm', filename: 'pool/a.deb' },
    ],
    'overlay/x': [
      { name: 'libc6', version: '2.36-9+deb12u8', arch: 'amd64', sha256: H('3'), suite: 'bookworm', filename: 'pool/l2.deb' },
      { name: 'jq', version: '1.6-2.1', arch: 'amd64', sha256: H('4'), suite: 'bookworm', filename: 'pool/j.deb' },
      { name: 'vendor-tool', version: '1.0', arch: 'all', local: true },
    ],
  },
};

describe('a locked build', () => {
  honourLock('imgplay.lock', lock);
  const active = activeLock()!;

  it('pins each locked package to its version (arch:all by name alone), and leaves one locked at two versions unpinned', () => {
    expect(pinPreferences(active)).toBe(
      '# Written by imgplay while apt runs in a locked build (imgplay.lock); removed afterwards.\n\n' +
        'Package: adduser\nPin: version 3.134\nPin-Priority: 1001\n\n' +
        'Package: jq:amd64\nPin: version 1.6-2.1\nPin-Priority: 1001\n',
    );
  });

  it("reads apt-get --print-uris' downloads, versions with an epoch included", () => {
    const out = "Need to get 1 kB.\n'http://m.invalid/pool/j.deb' jq_1.6-2.1_amd64.deb 640 MD5Sum:0123\n'http://m.invalid/pool/e.deb' e2fsprogs_1%3a1.47.0-2_amd64.deb 9 SHA256:" + H('9') + '\n';
    expect(plannedDownloads(out)).toEqual([
      { name: 'jq', version: '1.6-2.1', arch: 'amd64', sha256: undefined, file: 'jq_1.6-2.1_amd64.deb' },
      { name: 'e2fsprogs', version: '1:1.47.0-2', arch: 'amd64', sha256: H('9'), file: 'e2fsprogs_1%3a1.47.0-2_amd64.deb' },
    ]);
  });

  it('refuses a download that is not locked, or whose index sha256 is not the locked one', () => {
    const planned = () => [
      { name: 'jq', version: '1.6-2.1', arch: 'amd64', file: 'a' },
      { name: 'adduser', version: '3.134', arch: 'all', file: 'b' },
      { name: 'curl', version: '7.88', arch: 'amd64', file: 'c' },
      { name: 'libc6', version: '2.37', arch: 'amd64', file: 'd' },
    ];
    const indexed = [
      { name: 'jq', version: '1.6-2.1', arch: 'amd64', sha256: H('4'), size: 1, filename: 'pool/j.deb' },
      { name: 'adduser', version: '3.134', arch: 'all', sha256: H('f'), size: 1, filename: 'pool/a.deb' },
    ];
    expect(downloadsOutsideLock(active, planned(), indexed)).toEqual([
      `adduser 3.134: the archive's .deb has sha256 ${H('f')}, imgplay.lock locks ${H('2')}`,
      'curl 7.88 (amd64) is not in imgplay.lock',
      'libc6 2.37 (amd64) is not in imgplay.lock (it locks 2.36-9+deb12u7, 2.36-9+deb12u8)',
    ]);
    // `imgplay lock` pins what is locked and lets new packages be resolved; other bytes are refused all the same.
    honourLock('imgplay.lock', lock, false);
    expect(downloadsOutsideLock(activeLock()!, planned(), indexed)).toEqual([`adduser 3.134: the archive's .deb has sha256 ${H('f')}, imgplay.lock locks ${H('2')}`]);
    honourLock(undefined);
    expect(activeLock()).toBeUndefined();
  });
});
