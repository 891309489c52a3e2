// imgplay's setup against Ansible's on the same targets: the build host (local) and a chroot of the
// minbase tree (with python3 installed by the tree's own apt, so Ansible can run there). The fact
// names must be Ansible's but for the ones imgplay leaves out on purpose, and the facts that do not
// change between two runs must have Ansible's values.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnection } from '../../src/connection/index.js';
import type { Connection } from '../../src/connection/types.js';
import { setup } from '../../src/modules/setup.js';
import type { ModuleContext } from '../../src/modules/types.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';

type Facts = Record<string, unknown>;

const CHROOT_PLUGIN = '/usr/lib/python3/dist-packages/ansible_collections/community/general/plugins/connection/chroot.py';
const skip = skipWithout(lacking(root, file('/usr/bin/ansible', 'ansible-core'), file(CHROOT_PLUGIN, 'ansible'), await minbaseUnavailable()));

/** Ansible's setup on a target: its ansible_facts. */
async function ansibleSetup(target: string, connection: string, args = ''): Promise<Facts> {
  const r = await execa('ansible', ['all', '-i', `${target},`, '-c', connection, '-m', 'setup', ...(args ? ['-a', args] : []), '-o'], {
    env: { ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: '0' },
    reject: false,
  });
  const json = /=> (\{.*\})\s*$/s.exec(r.stdout)?.[1];
  if (r.exitCode !== 0 || json === undefined) throw new Error(`ansible setup on ${target} failed: ${r.stdout}\n${r.stderr}`);
  return (JSON.parse(json) as { ansible_facts: Facts }).ansible_facts;
}

/** imgplay's setup on a connection: its ansible_facts (less the unprefixed copy), or its message. */
async function imgplaySetup(conn: Connection, args: Facts = {}): Promise<{ facts: Facts; msg?: string }> {
  const all = { gather_subset: ['all'], gather_timeout: 10, filter: [], fact_path: '/etc/ansible/facts.d', ...args };
  const r = await setup.run({ args: all, conn, vars: {} } as unknown as ModuleContext<never>);
  const facts = { ...(r.ansible_facts as Facts | undefined) };
  delete facts.ansible_facts;
  return { facts, msg: r.failed ? String(r.msg) : undefined };
}

// Facts imgplay leaves out on purpose (docs/modules.md, setup: differences): capabilities (Ansible
// runs capsh) and block devices.
function omittedOnPurpose(name: string): boolean {
  return /^ansible_(devices|device_links|system_capabilities(_enforced)?)$/.test(name);
}

// Facts of the target's files and of the kernel, the same in two runs.
const STABLE = [
  'distribution', 'distribution_version', 'distribution_major_version', 'distribution_minor_version', 'distribution_release',
  'distribution_file_parsed', 'distribution_file_path', 'distribution_file_variety', 'os_family', 'pkg_mgr', 'service_mgr', 'lsb',
  'system', 'kernel', 'kernel_version', 'machine', 'architecture', 'userspace_bits', 'userspace_architecture', 'machine_id',
  'fqdn', 'hostname', 'nodename', 'domain', 'selinux', 'selinux_python_present', 'apparmor', 'fips', 'is_chroot', 'python',
  'python_version', 'user_id', 'user_uid', 'user_gid', 'user_gecos', 'user_dir', 'user_shell', 'real_user_id', 'effective_user_id',
  'real_group_id', 'effective_group_id', 'dns', 'local', 'iscsi_iqn', 'hostnqn', 'fibre_channel_wwn', 'gather_subset', 'module_setup',
].map((n) => (n === 'gather_subset' || n === 'module_setup' ? n : `ansible_${n}`));

// The build host's hardware, the same in two runs: compared with Ansible's local run for a chroot too.
const HARDWARE = [
  'processor', 'processor_count', 'processor_cores', 'processor_threads_per_core', 'processor_vcpus', 'processor_nproc',
  'memtotal_mb', 'swaptotal_mb', 'bios_date', 'bios_vendor', 'bios_version', 'board_asset_tag', 'board_name', 'board_serial',
  'board_vendor', 'board_version', 'chassis_asset_tag', 'chassis_serial', 'chassis_vendor', 'chassis_version', 'form_factor',
  'product_name', 'product_serial', 'product_uuid', 'product_version', 'system_vendor', 'cmdline', 'proc_cmdline', 'lvm',
].map((n) => `ansible_${n}`);

// Of a mount, what does not move while the tests run.
const mountShape = (m: Facts) => ({ mount: m.mount, device: m.device, fstype: m.fstype, options: m.options, uuid: m.uuid, block_size: m.block_size, block_total: m.block_total, inode_total: m.inode_total, size_total: m.size_total });

function pick(facts: Facts, names: readonly string[]): Facts {
  return Object.fromEntries(names.filter((n) => n in facts).map((n) => [n, facts[n]]));
}

describe.skipIf(skip)("setup gathers Ansible's facts", () => {
  let mountsBefore: string;
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  let local: Connection;
  let chroot: Connection | undefined;
  const ansible: Record<string, Facts> = {};
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    mountsBefore = await mountsSnapshot();
    local = await openConnection('local', '');
    const prepareTree = (async () => {
      tree = await minbaseCopy();
      // Ansible needs a Python in the tree: installed by the tree's own apt, resolving as the host does.
      await copyFile('/etc/resolv.conf', join(tree.root, 'etc/resolv.conf'));
      const env = { DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
      await execa('chroot', [tree.root, 'apt-get', 'update', '-q'], { env });
      await execa('chroot', [tree.root, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', 'python3'], { env });
      ansible.chroot = await ansibleSetup(tree.root, 'community.general.chroot');
    })();
    // Ansible takes seconds per run: the local ones run side by side.
    [ansible.local, ansible.notAll, ansible.noHardware, ansible.network, ansible.pkgMgr] = await Promise.all([
      ansibleSetup('localhost', 'local'),
      ansibleSetup('localhost', 'local', 'gather_subset=!all'),
      ansibleSetup('localhost', 'local', 'gather_subset=all,!hardware'),
      ansibleSetup('localhost', 'local', 'gather_subset=!all,!min,network'),
      ansibleSetup('localhost', 'local', 'filter=ansible_pkg_mgr'),
    ]);
    await prepareTree;
    chroot = await openConnection('chroot', tree!.root);
  });

  afterAll(async () => {
    await chroot?.close();
    await local?.close();
    await tree?.cleanup();
    expect(await mountsSnapshot()).toBe(mountsBefore);
  });

  describe('on the build host', () => {
    it("names every fact Ansible names, but the capability and device facts, and no other", async () => {
      const { facts } = await imgplaySetup(local);
      const missing = Object.keys(ansible.local!).filter((n) => !(n in facts) && !omittedOnPurpose(n));
      expect(missing).toEqual([]);
      expect(Object.keys(facts).filter((n) => !(n in ansible.local!))).toEqual([]);
    });

    it("has Ansible's values for the facts that do not change between runs", async () => {
      const { facts } = await imgplaySetup(local);
      expect(pick(facts, [...STABLE, ...HARDWARE, 'ansible_virtualization_type', 'ansible_virtualization_role'])).toEqual(
        pick(ansible.local!, [...STABLE, ...HARDWARE, 'ansible_virtualization_type', 'ansible_virtualization_role']),
      );
      expect(new Set(facts.ansible_virtualization_tech_guest as string[])).toEqual(new Set(ansible.local!.ansible_virtualization_tech_guest as string[]));
      // Other tests mount and unmount while this one runs: the mounts present in both runs are compared.
      const theirs = new Map((ansible.local!.ansible_mounts as Facts[]).map((m) => [m.mount, mountShape(m)]));
      const ours = (facts.ansible_mounts as Facts[]).map(mountShape).filter((m) => theirs.has(m.mount));
      expect(ours.map((m) => m.mount)).toContain('/');
      expect(ours).toEqual(ours.map((m) => theirs.get(m.mount)));
    });

    it("has Ansible's network facts: interfaces, their addresses, the default routes", async () => {
      const { facts } = await imgplaySetup(local);
      const ifaces = ansible.local!.ansible_interfaces as string[];
      expect(new Set(facts.ansible_interfaces as string[])).toEqual(new Set(ifaces));
      const names = ['ansible_default_ipv4', 'ansible_default_ipv6', ...ifaces.map((i) => `ansible_${i.replace(/-/g, '_')}`)];
      expect(pick(facts, names)).toEqual(pick(ansible.local!, names));
      expect(new Set(facts.ansible_all_ipv4_addresses as string[])).toEqual(new Set(ansible.local!.ansible_all_ipv4_addresses as string[]));
      expect(new Set(facts.ansible_all_ipv6_addresses as string[])).toEqual(new Set(ansible.local!.ansible_all_ipv6_addresses as string[]));
    });

    it("dates, memory and environment in Ansible's shapes", async () => {
      const { facts } = await imgplaySetup(local);
      const dt = facts.ansible_date_time as Record<string, string>;
      const theirs = ansible.local!.ansible_date_time as Record<string, string>;
      expect(Object.keys(dt).sort()).toEqual(Object.keys(theirs).sort());
      expect(Math.abs(Number(dt.epoch) - Date.now() / 1000)).toBeLessThan(60);
      expect([dt.tz, dt.tz_offset, dt.year]).toEqual([theirs.tz, theirs.tz_offset, theirs.year]);
      const shape = (v: unknown): unknown => (v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]).sort()) : typeof v);
      expect(shape(facts.ansible_memory_mb)).toEqual(shape(ansible.local!.ansible_memory_mb));
      expect(shape(facts.ansible_loadavg)).toEqual(shape(ansible.local!.ansible_loadavg));
      expect(typeof facts.ansible_uptime_seconds).toBe('number');
      expect((facts.ansible_env as Record<string, string>).PATH).toBe(process.env.PATH);
    });

    it('takes gather_subset and filter as Ansible does', async () => {
      const names = async (args: Facts) => Object.keys((await imgplaySetup(local, args)).facts).sort();
      const theirs = (f: Facts) => Object.keys(f).filter((n) => !omittedOnPurpose(n)).sort();
      expect(await names({ gather_subset: ['!all'] })).toEqual(theirs(ansible.notAll!));
      expect(await names({ gather_subset: ['all', '!hardware'] })).toEqual(theirs(ansible.noHardware!));
      expect(await names({ gather_subset: ['!all', '!min', 'network'] })).toEqual(theirs(ansible.network!));
      expect(await names({ filter: ['ansible_pkg_mgr'] })).toEqual(theirs(ansible.pkgMgr!));
      expect(await names({ filter: ['pkg_mgr'] })).toEqual(['ansible_pkg_mgr']);
    });

    it('refuses a subset it does not gather, and one Ansible does not know, saying so', async () => {
      expect((await imgplaySetup(local, { gather_subset: ['caps'] })).msg).toBe("gather_subset 'caps': imgplay does not run capsh for system_capabilities");
      expect((await imgplaySetup(local, { gather_subset: ['hardwares'] })).msg).toMatch(/^Bad subset 'hardwares' given to Ansible\. gather_subset options allowed: all, apparmor, /);
    });

    it('gathers in a small fraction of the time Ansible takes', async () => {
      const start = performance.now();
      for (let i = 0; i < 5; i++) await imgplaySetup(local);
      timings.local = (performance.now() - start) / 5;
      expect(timings.local).toBeLessThan(500);
    });
  });

  describe('on a chroot', () => {
    it("names Ansible's facts and no others: without /proc in the tree no hardware, mount or cmdline facts, as Ansible", async () => {
      const { facts } = await imgplaySetup(chroot!);
      const missing = Object.keys(ansible.chroot!).filter((n) => !(n in facts) && !omittedOnPurpose(n));
      expect(missing).toEqual([]);
      expect(Object.keys(facts).filter((n) => !(n in ansible.chroot!))).toEqual([]);
      expect(facts).not.toHaveProperty('ansible_processor_count');
      expect(facts).not.toHaveProperty('ansible_mounts');
    });

    it("describes the tree with Ansible's values (its distribution, version, service manager, user, python)", async () => {
      const { facts } = await imgplaySetup(chroot!);
      expect(pick(facts, STABLE)).toEqual(pick(ansible.chroot!, STABLE));
      expect(facts).toMatchObject({ ansible_distribution: 'Debian', ansible_distribution_major_version: '12', ansible_service_mgr: 'sysvinit', ansible_is_chroot: true });
    });

    it("with /proc, /sys and /dev mounted (imgplay's default), reports the build host's hardware as Ansible does there, and only the mounts inside the tree", async () => {
      const mounted = await openConnection('chroot', tree!.root, { systemMounts: true });
      try {
        const { facts } = await imgplaySetup(mounted);
        expect(pick(facts, HARDWARE)).toEqual(pick(ansible.local!, HARDWARE));
        expect(facts.ansible_processor_count).toBeGreaterThan(0);
        expect(facts.ansible_mounts).toEqual([]);
      } finally {
        await mounted.close();
      }
    });
  });
});
