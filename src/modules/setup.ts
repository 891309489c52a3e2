// Gathers facts about the target, as Ansible 2.14's setup module does on Linux: the same names, value
// shapes and gather_subset/filter rules (the collectors are in support/facts-linux.ts).
import { readdir } from 'node:fs/promises';
import { defineModule } from './spec.js';
import * as F from './support/facts-linux.js';
import { networkFacts } from './support/facts-network.js';

export { parseOsRelease } from './support/facts-linux.js';

type Collect = (src: F.FactSource, facts: F.Facts) => Promise<F.Facts> | F.Facts;

// Collector names in the order they run (later ones read earlier facts, as Ansible's required_facts).
const COLLECTORS: Record<string, Collect> = {
  // Ansible's platform collector reports the version of the Python that runs the module.
  platform: async (src) => ({ ...(await F.platformFacts(src)), ...pick(await F.pythonFacts(src), 'python_version') }),
  distribution: (src) => F.distributionFacts(src),
  lsb: (src, f) => F.lsbFacts(src, f),
  pkg_mgr: (src, f) => F.pkgMgrFacts(src, f),
  service_mgr: (src) => F.serviceMgrFacts(src),
  date_time: () => F.dateTimeFacts(),
  user: (src) => F.userFacts(src),
  env: (src) => F.envFacts(src),
  cmdline: (src) => F.cmdlineFacts(src),
  selinux: (src) => F.securityFacts(src, new Set(['selinux'])),
  apparmor: (src) => F.securityFacts(src, new Set(['apparmor'])),
  fips: (src) => F.securityFacts(src, new Set(['fips'])),
  dns: (src) => F.dnsFacts(src),
  python: async (src) => pick(await F.pythonFacts(src), 'python'),
  ssh_pub_keys: (src) => sshPubKeys(src),
  local: (src) => localFacts(src),
  chroot: (src) => F.chrootFacts(src),
  loadavg: () => F.loadavgFacts(),
  hardware: async (src) => ({ ...(await F.cpuFacts(src)), ...(await F.memoryFacts(src)), ...(await F.dmiFacts(src)), ...(await F.uptimeFacts(src)) }),
  mounts: (src) => F.mountFacts(src),
  lvm: (src) => F.lvmFacts(src),
  iscsi: (src) => F.iscsiFacts(src),
  nvme: (src) => F.nvmeFacts(src),
  fibre_channel_wwn: () => F.fcWwnFacts(),
  virtual: (src) => F.virtualFacts(src),
  network: (src) => networkFacts(src),
};

// Ansible's minimal_gather_subset, less caps (imgplay does not run capsh: see the differences).
const MIN = new Set(['apparmor', 'cmdline', 'date_time', 'distribution', 'dns', 'env', 'fips', 'local', 'lsb', 'pkg_mgr', 'platform', 'python', 'selinux', 'service_mgr', 'ssh_pub_keys', 'user']);
// Subset names that stand for several collectors.
const ALIASES: Record<string, string[]> = { hardware: ['hardware', 'mounts', 'lvm'], virtual: ['virtual'], network: ['network'] };
// Ansible's required_facts: the collectors another one reads.
const REQUIRES: Record<string, string[]> = {
  network: ['distribution', 'platform'], hardware: ['platform'], mounts: ['platform'], lvm: ['platform'],
  pkg_mgr: ['distribution'], service_mgr: ['platform', 'distribution'],
};
// The collectors that are parts of Ansible's one Linux hardware collector.
const HARDWARE_PART = ['hardware', 'mounts', 'lvm'];
// Subsets Ansible has that imgplay does not gather, with the reason given when one is asked for by name.
const REFUSED: Record<string, string> = {
  caps: 'imgplay does not run capsh for system_capabilities',
  facter: 'imgplay does not run facter',
  ohai: 'imgplay does not run ohai',
  devices: 'imgplay does not gather block device facts (devices, device_links)',
};
const VALID = new Set([...Object.keys(COLLECTORS).filter((c) => c !== 'mounts' && c !== 'lvm'), ...Object.keys(ALIASES), ...Object.keys(REFUSED)]);

/** The collectors a gather_subset list selects, by Ansible's rules: min always, unless '!min'; '!x' drops x unless x is named too. */
export function collectorsFor(subset: readonly string[]): { names: Set<string>; error?: string } {
  const add = new Set<string>();
  const exclude = new Set<string>();
  const explicit = new Set<string>();
  const expand = (s: string) => ALIASES[s] ?? [s];
  const everything = [...VALID].flatMap(expand);
  for (const item of ['min', ...subset]) {
    if (item === 'min') for (const c of MIN) add.add(c);
    else if (item === 'all') for (const c of everything) add.add(c);
    else if (item.startsWith('!')) {
      const s = item.slice(1);
      const dropped = s === 'min' ? [...MIN] : s === 'all' ? everything.filter((c) => !MIN.has(c)) : expand(s);
      for (const c of dropped) exclude.add(c);
    } else {
      if (!VALID.has(item)) return { names: add, error: `Bad subset '${item}' given to Ansible. gather_subset options allowed: all, ${[...VALID, 'min'].sort().join(', ')}` };
      if (REFUSED[item] !== undefined) return { names: add, error: `gather_subset '${item}': ${REFUSED[item]}` };
      for (const c of expand(item)) {
        explicit.add(c);
        add.add(c);
      }
    }
  }
  for (const c of exclude) if (!explicit.has(c)) add.delete(c);
  for (const c of Object.keys(REFUSED)) add.delete(c);
  // A collector brings the ones whose facts it reads, and their facts are reported too (Ansible's required_facts).
  for (const c of [...add]) for (const dep of REQUIRES[c] ?? []) add.add(dep);
  return { names: add };
}

/** Whether a fact name matches a filter pattern (fnmatch: *, ?, [seq], [!seq]), with Ansible's ansible_ retry. */
export function factMatches(name: string, pattern: string): boolean {
  if (pattern === '') return true;
  const re = (p: string) => {
    let out = '';
    for (let i = 0; i < p.length; i++) {
      const ch = p[i]!;
      if (ch === '*') out += '.*';
      else if (ch === '?') out += '.';
      else if (ch === '[') {
        const end = p.indexOf(']', i + 2);
        if (end < 0) out += '\\[';
        else {
          let body = p.slice(i + 1, end).replace(/\\/g, '\\\\');
          if (body.startsWith('!')) body = `^${body.slice(1)}`;
          out += `[${body}]`;
          i = end;
        }
      } else out += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
    return new RegExp(`^${out}$`, 's');
  };
  if (re(pattern).test(name)) return true;
  return !/^(ansible_|facter|ohai)/.test(pattern) && re(`ansible_${pattern}`).test(name);
}

async function sshPubKeys(src: F.FactSource): Promise<F.Facts> {
  const facts: F.Facts = {};
  for (const algo of ['dsa', 'rsa', 'ecdsa', 'ed25519']) {
    const text = await src.target(`/etc/ssh/ssh_host_${algo}_key.pub`);
    const [type, key] = (text ?? '').trim().split(/\s+/);
    if (type && key) {
      facts[`ssh_host_key_${algo}_public`] = key;
      facts[`ssh_host_key_${algo}_public_keytype`] = type;
    }
  }
  return facts;
}

async function localFacts(src: F.FactSource): Promise<F.Facts> {
  // fact_path facts would run or parse the target's files; none is the common case and the only one imgplay answers.
  const dir = src.conn.kind === 'local' ? '/etc/ansible/facts.d' : await src.conn.hostPath('/etc/ansible/facts.d').catch(() => undefined);
  const files = dir === undefined ? [] : (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.fact'));
  if (files.length > 0) throw new Error(`imgplay does not read local facts: /etc/ansible/facts.d holds ${files.join(', ')}`);
  return { local: {} };
}

export const setup = defineModule(
  {
    name: 'setup',
    otherNames: ['gather_facts', 'ansible.builtin.gather_facts'],
    doc: {
      short: "Gathers facts about the target: Ansible's names, value shapes and gather_subset/filter rules.",
      description:
        "Facts are returned as `ansible_facts` (each `ansible_NAME` also set as a host variable). A chroot's facts describe the tree: `distribution*`, `os_family`, `lsb`, `pkg_mgr`, `service_mgr`, `user_*`, `dns`, `env`, `python`, `machine_id`, `userspace_bits` come from its files; the kernel and `virtualization_*` are the build host's; CPUs, memory, DMI, uptime, the kernel command line, selinux, apparmor and fips are read from the tree's own /proc and /sys, which imgplay mounts there by default, so they are the build host's too, as Ansible reports them inside such a chroot; `mounts` lists the mounts under the tree, with paths inside it; `is_chroot` is true. In a chroot without /proc (`imgplay_chroot_mounts: false`) there is no mount table, and as in Ansible 2.14 (whose hardware collector then fails as a whole) there are no hardware, mount or lvm facts at all, and no `cmdline`.\n\n" +
        "`service_mgr` in a chroot follows Ansible's rules for a target whose PID 1 it cannot see (as under `community.general.chroot`): the tree's `/sbin/init` link (`systemd` when systemd-sysv is installed), then systemctl with a running systemd, upstart, openrc, `/etc/init.d` (`sysvinit`), else `service`.",
      returns: "`ansible_facts`: the facts, named as Ansible names them (`ansible_distribution`, `ansible_lsb`, `ansible_date_time`, `ansible_mounts`, ...), plus `gather_subset` and `module_setup`.",
      differences: [
        'Not gathered (in `all`, they are left out; asked for by name, the subset is refused): `caps` (`ansible_system_capabilities`, `ansible_system_capabilities_enforced`: Ansible runs capsh), `devices` (`ansible_devices`, `ansible_device_links`), `facter`, `ohai`. `ansible_lvm` is left out when the target has LVM\'s `vgs` (Ansible would run it).',
        '`fact_path` local facts: `ansible_local` is `{}` (in `ansible_facts` it keeps its prefix, as in Ansible); a target with `*.fact` files in /etc/ansible/facts.d fails the task rather than ignore them. `fact_path` other than the default is refused.',
        '`ansible_date_time` is the controller clock in the controller zone (Ansible inside a chroot uses the tree\'s /etc/localtime).',
        '`ansible_lsb` is computed from the tree\'s os-release when it has lsb_release (Debian\'s lsb_release reads the same file) instead of running it.',
        '`ansible_mounts` uuids come from /dev/disk/by-uuid (Ansible asks lsblk).',
        'Network facts (`ansible_interfaces`, `ansible_<iface>`, `ansible_default_ipv4`/`ipv6`, `ansible_all_ipv4_addresses`) come from /sys/class/net, getifaddrs and /proc/net/route; the default route is the lowest-metric default (Ansible asks `ip route get 8.8.8.8`), a broadcast address is computed from the prefix, and interface features/timestamping (ethtool) are not gathered. In a chroot without `ip` there are none, as with Ansible.',
        '`ansible_python` is present only when the target has /usr/bin/python3 (Ansible needs one to run at all).',
      ],
    },
    args: {
      gather_subset: { type: 'list', elements: 'str', default: ['all'], description: "Which facts: `all`, `min`, `hardware`, `network`, `virtual` or a collector's name (`distribution`, `lsb`, `service_mgr`, `date_time`, `platform`, `user`, `env`, `dns`, `python`, `selinux`, `apparmor`, `fips`, `cmdline`, `pkg_mgr`, `ssh_pub_keys`, `local`, `chroot`, `loadavg`), or `!name` to leave one out. The minimal set is always gathered unless `!min` is given. `caps`, `devices`, `facter` and `ohai` are refused." },
      gather_timeout: { type: 'int', default: 10, description: 'Accepted for compatibility: imgplay gathers in milliseconds and never waits on a slow mount.' },
      filter: { type: 'list', elements: 'str', default: [], description: 'Return only the facts whose names match one of these shell patterns (`ansible_*_mb`, `ansible_distribution*`); a pattern without `ansible_` also tries it with.' },
      fact_path: { type: 'path', default: '/etc/ansible/facts.d', description: 'Where local facts would be read; only the default is accepted (see differences).' },
    },
    checkMode: 'full',
  },
  async ({ conn, args }) => {
    if (args.fact_path !== '/etc/ansible/facts.d') return { failed: true, changed: false, msg: 'imgplay does not read local facts: fact_path must stay /etc/ansible/facts.d' };
    const { names, error } = collectorsFor(args.gather_subset);
    if (error !== undefined) return { failed: true, changed: false, msg: error };
    const src = F.factSource(conn);
    const raw: F.Facts = {};
    try {
      // Collectors that read others' facts run after them; the rest run at once.
      const first = ['platform', 'distribution'].filter((n) => names.has(n));
      for (const n of first) Object.assign(raw, await COLLECTORS[n]!(src, raw));
      const rest = [...names].filter((n) => !first.includes(n));
      // Ansible's Linux hardware collector (mounts and lvm included) gives nothing without a mount table.
      const noHardware = HARDWARE_PART.some((n) => names.has(n)) && !(await F.hasMountTable(src));
      const run = rest.filter((n) => !(noHardware && HARDWARE_PART.includes(n)));
      for (const f of await Promise.all(run.map((n) => COLLECTORS[n]!(src, raw)))) Object.assign(raw, f);
    } catch (err) {
      return { failed: true, changed: false, msg: err instanceof Error ? err.message : String(err) };
    }
    const all: F.Facts = {};
    for (const k of Object.keys(raw).sort()) all[`ansible_${k}`] = raw[k];
    all.gather_subset = args.gather_subset;
    all.module_setup = true;
    const facts = args.filter.length === 0 ? all : Object.fromEntries(Object.entries(all).filter(([k]) => args.filter.some((p) => factMatches(k, p))));
    // The executor sets each key as a host variable and adds it, without its prefix, to `ansible_facts`, which
    // grows as Ansible's fact cache does: a filtered or partial gather adds to what earlier ones found.
    return { changed: false, ansible_facts: facts };
  },
);

function pick(facts: F.Facts, key: string): F.Facts {
  return key in facts ? { [key]: facts[key] } : {};
}
