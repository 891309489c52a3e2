// The setup module's gather_subset and filter rules (Ansible's; compared with Ansible itself in
// test/integration/facts.test.ts).
import { describe, expect, it } from 'vitest';
import { collectorsFor, factMatches } from '../../../src/modules/setup.js';

const MIN = ['apparmor', 'cmdline', 'date_time', 'distribution', 'dns', 'env', 'fips', 'local', 'lsb', 'pkg_mgr', 'platform', 'python', 'selinux', 'service_mgr', 'ssh_pub_keys', 'user'];

describe('gather_subset', () => {
  it('gathers everything imgplay knows for all', () => {
    const { names } = collectorsFor(['all']);
    expect([...names]).toEqual(expect.arrayContaining([...MIN, 'hardware', 'mounts', 'lvm', 'network', 'virtual', 'chroot', 'loadavg']));
  });

  it('keeps the minimal set for !all, and drops it only for !min', () => {
    expect([...collectorsFor(['!all']).names].sort()).toEqual(MIN);
    expect([...collectorsFor(['!all', '!min']).names]).toEqual([]);
  });

  it('leaves a subset out with !name, unless it is also named', () => {
    const { names } = collectorsFor(['all', '!hardware']);
    expect(names.has('hardware') || names.has('mounts')).toBe(false);
    expect(names.has('network')).toBe(true);
    // Alone, an exclusion leaves the minimal set: Ansible adds min first, so nothing falls back to all.
    expect([...collectorsFor(['!hardware']).names].sort()).toEqual(MIN);
    expect(collectorsFor(['!hardware', 'hardware']).names.has('mounts')).toBe(true);
  });

  it('brings the collectors a collector reads, as Ansible reports their facts too', () => {
    expect([...collectorsFor(['!all', '!min', 'network']).names].sort()).toEqual(['distribution', 'network', 'platform']);
    expect([...collectorsFor(['!all', '!min', 'pkg_mgr']).names].sort()).toEqual(['distribution', 'pkg_mgr']);
  });

  it("refuses a name Ansible does not know in Ansible's words, and one imgplay does not gather saying why", () => {
    expect(collectorsFor(['hardwares']).error).toMatch(/^Bad subset 'hardwares' given to Ansible\. gather_subset options allowed: all, apparmor, caps, /);
    expect(collectorsFor(['caps']).error).toBe("gather_subset 'caps': imgplay does not run capsh for system_capabilities");
    expect(collectorsFor(['ohai']).error).toBe("gather_subset 'ohai': imgplay does not run ohai");
  });

  it('ignores leaving out a subset it does not know, as Ansible does', () => {
    expect(collectorsFor(['!nonsense']).error).toBeUndefined();
  });
});

describe('filter', () => {
  it.each([
    ['ansible_memtotal_mb', 'ansible_*_mb', true],
    ['ansible_memory_mb', 'ansible_*_mb', true],
    ['ansible_mounts', 'ansible_*_mb', false],
    ['ansible_eth1', 'ansible_eth[0-2]', true],
    ['ansible_eth3', 'ansible_eth[0-2]', false],
    ['ansible_eth3', 'ansible_eth[!0-2]', true],
    ['ansible_pkg_mgr', 'pkg_mgr', true],
    ['ansible_pkg_mgr', 'ansible_pkg_mg?', true],
    ['ansible_pkg_mgr', 'ansible_pkg', false],
    ['ansible_a.b', 'ansible_a?b', true],
    ['ansible_axb', 'ansible_a.b', false],
    ['gather_subset', '', true],
  ])('%s matches %s: %s', (name, pattern, expected) => {
    expect(factMatches(name, pattern)).toBe(expected);
  });
});
