import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { installedPackagesOf, packageDelta, parseDpkgStatus } from '../../../src/image/dpkg-status.js';
import { minbaseTree, minbaseUnavailable } from '../../support/minbase.js';
import { skipWithout } from '../../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const STATUS = `Package: zlib1g
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
 zlib is a library implementing the deflate compression method found
 in gzip and PKZIP.

Package: zlib1g
Status: install ok installed
Architecture: i386
Multi-Arch: same
Version: 1:1.2.13.dfsg-1

Package: old-removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
Conffiles:
 /etc/old-removed.conf 0123456789abcdef

Package: half
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0

Package: held
Status: hold ok installed
Architecture: all
Version: 3.1-2

package: lower-case-fields
status: install ok installed
architecture: amd64
version: 0.9
`;

describe('parseDpkgStatus', () => {
  it('lists installed packages sorted by name then arch, leaving out removed and half-installed ones', () => {
    expect(parseDpkgStatus(STATUS)).toEqual([
      { name: 'held', version: '3.1-2', arch: 'all' },
      { name: 'lower-case-fields', version: '0.9', arch: 'amd64' },
      { name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'amd64' },
      { name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'i386' },
    ]);
  });

  it('reads an empty status file as no packages', () => {
    expect(parseDpkgStatus('')).toEqual([]);
  });
});

describe('installedPackagesOf', () => {
  it('reads root/var/lib/dpkg/status', async () => {
    const root = await mkdtemp(join(tmpdir(), 'imgplay-dpkg-'));
    dirs.push(root);
    await mkdir(join(root, 'var/lib/dpkg'), { recursive: true });
    await writeFile(join(root, 'var/lib/dpkg/status'), STATUS);
    expect((await installedPackagesOf(root)).map((p) => p.name)).toEqual(['held', 'lower-case-fields', 'zlib1g', 'zlib1g']);
  });

  it('says which tree has no dpkg database', async () => {
    const root = await mkdtemp(join(tmpdir(), 'imgplay-dpkg-'));
    dirs.push(root);
    await expect(installedPackagesOf(root)).rejects.toThrow(`cannot list the packages of ${root}`);
  });

  it.skipIf(skipChroot)('agrees with dpkg-query on a real debootstrapped minbase tree', async () => {
    const root = await minbaseTree();
    const q = await execa('dpkg-query', [
      `--admindir=${root}/var/lib/dpkg`,
      '-W',
      '-f',
      '${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\n',
    ]);
    const expected = q.stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([state]) => state === 'installed')
      .map(([, name, version, arch]) => ({ name, version, arch }))
      .sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0));
    const ours = await installedPackagesOf(root);
    expect(expected.length).toBeGreaterThan(50);
    expect(ours).toEqual(expected);
  });
});

describe('packageDelta', () => {
  const base = [
    { name: 'apt', version: '2.6.1', arch: 'amd64' },
    { name: 'libc6', version: '2.36-9', arch: 'amd64' },
    { name: 'vim-tiny', version: '2:9.0.1378-2', arch: 'amd64' },
  ];

  it('lists what an overlay added, removed and changed, each sorted by name', () => {
    const overlay = [
      { name: 'lldpd', version: '1.0.16-1', arch: 'amd64' },
      { name: 'libc6', version: '2.36-9+deb12u9', arch: 'amd64' },
      { name: 'apt', version: '2.6.1', arch: 'amd64' },
      { name: 'dmidecode', version: '3.4-1', arch: 'amd64' },
    ];
    expect(packageDelta(base, overlay)).toEqual({
      added: [
        { name: 'dmidecode', version: '3.4-1', arch: 'amd64' },
        { name: 'lldpd', version: '1.0.16-1', arch: 'amd64' },
      ],
      removed: [{ name: 'vim-tiny', version: '2:9.0.1378-2', arch: 'amd64' }],
      changed: [{ name: 'libc6', arch: 'amd64', from: '2.36-9', to: '2.36-9+deb12u9' }],
    });
  });

  it('treats another architecture of the same package as a different package', () => {
    expect(packageDelta(base, [...base, { name: 'libc6', version: '2.36-9', arch: 'i386' }]).added).toEqual([
      { name: 'libc6', version: '2.36-9', arch: 'i386' },
    ]);
  });

  it('is empty for an overlay that installed nothing', () => {
    expect(packageDelta(base, base)).toEqual({ added: [], removed: [], changed: [] });
  });
});
