// The inventory changes a result asks for (add_host, group_by), made to the run's inventory as Ansible's
// strategy makes them: the result's `changed` says whether the inventory changed.
import type { ModuleResult } from '../modules/types.js';
import { parseAddress } from '../inventory/host-name.js';
import type { HostVars } from './host-vars.js';
import type { HostRun } from './state.js';

/** Makes the change an add_host or group_by result asks for, for host `h`; sets the result's `changed`. */
export function applyInventoryChange(hv: HostVars, h: HostRun, result: ModuleResult): void {
  if (result.failed) return;
  const add = result.add_host as { host_name: string; groups: string[]; host_vars: Record<string, unknown> } | undefined;
  if (add !== undefined) {
    // `name: host:port` names the host and sets its port, as Ansible's add_host does.
    const addr = parseAddress(add.host_name, false);
    const name = addr?.host ?? add.host_name;
    const vars = addr?.port === undefined ? add.host_vars : { ...add.host_vars, ansible_ssh_port: addr.port };
    add.host_name = name;
    result.changed = hv.changeInventory((graph) => graph.addRuntimeHost(name, add.groups, vars));
  } else if (typeof result.add_group === 'string') {
    const group = result.add_group;
    const parents = (result.parent_groups as string[] | undefined) ?? ['all'];
    result.changed = hv.changeInventory((graph) => graph.addRuntimeGroup(h.name, group, parents));
  }
}
