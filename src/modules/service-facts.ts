// The target's services, as Ansible's service_facts finds them: SysV scripts through `service --status-all`,
// and systemd's units when systemd runs the target. In a chroot no systemd runs (Ansible's chroot sees no
// PID 1), so only the scripts count, and a tree without any that answer is "skipped", as in Ansible.
import type { Connection } from '../connection/types.js';
import { defineModule } from './spec.js';
import { lstatOrUndefined } from './support/target-path.js';
import type { ModuleResult } from './types.js';

/** One service, in the shape of Ansible's `ansible_facts.services[name]`. */
export interface ServiceFact {
  name: string;
  state: string;
  status?: string;
  source: 'sysv' | 'systemd';
}

// Where Ansible's get_bin_path looks, for the chroot's PATH and its added sbin directories.
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const NOTHING_FOUND = 'Failed to find any services. This can be due to privileges or some other configuration issue.';
// Units systemd cannot run, which list-unit-files must not overwrite.
const BAD_STATES = new Set(['not-found', 'masked', 'failed']);

export const serviceFacts = defineModule(
  {
    name: 'service_facts',
    doc: {
      short: "Sets `ansible_facts.services` to the target's services, as Ansible's service_facts does.",
      description:
        "SysV scripts: when the target has `service` (and neither `chkconfig` nor `rc-status`), `service --status-all` runs on the target and each `[ + ]` / `[ - ]` line gives `{name, state: running|stopped, source: sysv}` (a script that cannot tell, `[ ? ]`, is left out, as in Ansible). systemd units: only when systemd is the target's PID 1, which a chroot never is: Ansible's chroot connection sees no PID 1 there, so in a chroot imgplay does not ask systemd either. With no service found the task is skipped with Ansible's message `" +
        NOTHING_FOUND +
        '`.',
      returns: '`ansible_facts.services`: name -> `{name, state, source}` (and `status` for systemd units).',
      differences: ["Upstart, chkconfig (Red Hat), OpenRC, AIX and OpenBSD services are not read: imgplay's targets are Debian."],
    },
    args: {},
    checkMode: 'full',
  },
  async ({ conn, signal }) => {
    const services: Record<string, ServiceFact> = {};
    const service = await binPath(conn, 'service');
    const warnings: string[] = [];
    if (service !== undefined && (await binPath(conn, 'chkconfig')) === undefined && (await binPath(conn, 'rc-status')) === undefined) {
      const r = await conn.exec([service, '--status-all'], { signal, env: { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } });
      if (r.rc !== 0) warnings.push(`Unable to query 'service' tool (${r.rc}): ${r.stderr}`);
      Object.assign(services, parseStatusAll(r.stdout));
    }
    if (conn.kind === 'local' && (await runsSystemd(conn))) {
      const systemctl = await binPath(conn, 'systemctl');
      if (systemctl !== undefined) await systemdServices(conn, systemctl, services, warnings, signal);
    }
    const result: ModuleResult =
      Object.keys(services).length === 0 ? { changed: false, skipped: true, msg: NOTHING_FOUND } : { changed: false, ansible_facts: { services } };
    if (warnings.length > 0) result.warnings = warnings;
    return result;
  },
);

/** The services `service --status-all` reports as running (`[ + ]`) or stopped (`[ - ]`). */
export function parseStatusAll(stdout: string): Record<string, ServiceFact> {
  const out: Record<string, ServiceFact> = {};
  for (const m of stdout.matchAll(/^\s*\[ ([+-]) \]\s+(.+)$/gm)) {
    const name = m[2] as string;
    out[name] = { name, state: m[1] === '+' ? 'running' : 'stopped', source: 'sysv' };
  }
  return out;
}

/** `systemctl list-units --type service --all` lines, as Ansible reads them. */
export function parseListUnits(stdout: string): Record<string, ServiceFact> {
  const out: Record<string, ServiceFact> = {};
  for (const line of stdout.split('\n').filter((l) => l.includes('.service'))) {
    let fields = line.trim().split(/\s+/);
    // A unit systemd cannot run is marked with a leading dot-like column.
    let status = fields.find((f) => BAD_STATES.has(f));
    if (status !== undefined) fields = fields.slice(1);
    else status = fields[2] ?? 'unknown';
    const name = fields[0] ?? '';
    out[name] = { name, state: fields[3] === 'running' ? 'running' : 'stopped', status, source: 'systemd' };
  }
  return out;
}

async function systemdServices(conn: Connection, systemctl: string, services: Record<string, ServiceFact>, warnings: string[], signal: AbortSignal | undefined): Promise<void> {
  const env = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  const units = await conn.exec([systemctl, 'list-units', '--no-pager', '--type', 'service', '--all'], { signal, env });
  if (units.rc !== 0) warnings.push(`Could not list units from systemd: ${units.stderr}`);
  else Object.assign(services, parseListUnits(units.stdout));
  const files = await conn.exec([systemctl, 'list-unit-files', '--no-pager', '--type', 'service', '--all'], { signal, env });
  if (files.rc !== 0) {
    warnings.push(`Could not get unit files data from systemd: ${files.stderr}`);
    return;
  }
  for (const line of files.stdout.split('\n').filter((l) => l.includes('.service'))) {
    const [name, status] = line.trim().split(/\s+/);
    if (name === undefined || status === undefined) continue;
    const known = services[name];
    if (known === undefined) {
      const show = await conn.exec([systemctl, 'show', name, '--property=ActiveState'], { signal, env });
      const state = show.rc === 0 && show.stdout !== '' ? show.stdout.replace('ActiveState=', '').trimEnd() : 'unknown';
      services[name] = { name, state, status, source: 'systemd' };
    } else if (!BAD_STATES.has(known.status ?? '')) known.status = status;
  }
}

/** Whether systemd is the target's PID 1 (Ansible reads /proc/1/comm). */
async function runsSystemd(conn: Connection): Promise<boolean> {
  const r = await conn.exec(['cat', '/proc/1/comm']);
  return r.rc === 0 && r.stdout.includes('systemd');
}

async function binPath(conn: Connection, name: string): Promise<string | undefined> {
  for (const dir of BIN_DIRS) {
    const st = await lstatOrUndefined(await conn.hostPath(`${dir}/${name}`)).catch(() => undefined);
    if (st !== undefined && !st.isDirectory()) return `${dir}/${name}`;
  }
  return undefined;
}
