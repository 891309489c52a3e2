// imgplay.lock's text: written in a stable order one package a line, read back strictly, compared stage by stage.
import { describe, expect, it } from 'vitest';
import { parsePackages, parseRelease, suiteBase } from '../../../src/image/apt-index.js';
import { type Lock, formatLock, lockDifferences, parseLock } from '../../../src/image/lock-file.js';
import { stagePackages, withoutCredentials } from '../../../src/image/lock-resolve.js';

const H = (c: string) => c.repeat(64);
const lock: Lock = {
  lock: 1,
  playbook: 'playbooks/all.yml',
  suites: [{ id: 'bookworm', uri: 'http://mirror.invalid/debian', suite: 'bookworm', date: 'Sat, 09 Nov 2026 10:11:53 UTC', release: `sha256:${H('a')}`, indexes: ['main/binary-amd64/Packages.gz'] }],
  stages: {
    'overlay/oem': [{ name: 'oem-tool', version: '1.0', arch: 'all', local: true }],
    base: [
      { name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'amd64', sha256: H('c'), suite: 'bookworm', filename: 'pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb' },
      { name: 'adduser', version: '3.134', arch: 'all', sha256: H('b'), suite: 'bookworm', filename: 'pool/main/a/adduser/adduser_3.134_all.deb' },
    ],
  },
};

describe('the lock file', () => {
  it('is written in code-point order, one package a line, and reads back as it was', () => {
    const text = formatLock(lock);
    expect(text).toContain('  "base":\n    - { name: "adduser", version: "3.134", arch: "all", sha256: "bbbb');
    expect(text.indexOf('"base"')).toBeLessThan(text.indexOf('"overlay/oem"'));
    expect(text).toContain('    - { name: "oem-tool", version: "1.0", arch: "all", local: true }\n');
    const back = parseLock(text, 'imgplay.lock');
    expect(formatLock(back)).toBe(text);
    expect(back.stages.base?.map((p) => p.name)).toEqual(['adduser', 'zlib1g']);
    expect(back.stages.base?.[1]?.version).toBe('1:1.2.13.dfsg-1');
  });

  it('refuses a lock that is damaged or hand-edited out of shape, saying what is wrong', () => {
    const text = formatLock(lock);
    expect(() => parseLock(text.replace('lock: 1', 'lock: 7'), 'imgplay.lock')).toThrow('imgplay.lock is not an imgplay lock: its format is 7, this imgplay reads 1');
    expect(() => parseLock(text.replace(`sha256: "${H('b')}"`, 'sha256: "beef"'), 'imgplay.lock')).toThrow('stages.base[0].sha256 is not 64 hex digits');
    expect(() => parseLock(text.replace('suite: "bookworm", filename: "pool/main/a', 'suite: "sid", filename: "pool/main/a'), 'imgplay.lock')).toThrow('stages.base[0].suite sid is not one of the suites');
    expect(() => parseLock(text.replace('pool/main/a/adduser', '../../etc'), 'imgplay.lock')).toThrow('must be a path inside the archive');
    expect(() => parseLock('- a list\n', 'imgplay.lock')).toThrow('it is not a mapping');
    // A stage named like Object's prototype stays an ordinary stage.
    const odd = parseLock(text.replace('"overlay/oem":', '"__proto__":'), 'imgplay.lock');
    expect(Object.keys(odd.stages)).toEqual(['base', '__proto__']);
    expect(Object.getPrototypeOf(odd.stages)).toBe(Object.prototype);
  });

  it('names every change between two locks: versions, other bytes, packages and stages added or gone', () => {
    const now: Lock = structuredClone(lock);
    now.stages.base![1] = { ...now.stages.base![1]!, version: '3.135' };
    now.stages.base![0] = { ...now.stages.base![0]!, sha256: H('d') };
    now.stages.base!.push({ name: 'curl', version: '7.88', arch: 'amd64', sha256: H('e'), suite: 'bookworm', filename: 'pool/c.deb' });
    delete now.stages['overlay/oem'];
    now.stages.initrd = [];
    expect(lockDifferences(lock, now)).toEqual([
      'stage base: zlib1g 1:1.2.13.dfsg-1 is another .deb now (sha256 cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc -> dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd)',
      'stage base: adduser 3.134 -> 3.135',
      'stage base: adds curl 7.88 (amd64)',
      'stage initrd is new (0 packages)',
      'stage overlay/oem is no longer built',
    ]);
    expect(lockDifferences(lock, structuredClone(lock))).toEqual([]);
  });
});

describe('what a stage installed', () => {
  it('is a base\'s whole package set, and an overlay\'s packages added or changed over its base', () => {
    const base = { name: 'b', kind: 'base', packages: [{ name: 'libc6', version: '2.36', arch: 'amd64' }] };
    const overlay = { name: 'o', kind: 'overlay', packages: [], packageDelta: { added: [{ name: 'jq', version: '1.6', arch: 'amd64' }], removed: [{ name: 'x', version: '1', arch: 'all' }], changed: [{ name: 'libc6', arch: 'amd64', from: '2.36', to: '2.37' }] } };
    expect(stagePackages([base] as never)).toEqual([{ name: 'libc6', version: '2.36', arch: 'amd64' }]);
    expect(stagePackages([overlay] as never)).toEqual([{ name: 'jq', version: '1.6', arch: 'amd64' }, { name: 'libc6', arch: 'amd64', version: '2.37' }]);
  });

  it('is recorded without the archive URI\'s credentials', () => {
    expect(withoutCredentials('http://user:secret@mirror.invalid/debian')).toBe('http://mirror.invalid/debian');
    expect(withoutCredentials('file:/srv/repo')).toBe('file:/srv/repo');
  });
});

describe('archive indexes', () => {
  it('read an InRelease\'s fields and index list from inside its signature armour', () => {
    const text = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA512',
      '',
      'Origin: Debian',
      'Suite: stable',
      'Date: Sat, 09 Nov 2026 10:11:53 UTC',
      'Architectures: all amd64 arm64',
      'Components: main contrib',
      'MD5Sum:',
      ` ${'f'.repeat(32)} 100 main/binary-amd64/Packages.gz`,
      'SHA256:',
      ` ${H('1')} 1234 main/binary-amd64/Packages.gz`,
      ` ${H('2')} 99 main/binary-amd64/Packages`,
      '-----BEGIN PGP SIGNATURE-----',
      'xyz',
      '-----END PGP SIGNATURE-----',
    ].join('\n');
    const r = parseRelease(text);
    expect(r.date).toBe('Sat, 09 Nov 2026 10:11:53 UTC');
    expect(r.components).toEqual(['main', 'contrib']);
    expect(r.architectures).toEqual(['all', 'amd64', 'arm64']);
    expect(r.files.get('main/binary-amd64/Packages.gz')).toEqual({ sha256: H('1'), size: 1234 });
    expect(r.files.size).toBe(2);
  });

  it('list each package version with its .deb\'s sha256 and pool path, passing over stanzas without one', () => {
    const text = `Package: jq\nVersion: 1.6-2.1\nArchitecture: amd64\nDepends: libjq1\nFilename: pool/main/j/jq/jq_1.6-2.1_amd64.deb\nSize: 64\nSHA256: ${H('3')}\nDescription: x\n continued\n\nPackage: broken\nVersion: 1\n\n`;
    expect(parsePackages(text)).toEqual([{ name: 'jq', version: '1.6-2.1', arch: 'amd64', sha256: H('3'), size: 64, filename: 'pool/main/j/jq/jq_1.6-2.1_amd64.deb' }]);
  });

  it('live under dists/<suite>, or a flat repository\'s own folder', () => {
    expect(suiteBase({ uri: 'http://m.invalid/debian/', suite: 'bookworm' })).toBe('http://m.invalid/debian/dists/bookworm');
    expect(suiteBase({ uri: 'http://127.0.0.1:8/', suite: './' })).toBe('http://127.0.0.1:8');
    expect(suiteBase({ uri: 'file:/srv/repo', suite: 'sub/' })).toBe('file:/srv/repo/sub');
  });
});
