// The build host's network facts as Ansible 2.14 gathers them on Linux (network/linux.py): one fact per
// interface from /sys/class/net, addresses, and the default routes. Ansible asks `ip`; the same answers
// come from the kernel's own files and getifaddrs (os.networkInterfaces) without a subprocess.
import { opendir, readFile, readlink, realpath } from 'node:fs/promises';
import os from 'node:os';
import type { Facts, FactSource } from './facts-linux.js';

const INTERFACE_TYPE: Record<string, string> = { '1': 'ether', '32': 'infiniband', '512': 'ppp', '772': 'loopback', '65534': 'tunnel' };

const text = (p: string) => readFile(p, 'utf8').then((t) => t.trim(), () => undefined);

/** The names in a directory in the kernel's order (as Python's glob lists them), not sorted. */
async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const d of await opendir(dir)) out.push(d.name);
  } catch {
    return out;
  }
  return out;
}

function v4Network(address: string, prefix: number): { netmask: string; network: string; broadcast: string } {
  const toInt = (a: string) => a.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const toStr = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const addr = toInt(address);
  return { netmask: toStr(mask), network: toStr((addr & mask) >>> 0), broadcast: toStr((addr | ~mask) >>> 0) };
}

function v6Scope(address: string): string {
  if (address === '::1') return 'host';
  return /^fe[89ab]/i.test(address) ? 'link' : 'global';
}

function hexToV4(hex: string): string {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}

function hexToV6(hex: string): string {
  const groups = hex.match(/.{4}/g)!.map((g) => parseInt(g, 16).toString(16));
  // The longest run of zero groups becomes '::', as ip prints it.
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best[1]! && j - i > 1) best = [i, j - i];
    i = j;
  }
  if (best[0]! < 0) return groups.join(':');
  return `${groups.slice(0, best[0]).join(':')}::${groups.slice(best[0]! + best[1]!).join(':')}`;
}

/**
 * interfaces, ansible_<iface>, all_ipv4/6_addresses, default_ipv4/6. In a chroot Ansible needs the
 * tree's `ip`: without one it reports no network facts, and neither does this.
 */
export async function networkFacts(src: FactSource): Promise<Facts> {
  if (src.conn.kind !== 'local' && !(await anyExists(src, ['/sbin/ip', '/bin/ip', '/usr/sbin/ip', '/usr/bin/ip']))) return {};
  const addrs = os.networkInterfaces();
  const facts: Facts = {};
  const interfaces: Record<string, Record<string, unknown>> = {};
  const all4: string[] = [];
  const all6: string[] = [];
  // Each interface's files are read at once; the kernel's order of interfaces is kept.
  const devices = await entries('/sys/class/net');
  const infos = await Promise.all(devices.map(async (device) => {
    const path = `/sys/class/net/${device}`;
    const info: Record<string, unknown> = { device };
    const mac = await text(`${path}/address`);
    if (mac === undefined && (await text(`${path}/mtu`)) === undefined) return undefined;
    if (mac && mac !== '00:00:00:00:00:00') info.macaddress = mac;
    const mtu = await text(`${path}/mtu`);
    if (mtu !== undefined) info.mtu = Number(mtu);
    const oper = await text(`${path}/operstate`);
    if (oper !== undefined) info.active = oper !== 'down';
    const mod = await realpath(`${path}/device/driver/module`).catch(() => undefined);
    if (mod !== undefined) info.module = mod.split('/').pop();
    const type = await text(`${path}/type`);
    if (type !== undefined) info.type = INTERFACE_TYPE[type] ?? 'unknown';
    if ((await text(`${path}/bridge/bridge_id`)) !== undefined) {
      info.type = 'bridge';
      info.interfaces = await entries(`${path}/brif`);
      info.id = await text(`${path}/bridge/bridge_id`);
      info.stp = (await text(`${path}/bridge/stp_state`)) === '1';
    }
    const pci = await readlink(`${path}/device`).catch(() => undefined);
    if (pci !== undefined) info.pciid = pci.split('/').pop();
    const speed = await text(`${path}/speed`);
    if (speed !== undefined && /^-?\d+$/.test(speed)) info.speed = Number(speed);
    const flags = await text(`${path}/flags`);
    if (flags !== undefined) info.promisc = (parseInt(flags, 16) & 0x100) > 0;
    const v4 = (addrs[device] ?? []).filter((a) => a.family === 'IPv4');
    const v6 = (addrs[device] ?? []).filter((a) => a.family === 'IPv6');
    v4.forEach((a, i) => {
      const prefix = Number(a.cidr?.split('/')[1] ?? 32);
      const net = v4Network(a.address, prefix);
      const entry = { address: a.address, broadcast: info.type === 'loopback' ? '' : net.broadcast, netmask: net.netmask, network: net.network, prefix: String(prefix) };
      if (i === 0) info.ipv4 = entry;
      else ((info.ipv4_secondaries ??= []) as unknown[]).push(entry);
    });
    if (v6.length > 0) info.ipv6 = v6.map((a) => ({ address: a.address, prefix: a.cidr?.split('/')[1] ?? '128', scope: v6Scope(a.address) }));
    return { device, info, v4: v4.map((a) => a.address).filter((a) => !a.startsWith('127.')), v6: v6.map((a) => a.address).filter((a) => a !== '::1') };
  }));
  for (const found of infos) {
    if (found === undefined) continue;
    interfaces[found.device] = found.info;
    all4.push(...found.v4);
    all6.push(...found.v6);
  }
  const defaults = await defaultRoutes();
  for (const [family, route] of Object.entries(defaults)) {
    const iface = interfaces[route.interface];
    if (iface === undefined) continue;
    const base: Record<string, unknown> = { interface: route.interface, gateway: route.gateway };
    if (family === 'v4') {
      const ipv4 = iface.ipv4 as Record<string, string> | undefined;
      Object.assign(base, ipv4 ?? {}, { alias: route.interface, macaddress: iface.macaddress ?? 'unknown', mtu: iface.mtu, type: iface.type ?? 'unknown' });
      facts.default_ipv4 = base;
    } else {
      const ipv6 = ((iface.ipv6 as Record<string, string>[] | undefined) ?? []).find((a) => a.scope === 'global') ?? (iface.ipv6 as Record<string, string>[] | undefined)?.[0];
      Object.assign(base, ipv6 ?? {}, { macaddress: iface.macaddress ?? 'unknown', mtu: iface.mtu, type: iface.type ?? 'unknown' });
      facts.default_ipv6 = base;
    }
  }
  facts.default_ipv4 ??= {};
  facts.default_ipv6 ??= {};
  facts.interfaces = Object.keys(interfaces);
  for (const [name, info] of Object.entries(interfaces)) facts[name.replace(/-/g, '_')] = info;
  facts.all_ipv4_addresses = all4;
  facts.all_ipv6_addresses = all6;
  return facts;
}

async function anyExists(src: FactSource, paths: string[]): Promise<boolean> {
  for (const p of paths) if (await src.targetExists(p)) return true;
  return false;
}

/** The default routes (lowest metric) from /proc/net/route and /proc/net/ipv6_route. */
async function defaultRoutes(): Promise<Record<string, { interface: string; gateway: string }>> {
  const out: Record<string, { interface: string; gateway: string; metric: number }> = {};
  for (const line of ((await text('/proc/net/route')) ?? '').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] !== '00000000' || f[7] !== '00000000') continue;
    const metric = Number(f[6]);
    if (out.v4 === undefined || metric < out.v4.metric) out.v4 = { interface: f[0]!, gateway: hexToV4(f[2]!), metric };
  }
  for (const line of ((await text('/proc/net/ipv6_route')) ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^0{32}$/.test(f[0]!) || f[1] !== '00' || f[9] === 'lo') continue;
    const metric = parseInt(f[5]!, 16);
    if (out.v6 === undefined || metric < out.v6.metric) out.v6 = { interface: f[9]!, gateway: hexToV6(f[4]!), metric };
  }
  return out;
}
