// apt's arguments as the executor prepares them: Ansible's aliases fold into the canonical names and
// Ansible's argument rules refuse with its words. Installing is tested in a chroot (apt-chroot.test.ts).
import { describe, expect, it } from 'vitest';
import { apt } from '../../../src/modules/apt.js';
import type { Module } from '../../../src/modules/types.js';
import { prepareArgs } from '../../../src/run/args.js';

const prepare = (args: Record<string, unknown>) => prepareArgs(apt as unknown as Module<unknown>, args);

describe("apt's arguments", () => {
  it('fold the dashed and plural aliases into their canonical names', () => {
    const args = prepare({ name: 'lldpd, curl', 'update-cache': 'yes', 'default-release': 'bookworm-backports', 'install-recommends': false, 'allow-downgrades': true, 'allow-unauthenticated': 'on' });
    expect(args).toMatchObject({
      package: ['lldpd', 'curl'],
      update_cache: true,
      default_release: 'bookworm-backports',
      install_recommends: false,
      allow_downgrade: true,
      allow_unauthenticated: true,
    });
    expect(args).not.toHaveProperty('update-cache');
    expect(args).not.toHaveProperty('name');
  });

  it("take Ansible's defaults and leave install_recommends to apt's configuration", () => {
    const args = prepare({ pkg: ['lldpd'] });
    expect(args).toMatchObject({ state: 'present', upgrade: 'no', dpkg_options: 'force-confdef,force-confold', lock_timeout: 60, allow_downgrade: false });
    expect(args).not.toHaveProperty('install_recommends');
  });

  it('refuse deb, package and upgrade together, even upgrade: no, as Ansible does', () => {
    expect(() => prepare({ name: 'lldpd', upgrade: 'no' })).toThrow('parameters are mutually exclusive: deb|package|upgrade');
    expect(() => prepare({ deb: '/tmp/x.deb', pkg: 'lldpd' })).toThrow('parameters are mutually exclusive: deb|package|upgrade');
  });

  it('refuse the states imgplay cannot honour, saying why', () => {
    expect(() => prepare({ name: 'lldpd', state: 'build-dep' })).toThrow('state=build-dep is not supported by imgplay: imgplay installs, upgrades and removes packages only.');
    expect(() => prepare({ name: 'lldpd', state: 'fixed' })).toThrow('state=fixed is not supported by imgplay');
    expect(() => prepare({ name: 'lldpd', state: 'purged' })).toThrow('value of state must be one of: absent, build-dep, fixed, latest, present, installed, removed, got: purged');
  });

  it("name an unknown argument with the supported ones, as ansible-playbook 2.14 printed them", () => {
    expect(() => prepare({ name: 'coreutils', colour: 'blue' })).toThrow(
      'Unsupported parameters for (apt) module: colour. Supported parameters include: allow_change_held_packages, allow_downgrade, allow_unauthenticated, autoclean, autoremove, cache_valid_time, clean, deb, default_release, dpkg_options, fail_on_autoremove, force, force_apt_get, install_recommends, lock_timeout, only_upgrade, package, policy_rc_d, purge, state, update_cache, update_cache_retries, update_cache_retry_max_delay, upgrade (allow-downgrade, allow-downgrades, allow-unauthenticated, allow_downgrades, default-release, install-recommends, name, pkg, update-cache).',
    );
  });
});
