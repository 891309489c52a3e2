// The facts Ansible 2.14's setup module gathers on Linux, by its collectors' rules, read with Node:
// no Python, no subprocess but the target's python3 (for `python`) and `env` in a chroot. A chroot's
// facts describe the tree (its os-release, passwd, init); the kernel, CPUs, memory and virtualization
// are the build host's, as Ansible reports them inside a chroot.
import { access, open, readdir, readFile, readlink, statfs } from 'node:fs/promises';
import { lookup, lookupService } from 'node:dns/promises';
import os from 'node:os';
import type { Connection } from '../../connection/types.js';

export type Facts = Record<string, unknown>;

/** What a collector sees: the target's files through the connection, the host's kernel files directly. */
export interface FactSource {
  readonly conn: Connection;
  /** A target file's text, or undefined when it cannot be read. */
  target(path: string): Promise<string | undefined>;
  /** Whether a target path exists. */
  targetExists(path: string): Promise<boolean>;
}

/** A FactSource over a connection. */
export function factSource(conn: Connection): FactSource {
  const resolve = (p: string) => (conn.kind === 'local' ? Promise.resolve(p) : conn.hostPath(p));
  return {
    conn,
    target: async (p) => readFile(await resolve(p), 'utf8').catch(() => undefined),
    targetExists: async (p) => {
      try {
        await access(await resolve(p).catch(() => '/nonexistent/\0'));
        return true;
      } catch {
        return false;
      }
    },
  };
}

const hostText = (p: string) => readFile(p, 'utf8').catch(() => undefined);
const hostExists = (p: string) => access(p).then(() => true, () => false);

/** Parses os-release text (KEY=value, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

// Ansible's OS_FAMILY_MAP, reduced to the families a Debian build host meets; others fall back to the name.
const OS_FAMILY: Record<string, string> = {
  Debian: 'Debian', Ubuntu: 'Debian', Raspbian: 'Debian', Neon: 'Debian', KDE: 'Debian', SteamOS: 'Debian', Devuan: 'Debian',
  Kali: 'Debian', Parrot: 'Debian', Pop: 'Debian', Linuxmint: 'Debian', Cumulus: 'Debian', Uos: 'Debian', Deepin: 'Debian', Osmc: 'Debian',
  Redhat: 'RedHat', Fedora: 'RedHat', Centos: 'RedHat', Rocky: 'RedHat', Almalinux: 'RedHat', Amazon: 'RedHat', Oraclelinux: 'RedHat',
  Archlinux: 'Archlinux', Arch: 'Archlinux', Manjaro: 'Archlinux', Alpine: 'Alpine', Gentoo: 'Gentoo', Opensuse: 'Suse', Sles: 'Suse',
};

/** distribution, distribution_version/major/minor/release, distribution_file_*, os_family (distribution.py + distro). */
export async function distributionFacts(src: FactSource): Promise<Facts> {
  const osText = (await src.target('/etc/os-release')) ?? (await src.target('/usr/lib/os-release'));
  const osr = parseOsRelease(osText ?? '');
  const id = (osr.ID ?? '').toLowerCase();
  const name = id === '' ? 'OtherLinux' : id === 'rhel' ? 'Redhat' : id === 'amzn' ? 'Amazon' : id.charAt(0).toUpperCase() + id.slice(1);
  let version = osr.VERSION_ID ?? '';
  const debianVersion = (await src.target('/etc/debian_version'))?.trim();
  // Ansible asks the `distro` library for Debian's "best" version: the target's own python3-distro when
  // it has one, else the copy bundled with Ansible (1.6). Only distro 1.7 and later count
  // /etc/debian_version (12.15); before, os-release's VERSION_ID (12) is the most precise it knows.
  if (id === 'debian' && debianVersion !== undefined && /^\d+(\.\d+)*$/.test(debianVersion) && debianVersion.split('.').length > version.split('.').length && (await distroReadsDebianVersion(src))) version = debianVersion;
  const facts: Facts = {
    distribution: name,
    distribution_version: version,
    distribution_release: osr.VERSION_CODENAME ?? osr.UBUNTU_CODENAME ?? 'NA',
    distribution_major_version: version === '' ? 'NA' : version.split('.')[0],
    os_family: OS_FAMILY[name] ?? name,
  };
  if (osText !== undefined && /Debian|Raspbian/.test(osText)) {
    facts.distribution = 'Debian';
    facts.os_family = 'Debian';
    const rel = /PRETTY_NAME=[^(]+ \(?([^)]+?)\)/.exec(osText);
    if (rel) facts.distribution_release = rel[1];
    const minor = /(\d+)\.(\d+)/.exec(debianVersion ?? '');
    if (minor) facts.distribution_minor_version = minor[2];
    Object.assign(facts, { distribution_file_parsed: true, distribution_file_path: '/etc/os-release', distribution_file_variety: 'Debian' });
  } else if (osText !== undefined && /Ubuntu/.test(osText)) {
    facts.distribution = 'Ubuntu';
    facts.os_family = 'Debian';
    Object.assign(facts, { distribution_file_parsed: true, distribution_file_path: '/etc/os-release', distribution_file_variety: 'Debian' });
  }
  if (facts.distribution_minor_version === undefined) {
    const parts = version.split('.');
    facts.distribution_minor_version = parts.length > 1 ? parts[1] : 'NA';
  }
  return facts;
}

async function distroReadsDebianVersion(src: FactSource): Promise<boolean> {
  for (const file of ['/usr/lib/python3/dist-packages/distro/distro.py', '/usr/lib/python3/dist-packages/distro.py']) {
    const text = await src.target(file);
    const m = text === undefined ? null : /^__version__ = "(\d+)\.(\d+)/m.exec(text);
    if (m) return Number(m[1]) > 1 || Number(m[2]) >= 7;
  }
  return false;
}

/** lsb: lsb_release's answer when the target has it (Debian's reads os-release), else /etc/lsb-release, else {}. */
export async function lsbFacts(src: FactSource, dist: Facts): Promise<Facts> {
  const lsb: Record<string, string> = {};
  if ((await src.targetExists('/usr/bin/lsb_release')) || (await src.targetExists('/bin/lsb_release'))) {
    const osr = parseOsRelease((await src.target('/etc/os-release')) ?? (await src.target('/usr/lib/os-release')) ?? '');
    const id = osr.NAME?.split(' ')[0] ?? String(dist.distribution ?? '');
    Object.assign(lsb, { id, description: osr.PRETTY_NAME ?? '', release: osr.VERSION_ID ?? 'n/a', codename: osr.VERSION_CODENAME ?? 'n/a' });
  } else {
    for (const line of ((await src.target('/etc/lsb-release')) ?? '').split('\n')) {
      const m = /^DISTRIB_(ID|RELEASE|DESCRIPTION|CODENAME)=(.*)$/.exec(line.trim());
      if (m) lsb[m[1]!.toLowerCase()] = m[2]!.trim().replace(/^["']+|["']+$/g, '');
    }
  }
  if (lsb.release !== undefined) lsb.major_release = lsb.release.split('.')[0]!;
  return { lsb };
}

async function targetBin(src: FactSource, name: string): Promise<boolean> {
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (await src.targetExists(`${dir}/${name}`)) return true;
  return false;
}

/**
 * service_mgr by service_mgr.py's order. Locally PID 1's name decides. In a chroot PID 1 is the build
 * host's init, not the tree's: the tree is judged as Ansible judges a target without /proc
 * (community.general.chroot's view): the /sbin/init link, then systemd/upstart/openrc/sysvinit markers.
 */
export async function serviceMgrFacts(src: FactSource): Promise<Facts> {
  const MAP: Record<string, string> = { procd: 'openwrt_init', 'runit-init': 'runit', svscan: 'svc', 'openrc-init': 'openrc' };
  let proc1: string | undefined = src.conn.kind === 'local' ? await hostText('/proc/1/comm') : undefined;
  if (proc1 === undefined) {
    const initPath = src.conn.kind === 'local' ? '/sbin/init' : await src.conn.hostPath('/sbin/init', { followLast: false }).catch(() => undefined);
    proc1 = initPath === undefined ? undefined : await readlink(initPath).catch(() => undefined);
  }
  if (proc1 !== undefined) proc1 = proc1.split('/').pop()!.trim();
  if (proc1 === 'init' || proc1?.endsWith('sh') || proc1 === '') proc1 = undefined;
  if (proc1 !== undefined) return { service_mgr: MAP[proc1] ?? proc1 };
  const systemctl = await targetBin(src, 'systemctl');
  if (systemctl && (await anyExists(src, ['/run/systemd/system/', '/dev/.run/systemd/', '/dev/.systemd/']))) return { service_mgr: 'systemd' };
  if ((await targetBin(src, 'initctl')) && (await src.targetExists('/etc/init/'))) return { service_mgr: 'upstart' };
  if (await src.targetExists('/sbin/openrc')) return { service_mgr: 'openrc' };
  if (await src.targetExists('/etc/init.d/')) return { service_mgr: 'sysvinit' };
  return { service_mgr: 'service' };
}

async function anyExists(src: FactSource, paths: string[]): Promise<boolean> {
  for (const p of paths) if (await src.targetExists(p)) return true;
  return false;
}

/** pkg_mgr: apt for the Debian family (apt_rpm when only rpm is there), else the first manager found. */
export async function pkgMgrFacts(src: FactSource, dist: Facts): Promise<Facts> {
  if (dist.os_family === 'Debian') return { pkg_mgr: 'apt' };
  const known: [string, string][] = [['/usr/bin/dnf', 'dnf'], ['/usr/bin/yum', 'yum'], ['/sbin/apk', 'apk'], ['/usr/bin/pacman', 'pacman'], ['/usr/bin/zypper', 'zypper'], ['/usr/bin/apt-get', 'apt']];
  for (const [path, name] of known) if (await src.targetExists(path)) return { pkg_mgr: name };
  return { pkg_mgr: 'unknown' };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** date_time: the controller's clock in its local zone, with Ansible's keys and string values. */
export function dateTimeFacts(now = new Date()): Facts {
  const local = new Date(now.getTime());
  const y = local.getFullYear();
  const start = new Date(y, 0, 1);
  const yday = Math.floor((Date.UTC(y, local.getMonth(), local.getDate()) - Date.UTC(y, 0, 1)) / 86_400_000);
  // strftime %W: weeks starting Monday; days before the first Monday are week 0.
  const week = Math.floor((yday + 7 - ((local.getDay() + 6) % 7)) / 7);
  void start;
  const offsetMin = -local.getTimezoneOffset();
  const sign = offsetMin >= 0 ? '+' : '-';
  const tzOffset = `${sign}${pad(Math.floor(Math.abs(offsetMin) / 60))}${pad(Math.abs(offsetMin) % 60)}`;
  const zoneName = (d: Date) => new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
  const dstProbe = new Date(y, 6, 1).getTimezoneOffset() !== new Date(y, 0, 1).getTimezoneOffset() ? new Date(y, 6, 1) : local;
  const micro = pad(local.getMilliseconds(), 3) + '000';
  const date = `${y}-${pad(local.getMonth() + 1)}-${pad(local.getDate())}`;
  const time = `${pad(local.getHours())}:${pad(local.getMinutes())}:${pad(local.getSeconds())}`;
  const utc = now.toISOString();
  const epoch = String(Math.floor(now.getTime() / 1000));
  const basic = `${y}${pad(local.getMonth() + 1)}${pad(local.getDate())}T${pad(local.getHours())}${pad(local.getMinutes())}${pad(local.getSeconds())}`;
  return {
    date_time: {
      year: String(y), month: pad(local.getMonth() + 1), weekday: local.toLocaleDateString('en-US', { weekday: 'long' }),
      weekday_number: String(local.getDay()), weeknumber: pad(week), day: pad(local.getDate()), hour: pad(local.getHours()),
      minute: pad(local.getMinutes()), second: pad(local.getSeconds()), epoch, epoch_int: epoch, date, time,
      iso8601_micro: `${utc.slice(0, 19)}.${pad(now.getUTCMilliseconds(), 3)}000Z`, iso8601: `${utc.slice(0, 19)}Z`,
      iso8601_basic: basic + micro, iso8601_basic_short: basic, tz: zoneName(local), tz_dst: zoneName(dstProbe), tz_offset: tzOffset,
    },
  };
}

/**
 * Python's socket.getfqdn(name): the names of the address the name resolves to, the first with a dot,
 * else the first. Resolved through the target's /etc/hosts; the build host also asks its resolver
 * when its hosts file does not know the name (a tree's resolver is not consulted: no DNS from a build).
 */
export async function fqdnOf(src: FactSource, name: string): Promise<string> {
  const entries = ((await src.target('/etc/hosts')) ?? '')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim().split(/\s+/))
    .filter((f) => f.length >= 2);
  const byName = entries.find((f) => f.slice(1).includes(name));
  let names: string[] | undefined;
  if (byName !== undefined) names = entries.find((f) => f[0] === byName[0])!.slice(1);
  else if (src.conn.kind === 'local') {
    try {
      const { address } = await lookup(name, { family: 4 });
      names = [(await lookupService(address, 0)).hostname];
    } catch {
      names = undefined;
    }
  }
  if (names === undefined) return name;
  return names.find((n) => n.includes('.')) ?? names[0]!;
}

/** platform: system, kernel, kernel_version, machine, architecture, userspace_*, hostname, nodename, fqdn, domain, machine_id. */
export async function platformFacts(src: FactSource): Promise<Facts> {
  const node = os.hostname();
  const fqdn = await fqdnOf(src, node);
  const machine = os.machine();
  const arch = /^i[3-6]86$/.test(machine) ? 'i386' : machine;
  const machineId = (await src.target('/var/lib/dbus/machine-id')) ?? (await src.target('/etc/machine-id'));
  const facts: Facts = {
    system: os.type(),
    kernel: os.release(),
    kernel_version: os.version(),
    machine,
    python_version: undefined,
    fqdn,
    hostname: node.split('.')[0],
    nodename: node,
    domain: fqdn.includes('.') ? fqdn.slice(fqdn.indexOf('.') + 1) : '',
    userspace_bits: undefined,
    architecture: arch,
    userspace_architecture: undefined,
  };
  delete facts.python_version;
  // Python's platform.architecture() reads the interpreter's ELF class; the tree's /bin/sh tells the same.
  const elf = await readElfClass(src);
  facts.userspace_bits = elf === 1 ? '32' : '64';
  facts.userspace_architecture = arch === 'x86_64' && elf === 1 ? 'i386' : arch;
  if (machineId !== undefined && machineId.trim() !== '') facts.machine_id = machineId.trim();
  return facts;
}

async function readElfClass(src: FactSource): Promise<number | undefined> {
  try {
    const path = src.conn.kind === 'local' ? '/bin/sh' : await src.conn.hostPath('/bin/sh');
    // The ELF header's first five bytes say it; the shell itself is a megabyte.
    const fh = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(5), 0, 5, 0);
      return bytesRead === 5 && buffer.subarray(0, 4).toString('latin1') === '\x7fELF' ? buffer[4] : undefined;
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/** user: the account the tasks run as, from the target's passwd; ids of this process (root in a chroot too). */
export async function userFacts(src: FactSource): Promise<Facts> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const euid = process.geteuid?.() ?? uid;
  const egid = process.getegid?.() ?? gid;
  const line = ((await src.target('/etc/passwd')) ?? '').split('\n').map((l) => l.split(':')).find((f) => f.length >= 7 && f[2] === String(euid));
  return {
    user_id: line?.[0] ?? os.userInfo().username,
    user_uid: euid,
    user_gid: line ? Number(line[3]) : egid,
    user_gecos: line?.[4]?.split(',')[0] ?? '',
    user_dir: line?.[5] ?? os.homedir(),
    user_shell: line?.[6] ?? '',
    real_user_id: uid,
    effective_user_id: euid,
    real_group_id: gid,
    effective_group_id: egid,
  };
}

/** env: the environment a task sees (the process's locally, `env` run inside a chroot). */
export async function envFacts(src: FactSource): Promise<Facts> {
  if (src.conn.kind === 'local') return { env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)) };
  const r = await src.conn.exec(['env']);
  const env: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { env };
}

/** cmdline and proc_cmdline: the running kernel's command line, as the target's /proc shows it (none in a
 *  chroot without /proc, as for Ansible there). */
export async function cmdlineFacts(src: FactSource): Promise<Facts> {
  const text = await src.target('/proc/cmdline');
  if (text === undefined) return {};
  const cmdline: Record<string, string | boolean> = {};
  const proc: Record<string, unknown> = {};
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    const [k, v] = eq < 0 ? [word, true as const] : [word.slice(0, eq), word.slice(eq + 1)];
    cmdline[k] = v;
    const prev = proc[k];
    proc[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { cmdline, proc_cmdline: proc };
}

/** selinux, apparmor, fips: the running kernel's state (its selinuxfs, apparmor module, fips switch), as the
 *  target's /sys and /proc show it. */
export async function securityFacts(src: FactSource, which: Set<string>): Promise<Facts> {
  const facts: Facts = {};
  if (which.has('selinux')) {
    // Without the Python selinux binding Ansible says only that it is missing; Debian's ansible has it.
    const enforce = await src.target('/sys/fs/selinux/enforce');
    facts.selinux = enforce === undefined ? { status: 'disabled' } : { status: 'enabled', mode: enforce.trim() === '1' ? 'enforcing' : 'permissive' };
    facts.selinux_python_present = true;
  }
  if (which.has('apparmor')) facts.apparmor = { status: (await src.targetExists('/sys/kernel/security/apparmor')) ? 'enabled' : 'disabled' };
  if (which.has('fips')) facts.fips = (await src.target('/proc/sys/crypto/fips_enabled'))?.trim() === '1';
  return facts;
}

/** dns: nameservers, domain, search and options from the target's resolv.conf. */
export async function dnsFacts(src: FactSource): Promise<Facts> {
  const dns: Record<string, unknown> = {};
  for (const raw of ((await src.target('/etc/resolv.conf')) ?? '').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0] !== undefined) ((dns.nameservers ??= []) as string[]).push(rest[0]);
    else if (key === 'domain' && rest[0] !== undefined) dns.domain = rest[0];
    else if (key === 'search') dns.search = [...((dns.search as string[] | undefined) ?? []), ...rest];
    else if (key === 'sortlist') dns.sortlist = [...((dns.sortlist as string[] | undefined) ?? []), ...rest];
    else if (key === 'options') {
      const opts = (dns.options ??= {}) as Record<string, string | boolean>;
      for (const o of rest) {
        const c = o.indexOf(':');
        if (c < 0) opts[o] = true;
        else opts[o.slice(0, c)] = o.slice(c + 1);
      }
    }
  }
  return { dns };
}

/**
 * python: the target's /usr/bin/python3, the interpreter Ansible would run there. Starting it costs
 * 30-150 ms, so a Debian-packaged one is read from its package's version (3.11.2-6 is Python 3.11.2);
 * any other is asked.
 */
export async function pythonFacts(src: FactSource): Promise<Facts> {
  if (!(await src.targetExists('/usr/bin/python3'))) return {};
  const fromDpkg = await pythonFromDpkg(src);
  const found = fromDpkg ?? (await pythonFromRun(src));
  if (found === undefined) return {};
  const [major, minor, micro, level, serial] = found;
  return {
    python: {
      version: { major, minor, micro, releaselevel: level, serial },
      version_info: [major, minor, micro, level, serial],
      executable: '/usr/bin/python3',
      has_sslcontext: true,
      type: 'cpython',
    },
    python_version: `${major}.${minor}.${micro}`,
  };
}

type PyVersion = [number, number, number, string, number];

async function pythonFromDpkg(src: FactSource): Promise<PyVersion | undefined> {
  const path = src.conn.kind === 'local' ? '/usr/bin/python3' : await src.conn.hostPath('/usr/bin/python3', { followLast: false }).catch(() => undefined);
  const link = path === undefined ? undefined : await readlink(path).catch(() => undefined);
  const mm = link === undefined ? undefined : /^(?:.*\/)?python(\d+)\.(\d+)$/.exec(link);
  if (!mm) return undefined;
  // The status file runs to megabytes: search its bytes, decode one stanza.
  const status = await readFile(src.conn.kind === 'local' ? '/var/lib/dpkg/status' : await src.conn.hostPath('/var/lib/dpkg/status')).catch(() => Buffer.alloc(0));
  const at = status.indexOf(`\nPackage: python${mm[1]}.${mm[2]}-minimal\n`);
  if (at < 0) return undefined;
  const end = status.indexOf('\n\n', at + 1);
  const stanza = status.subarray(at, end < 0 ? undefined : end).toString('utf8');
  const v = /\nVersion: (?:\d+:)?(\d+)\.(\d+)\.(\d+)(?:~?(a|b|rc)(\d+))?/.exec(stanza);
  if (!/\nStatus: install ok installed/.test(stanza) || !v || v[1] !== mm[1] || v[2] !== mm[2]) return undefined;
  const level = v[4] === undefined ? 'final' : v[4] === 'a' ? 'alpha' : v[4] === 'b' ? 'beta' : 'candidate';
  return [Number(v[1]), Number(v[2]), Number(v[3]), level, v[5] === undefined ? 0 : Number(v[5])];
}

async function pythonFromRun(src: FactSource): Promise<PyVersion | undefined> {
  const r = await src.conn.exec(['/usr/bin/python3', '-c', 'import sys,json;print(json.dumps(list(sys.version_info)))']);
  if (r.rc !== 0) return undefined;
  try {
    const v = JSON.parse(r.stdout) as unknown;
    return Array.isArray(v) && v.length === 5 ? (v as PyVersion) : undefined;
  } catch {
    return undefined;
  }
}

/** is_chroot: whether the target is a chroot (a connection fact here, as Ansible's / vs /proc/1/root test). */
export function chrootFacts(src: FactSource): Facts {
  return { is_chroot: src.conn.kind === 'chroot' };
}

/** memory: memtotal_mb, memfree_mb, swaptotal_mb, swapfree_mb and memory_mb from /proc/meminfo. */
export async function memoryFacts(src: FactSource): Promise<Facts> {
  const kb: Record<string, number> = {};
  for (const line of ((await src.target('/proc/meminfo')) ?? '').split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (m) kb[m[1]!] = Number(m[2]);
  }
  if (kb.MemTotal === undefined) return {};
  const mb = (k: string) => Math.floor((kb[k] ?? 0) / 1024);
  const total = mb('MemTotal');
  const free = mb('MemFree');
  const nocacheFree = free + mb('Buffers') + mb('Cached');
  const swapTotal = mb('SwapTotal');
  const swapFree = mb('SwapFree');
  return {
    memtotal_mb: total,
    memfree_mb: free,
    swaptotal_mb: swapTotal,
    swapfree_mb: swapFree,
    memory_mb: {
      real: { total, used: total - free, free },
      nocache: { free: nocacheFree, used: total - nocacheFree },
      swap: { total: swapTotal, free: swapFree, used: swapTotal - swapFree, cached: mb('SwapCached') },
    },
  };
}

/** processor, processor_count/cores/threads_per_core/vcpus/nproc from /proc/cpuinfo (x86 and ARM layouts). */
export async function cpuFacts(src: FactSource): Promise<Facts> {
  const text = await src.target('/proc/cpuinfo');
  if (text === undefined) return {};
  const processor: string[] = [];
  let vendor = 0;
  let model = 0;
  let procs = 0;
  let physid = '0';
  let coreid = '0';
  const sockets = new Map<string, number>();
  const cores = new Map<string, number>();
  let coresFact: number | undefined;
  for (const line of text.split('\n')) {
    const c = line.indexOf(':');
    const key = (c < 0 ? line : line.slice(0, c)).trim();
    const val = c < 0 ? '' : line.slice(c + 1).trim();
    if (['model name', 'Processor', 'vendor_id', 'cpu', 'Vendor', 'processor'].includes(key)) {
      processor.push(val);
      if (key === 'vendor_id') vendor++;
      if (key === 'model name') model++;
      if (key === 'processor') procs++;
    } else if (key === 'physical id') {
      physid = val;
      if (!sockets.has(physid)) sockets.set(physid, 1);
    } else if (key === 'core id') {
      coreid = val;
      if (!sockets.has(coreid)) cores.set(coreid, 1);
    } else if (key === 'cpu cores') sockets.set(physid, Number(val));
    else if (key === 'siblings') cores.set(coreid, Number(val));
  }
  const count = vendor > 0 && vendor === model ? vendor : procs;
  const processorCount = sockets.size > 0 ? sockets.size : count;
  const first = [...sockets.values()][0];
  coresFact = first ? first : 1;
  const coreValues = [...cores.values()];
  const threads = coreValues.length > 0 ? Math.floor(coreValues[0]! / coresFact) : Math.floor(1 / coresFact);
  return {
    processor,
    processor_count: processorCount,
    processor_cores: coresFact,
    processor_threads_per_core: threads,
    processor_vcpus: threads * processorCount * coresFact,
    processor_nproc: os.availableParallelism(),
  };
}

/** loadavg from the running kernel. */
export function loadavgFacts(): Facts {
  const [one, five, fifteen] = os.loadavg();
  return { loadavg: { '1m': one, '5m': five, '15m': fifteen } };
}

/** uptime_seconds from the target's /proc/uptime. */
export async function uptimeFacts(src: FactSource): Promise<Facts> {
  const text = await src.target('/proc/uptime');
  const seconds = text === undefined ? NaN : Number(text.split(' ')[0]);
  return Number.isFinite(seconds) ? { uptime_seconds: Math.floor(seconds) } : {};
}

/** Whether the target has a mount table (/etc/mtab, else /proc/mounts): without one Ansible 2.14's Linux
 *  hardware collector fails as a whole (its mount scan starts a pool of zero threads), so a chroot without
 *  /proc gets no hardware, mounts or lvm facts at all. */
export async function hasMountTable(src: FactSource): Promise<boolean> {
  const mtab = (await src.target('/etc/mtab')) ?? (await src.target('/proc/mounts')) ?? '';
  return mtab.trim() !== '';
}

const DMI: [string, string][] = [
  ['bios_date', 'bios_date'], ['bios_vendor', 'bios_vendor'], ['bios_version', 'bios_version'], ['board_asset_tag', 'board_asset_tag'],
  ['board_name', 'board_name'], ['board_serial', 'board_serial'], ['board_vendor', 'board_vendor'], ['board_version', 'board_version'],
  ['chassis_asset_tag', 'chassis_asset_tag'], ['chassis_serial', 'chassis_serial'], ['chassis_vendor', 'chassis_vendor'],
  ['chassis_version', 'chassis_version'], ['product_name', 'product_name'], ['product_serial', 'product_serial'],
  ['product_uuid', 'product_uuid'], ['product_version', 'product_version'], ['system_vendor', 'sys_vendor'],
];
const FORM_FACTORS = ['Unknown', 'Other', 'Unknown', 'Desktop', 'Low Profile Desktop', 'Pizza Box', 'Mini Tower', 'Tower', 'Portable', 'Laptop', 'Notebook', 'Hand Held', 'Docking Station', 'All In One', 'Sub Notebook', 'Space-saving', 'Lunch Box', 'Main Server Chassis', 'Expansion Chassis', 'Sub Chassis', 'Bus Expansion Chassis', 'Peripheral Chassis', 'RAID Chassis', 'Rack Mount Chassis', 'Sealed-case PC', 'Multi-system', 'CompactPCI', 'AdvancedTCA', 'Blade', 'Blade Enclosure', 'Tablet', 'Convertible', 'Detachable', 'IoT Gateway', 'Embedded PC', 'Mini PC', 'Stick PC'];

/** DMI facts (bios_*, board_*, chassis_*, product_*, system_vendor, form_factor): NA where the firmware says nothing. */
export async function dmiFacts(src: FactSource): Promise<Facts> {
  const facts: Facts = {};
  for (const [fact, file] of DMI) {
    const v = await src.target(`/sys/devices/virtual/dmi/id/${file}`);
    facts[fact] = v === undefined ? 'NA' : v.trim();
  }
  const chassis = await src.target('/sys/devices/virtual/dmi/id/chassis_type');
  facts.form_factor = chassis === undefined ? 'NA' : (FORM_FACTORS[Number(chassis.trim())] ?? 'unknown');
  return facts;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * mounts: device-backed mounts with their sizes, as /proc/self/mounts lists them. Inside a chroot a
 * process sees only the mounts under its root, with paths relative to it: so does this.
 */
export async function mountFacts(src: FactSource): Promise<Facts> {
  const root = src.conn.kind === 'local' ? '/' : src.conn.root.replace(/\/+$/, '');
  const uuids = new Map<string, string>();
  for (const name of await readdir('/dev/disk/by-uuid').catch(() => [] as string[])) {
    const target = await readlink(`/dev/disk/by-uuid/${name}`).catch(() => undefined);
    if (target !== undefined) uuids.set(`/dev/${target.split('/').pop()}`, name);
  }
  const binds = new Set<string>();
  for (const line of ((await hostText('/proc/self/mountinfo')) ?? '').split('\n')) {
    const f = line.split(' ');
    if (f.length > 4 && f[3] !== '/') binds.add(unescapeMount(f[4]!));
  }
  const mounts: Facts[] = [];
  for (const line of ((await hostText('/proc/self/mounts')) ?? '').split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    const [device, at, fstype, options] = f.map(unescapeMount) as [string, string, string, string];
    if ((!device.startsWith('/') && !device.startsWith('\\') && !device.includes(':/')) || fstype === 'none') continue;
    let mount = at;
    if (root !== '/') {
      if (at !== root && !at.startsWith(`${root}/`)) continue;
      mount = at === root ? '/' : at.slice(root.length);
    }
    const info: Facts = { mount, device, fstype, options: binds.has(at) && !/bind/.test(options) ? `${options},bind` : options };
    try {
      const s = await statfs(at);
      Object.assign(info, {
        size_total: s.bsize * s.blocks, size_available: s.bsize * s.bavail, block_size: s.bsize, block_total: s.blocks,
        block_available: s.bavail, block_used: s.blocks - s.bavail, inode_total: s.files, inode_available: s.ffree, inode_used: s.files - s.ffree,
      });
    } catch {
      // Ansible leaves the sizes out of a mount it cannot stat.
    }
    info.uuid = uuids.get(device) ?? 'N/A';
    mounts.push(info);
  }
  return { mounts };
}

/** virtualization_type/role/tech_guest/tech_host by virtual/linux.py's order: containers, then DMI, then /dev/kvm. */
export async function virtualFacts(src: FactSource): Promise<Facts> {
  const guest = new Set<string>();
  const host = new Set<string>();
  let type: string | undefined;
  let role: string | undefined;
  const found = (t: string, r: string | undefined, set: Set<string> = guest, tech = t) => {
    set.add(tech);
    if (type === undefined) {
      type = t;
      role = r ?? role;
    }
  };
  for (const line of ((await hostText('/proc/1/cgroup')) ?? '').split('\n')) {
    if (/\/docker(\/|-[0-9a-f]+\.scope)/.test(line)) found('docker', 'guest');
    if (/\/lxc\//.test(line) || /\/machine.slice\/machine-lxc/.test(line)) found('lxc', 'guest');
    if (/\/system.slice\/containerd.service/.test(line)) found('containerd', 'guest');
  }
  for (const line of ((await hostText('/proc/1/environ')) ?? '').split('\0')) {
    if (/container=lxc/.test(line)) found('lxc', 'guest');
    if (/container=podman/.test(line)) found('podman', 'guest');
    if (/^container=./.test(line)) found('container', 'guest');
  }
  if ((await hostExists('/proc/vz')) && !(await hostExists('/proc/lve'))) {
    const isHost = await hostExists('/proc/bc');
    (isHost ? host : guest).add('openvz');
    if (type === undefined) role = isHost ? 'host' : 'guest';
    type = 'openvz';
  }
  const systemdContainer = (await src.target('/run/systemd/container'))?.trim();
  if (systemdContainer) found(systemdContainer, 'guest');
  if ((await src.targetExists('/.dockerenv')) || (await src.targetExists('/.dockerinit'))) found('docker', 'guest');
  if (['docker', 'lxc', 'podman', 'openvz', 'containerd'].some((t) => guest.has(t)) || systemdContainer) guest.add('container');
  const dmi = async (f: string) => (await hostText(`/sys/devices/virtual/dmi/id/${f}`))?.trim();
  const product = await dmi('product_name');
  const vendor = await dmi('sys_vendor');
  const bios = await dmi('bios_vendor');
  if (type === undefined && (await hostExists('/proc/xen'))) {
    const xenHost = /control_d/.test((await hostText('/proc/xen/capabilities')) ?? '');
    (xenHost ? host : guest).add('xen');
    type = 'xen';
    role = xenHost ? 'host' : 'guest';
  }
  role ??= 'guest';
  if (['KVM', 'KVM Server', 'Bochs', 'AHV'].includes(product ?? '')) found('kvm', undefined);
  if (vendor === 'oVirt') found('oVirt', undefined);
  if (['VMware Virtual Platform', 'VMware7,1'].includes(product ?? '')) found('VMware', undefined);
  if (['OpenStack Compute', 'OpenStack Nova'].includes(product ?? '')) found('openstack', undefined);
  if (bios === 'Xen') found('xen', undefined);
  if (bios === 'innotek GmbH') found('virtualbox', undefined);
  if (vendor === 'Microsoft Corporation' && product === 'Virtual Machine') found('VirtualPC', undefined);
  if (vendor === 'QEMU') found('kvm', undefined);
  if (vendor === 'Amazon EC2') found('kvm', undefined);
  if (type === undefined && (await hostExists('/dev/kvm'))) found('kvm', 'host', host);
  return {
    virtualization_type: type ?? 'NA',
    virtualization_role: type === undefined ? 'NA' : role,
    virtualization_tech_guest: [...guest],
    virtualization_tech_host: [...host],
  };
}

/** iscsi_iqn: the initiator name from /etc/iscsi/initiatorname.iscsi, or "". */
export async function iscsiFacts(src: FactSource): Promise<Facts> {
  const line = ((await src.target('/etc/iscsi/initiatorname.iscsi')) ?? '').split('\n').find((l) => l.startsWith('InitiatorName='));
  return { iscsi_iqn: line === undefined ? '' : line.slice('InitiatorName='.length) };
}

/** hostnqn: the NVMe host NQN from /etc/nvme/hostnqn, or "". */
export async function nvmeFacts(src: FactSource): Promise<Facts> {
  const line = ((await src.target('/etc/nvme/hostnqn')) ?? '').split('\n').find((l) => l.startsWith('nqn'));
  return { hostnqn: line ?? '' };
}

/** fibre_channel_wwn: the port names of the build host's FC HBAs (without 0x). */
export async function fcWwnFacts(): Promise<Facts> {
  const wwn: string[] = [];
  for (const host of await readdir('/sys/class/fc_host').catch(() => [] as string[])) {
    const name = (await hostText(`/sys/class/fc_host/${host}/port_name`))?.trim();
    if (name) wwn.push(name.replace(/^0x/, ''));
  }
  return { fibre_channel_wwn: wwn };
}

/** lvm: "N/A" when the target has no vgs (or imgplay does not run as root); undefined when it would have to run LVM's tools. */
export async function lvmFacts(src: FactSource): Promise<Facts> {
  if (process.geteuid?.() !== 0) return { lvm: 'N/A' };
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (await src.targetExists(`${dir}/vgs`)) return {};
  return { lvm: 'N/A' };
}
