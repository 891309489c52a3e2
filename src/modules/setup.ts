// Gathers the facts a build host needs (Ansible's setup module, a small, fast subset).
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Module } from './types.js';

const OS_FAMILY: Record<string, string> = { debian: 'Debian', ubuntu: 'Debian', devuan: 'Debian', linuxmint: 'Debian', raspbian: 'Debian' };

/** Parses /etc/os-release text into its fields. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

export const setup: Module<Record<string, unknown>> = {
  name: 'setup',
  aliases: ['ansible.builtin.setup', 'gather_facts', 'ansible.builtin.gather_facts'],
  schema: { type: 'object', properties: { gather_subset: {}, filter: {}, gather_timeout: {} }, additionalProperties: false },
  checkMode: true,
  async run({ conn }) {
    const osRelease = parseOsRelease(
      await readFile(await conn.hostPath('/etc/os-release'), 'utf8').catch(async () =>
        readFile(await conn.hostPath('/usr/lib/os-release'), 'utf8').catch(() => ''),
      ),
    );
    const id = (osRelease.ID ?? 'linux').toLowerCase();
    const version = osRelease.VERSION_ID ?? '';
    const debianVersion = (await readFile(await conn.hostPath('/etc/debian_version'), 'utf8').catch(() => '')).trim();
    const env =
      conn.kind === 'local'
        ? { ...process.env }
        : parseEnv((await conn.exec('env')).stdout);
    const arch = os.machine();
    const facts: Record<string, unknown> = {
      ansible_kernel: os.release(),
      ansible_architecture: arch,
      ansible_machine: arch,
      ansible_system: 'Linux',
      ansible_distribution: osRelease.NAME?.split(' ')[0] ?? id,
      ansible_distribution_release: osRelease.VERSION_CODENAME ?? '',
      ansible_distribution_version: id === 'debian' && debianVersion ? debianVersion : version,
      ansible_distribution_major_version: (id === 'debian' && debianVersion ? debianVersion : version).split('.')[0] ?? '',
      ansible_os_family: OS_FAMILY[id] ?? OS_FAMILY[osRelease.ID_LIKE?.split(' ')[0] ?? ''] ?? osRelease.NAME ?? 'Linux',
      ansible_pkg_mgr: OS_FAMILY[id] === 'Debian' ? 'apt' : 'unknown',
      ansible_hostname: os.hostname().split('.')[0],
      ansible_nodename: os.hostname(),
      ansible_processor_vcpus: os.availableParallelism(),
      ansible_memtotal_mb: Math.floor(os.totalmem() / 1048576),
      ansible_user_id: os.userInfo().username,
      ansible_env: env,
    };
    return { changed: false, ansible_facts: { ...facts, ansible_facts: stripPrefix(facts) } };
  },
};

function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function stripPrefix(facts: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(facts).map(([k, v]) => [k.replace(/^ansible_/, ''), v]));
}
