// Which connection a task runs over: the host's (ansible_connection, the play's `connection:`, local for
// localhost), the controller when delegated to localhost, kept open per host for the play.
import { UnreachableError } from '../errors.js';
import { openConnection } from '../connection/index.js';
import { LocalConnection } from '../connection/local.js';
import type { Connection } from '../connection/types.js';
import { truthy } from '../jinja/values.js';
import { renderString, templateValue } from '../jinja/template.js';
import type { HostRun } from './state.js';

const isLocalName = (n: string) => n === 'localhost' || n === '127.0.0.1' || n === '::1';

/** The connection kind and target for a host (or the host it is delegated to), from its variables. */
export function connectionTarget(h: Pick<HostRun, 'name' | 'inv'>, vars: Record<string, unknown>, playConnection: unknown, delegateTo?: string): { kind: string; target: string } {
  const name = delegateTo ?? h.name;
  const kind = String(vars.ansible_connection ?? (playConnection !== undefined ? templateValue(playConnection, vars) : undefined) ?? (h.inv.implicit || isLocalName(name) ? 'local' : 'ssh'));
  const target = String(vars.ansible_host ?? renderString(name, vars));
  return { kind, target };
}

/** The run's connections: the controller's, and each host's, opened on first use. */
export class Connections {
  /** The build host: delegated tasks and controller files go through it; it stays open for the run. */
  readonly controller = new LocalConnection();

  /** The connection a task on `h` runs over; a task delegated to localhost runs on the controller. */
  async forTask(h: HostRun, vars: Record<string, unknown>, playConnection: unknown, delegateTo: string | undefined): Promise<Connection> {
    if (delegateTo !== undefined && ['localhost', '127.0.0.1'].includes(delegateTo)) return this.controller;
    const { kind, target } = connectionTarget(h, vars, playConnection, delegateTo);
    const key = `${kind}\0${target}`;
    let conn = h.connections.get(key);
    if (!conn) {
      if (kind === 'local') conn = this.controller;
      else if (kind === 'ssh' || kind === 'paramiko' || kind === 'smart') {
        throw new UnreachableError(`connection '${kind}' is not supported by imgplay (host ${h.name}); set ansible_connection to local or chroot`);
      } else {
        const debCache = vars.imgplay_deb_cache === undefined ? undefined : String(templateValue(vars.imgplay_deb_cache, vars) ?? '');
        conn = await openConnection(kind, target, { systemMounts: flag(vars.imgplay_chroot_mounts, true), debCache });
      }
      h.connections.set(key, conn);
    }
    return conn;
  }

  /** Closes the hosts' connections (all but the controller's with keepController); a failure is warned about,
   *  not swallowed: a chroot's close() unmounts what it mounted. */
  async close(hosts: readonly HostRun[], opts: { keepController: boolean }, warn: (message: string) => void): Promise<void> {
    for (const h of hosts) {
      for (const [key, c] of h.connections) {
        if (opts.keepController && c === this.controller) continue;
        h.connections.delete(key);
        await c.close().catch((err: unknown) => {
          warn(`closing ${c.describe()} failed: ${err instanceof Error ? err.message : String(err)}`);
        });
      }
    }
  }
}

// A yes/no variable as Ansible's boolean filter reads it; undefined gives the default.
function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return /^(y|yes|on|true|1)$/i.test(value.trim());
  return truthy(value);
}
