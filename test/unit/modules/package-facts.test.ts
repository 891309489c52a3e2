import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aptPackages, packageFacts, stanzas } from '../../../src/modules/package-facts.js';
import { ConfinedConnection, buildTree, cases } from '../../support/module-cases.js';
import { rooted, rootedRows } from '../../support/rooted-module.js';

const status = [
  'Package: dpkg\nStatus: install ok installed\nPriority: required\nSection: admin\nArchitecture: amd64\nVersion: 1.21.22\nDescription: Debian package management system\n dpkg is the base of the system.\n',
  'Package: adduser\nStatus: install ok installed\nSection: admin\nArchitecture: all\nVersion: 3.134\n',
  'Package: libc6\nStatus: install ok installed\nSection: libs\nArchitecture: amd64\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\n',
  'Package: libc6\nStatus: install ok installed\nSection: libs\nArchitecture: i386\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\n',
  'Package: half\nStatus: install reinstreq half-configured\nArchitecture: amd64\nVersion: 1.0\n',
  'Package: gone\nStatus: deinstall ok config-files\nSection: net\nArchitecture: amd64\nVersion: 2.0\n',
  'Package: never\nStatus: purge ok not-installed\nArchitecture: amd64\n',
].join('\n');
const lists = 'var/lib/apt/lists';
const site = 'deb.example.invalid_debian_dists_bookworm';
const tree = {
  'var/lib/dpkg/status': status,
  [`${lists}/${site}_InRelease`]: '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nLabel: Debian\nSuite: stable\n',
  [`${lists}/${site}_main_binary-amd64_Packages`]: 'Package: dpkg\nVersion: 1.21.22\nArchitecture: amd64\nSection: admin\n\nPackage: libc6\nVersion: 2.36-9+deb12u3\nArchitecture: amd64\n',
};
const pkg = (name: string, version: string, arch: string, category: string, origin = '') => ({ name, version, arch, category, origin, source: 'apt' });

describe('package_facts', () => {
  cases(
    rooted(packageFacts),
    rootedRows([
      {
        name: 'lists what dpkg has a current version of, keyed as python-apt names them, with the origin of the apt list that has that version',
        args: {},
        before: tree,
        changed: false,
        result: {
          ansible_facts: {
            packages: {
              dpkg: [pkg('dpkg', '1.21.22', 'amd64', 'admin', 'Debian')],
              adduser: [pkg('adduser', '3.134', 'all', 'admin')],
              libc6: [pkg('libc6', '2.36-9+deb12u4', 'amd64', 'libs')],
              'libc6:i386': [pkg('libc6:i386', '2.36-9+deb12u4', 'i386', 'libs')],
              half: [pkg('half', '1.0', 'amd64', '')],
            },
          },
        },
      },
      { name: 'takes apt by name, in any case', args: { manager: ['APT'], strategy: 'all' }, before: tree, changed: false },
      { name: "refuses the managers Ansible knows and imgplay does not read", args: { manager: ['rpm'] }, before: tree, error: "package manager rpm is not supported by imgplay: imgplay reads only apt's (dpkg's) database" },
      { name: "fails for a manager Ansible does not know, in Ansible's words", args: { manager: 'apt,yum2' }, before: tree, error: 'Unsupported package managers requested: yum2' },
      { name: 'fails without a dpkg database', args: {}, error: 'No such file or directory' },
      { name: 'refuses an unknown strategy', args: { strategy: 'some' }, invalid: 'value of strategy must be one of: first, all, got: some' },
    ]),
  );

  it('leaves out packages that only left their configuration, or were purged', async () => {
    const root = await mkdtemp(join(tmpdir(), 'imgplay-pf-'));
    try {
      await buildTree(root, tree);
      expect(Object.keys(await aptPackages(new ConfinedConnection(root))).sort()).toEqual(['adduser', 'dpkg', 'half', 'libc6', 'libc6:i386']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads deb822 stanzas with their continuation lines', () => {
    expect(stanzas(status).map((s) => s.get('Package'))).toEqual(['dpkg', 'adduser', 'libc6', 'libc6', 'half', 'gone', 'never']);
    expect(stanzas(status)[0]?.get('Description')).toBe('Debian package management system\n dpkg is the base of the system.');
  });
});
