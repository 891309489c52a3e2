// Names the image being built: /etc/hostname and the 127.0.1.1 line of /etc/hosts in the target.
// Unlike Ansible's hostname it never calls hostname(1) or hostnamectl: the build host keeps its name.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defineModule } from './spec.js';
import { atomicWrite } from '../host/atomic-write.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { hostPathFollow } from './support/target-path.js';
import { type ModuleResult, failed } from './types.js';

// Ansible 2.14's strategies: accepted so playbooks written for Ansible still validate.
const STRATEGIES = ['alpine', 'debian', 'freebsd', 'generic', 'macos', 'macosx', 'darwin', 'openbsd', 'openrc', 'redhat', 'sles', 'solaris', 'systemd'] as const;

export const hostname = defineModule(
  {
    name: 'hostname',
    doc: {
      short: "Names the image: the target's /etc/hostname and its 127.0.1.1 line in /etc/hosts.",
      description:
        "Writes `name` and a newline to the target's `/etc/hostname`, and makes the target's `/etc/hosts` map `127.0.1.1` to the name (a fully qualified name is followed by its short form, as Debian's installer writes it): an existing `127.0.1.1` line is replaced (left alone if it already lists exactly those names), else a line is added after the `127.0.0.1` line (at the end if there is none); a missing `/etc/hosts` is created with a `127.0.0.1 localhost` line. Symlinks are followed inside the target.",
      returns:
        "`name` and `ansible_facts` (`ansible_hostname`: the short name, `ansible_nodename`, `ansible_fqdn`: the name, `ansible_domain`); with `--diff`, Ansible's `hostname = old` / `hostname = new` (old is the target's previous `/etc/hostname`).",
      checkMode: 'Predicts the change and writes nothing.',
      differences: [
        "Ansible sets the running system's host name (`hostname`/`hostnamectl`, and per strategy files such as `/etc/sysconfig/network`). imgplay builds images that are not running: it never changes the build host's name and only edits `/etc/hostname` and `/etc/hosts` of the target, whatever `use` says. Ansible leaves `/etc/hosts` alone; imgplay maps `127.0.1.1` so the booted image resolves its own name.",
        '`ansible_fqdn` and `ansible_domain` come from the name, not from a DNS lookup on the build host.',
      ],
    },
    args: {
      name: { required: true, description: "The image's host name (one word, no blanks; may be fully qualified)." },
      use: { choices: STRATEGIES, description: "Ansible's strategy (`debian`, `systemd`, `redhat`, ...): accepted and checked, but every strategy writes the same two files here." },
    },
    checkMode: 'full',
    diff: true,
  },
  async ({ conn, args, check }) => {
    const name = args.name;
    // A name with blanks or a newline would corrupt both files; the kernel would refuse it anyway.
    if (name === '' || /\s/.test(name)) return failed(`invalid hostname '${name}': it must be one word without blanks`);
    try {
      const hostnameHost = await hostPathFollow(conn, '/etc/hostname');
      const hostsHost = await hostPathFollow(conn, '/etc/hosts');
      const oldHostname = await readOrNull(hostnameHost);
      const oldHosts = await readOrNull(hostsHost);
      const newHostname = `${name}\n`;
      const newHosts = mapLoopback(oldHosts, name);
      const changed = oldHostname !== newHostname || oldHosts !== newHosts;
      if (changed && !check) {
        for (const [host, text, old] of [
          [hostnameHost, newHostname, oldHostname],
          [hostsHost, newHosts, oldHosts],
        ] as const) {
          if (text === old) continue;
          await mkdir(dirname(host), { recursive: true });
          await atomicWrite(host, { data: text });
        }
      }
      const short = name.split('.')[0] as string;
      const result: ModuleResult = {
        changed,
        name,
        ansible_facts: { ansible_hostname: short, ansible_nodename: name, ansible_fqdn: name, ansible_domain: name.split('.').slice(1).join('.') },
      };
      // Ansible's own diff shape, with the name the image had before (empty for a fresh tree).
      if (changed) result.diff = { before: `hostname = ${(oldHostname ?? '').trim()}\n`, after: `hostname = ${name}\n` };
      return result;
    } catch (err) {
      if (isFsError(err)) return failed(describeFsError(err));
      throw err;
    }
  },
);

async function readOrNull(host: string): Promise<string | null> {
  return readFile(host, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
}

/**
 * /etc/hosts with 127.0.1.1 mapped to `name` (and its short form, as Debian's installer writes it):
 * an existing 127.0.1.1 line is replaced, else one goes after the 127.0.0.1 line, else at the end.
 */
export function mapLoopback(hosts: string | null, name: string): string {
  const short = name.split('.')[0] as string;
  const names = short === name ? [name] : [name, short];
  const wanted = `127.0.1.1\t${names.join(' ')}`;
  if (hosts === null) return `127.0.0.1\tlocalhost\n${wanted}\n`;
  const lines = hosts.split('\n');
  // split leaves '' after a final newline; drop it so an added line lands before it.
  if (lines.at(-1) === '') lines.pop();
  const fields = (line: string): string[] => (line.split('#')[0] as string).trim().split(/\s+/);
  const existing = lines.findIndex((l) => fields(l)[0] === '127.0.1.1');
  if (existing >= 0) {
    // Same names with other spacing is already right: rewriting it would only churn the file.
    if (fields(lines[existing] as string).slice(1).join(' ') === names.join(' ')) return hosts;
    lines[existing] = wanted;
  } else {
    const loopback = lines.findIndex((l) => fields(l)[0] === '127.0.0.1');
    if (loopback >= 0) lines.splice(loopback + 1, 0, wanted);
    else lines.push(wanted);
  }
  return `${lines.join('\n')}\n`;
}
