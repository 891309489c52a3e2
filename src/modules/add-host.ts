// Adds a host (or more groups and variables to a known one) to the run's inventory, for the plays after
// (Ansible's add_host); the executor changes the inventory from the result, as Ansible's strategy does.
import { defineModule } from './spec.js';

export const addHost = defineModule(
  {
    name: 'add_host',
    doc: {
      short: 'Adds a host to the inventory for the rest of the run: `add_host: {name: image, groups: trees, ansible_connection: chroot, ansible_host: /srv/tree}`.',
      description:
        'Every argument besides `name` and `groups` is a host variable, with the precedence of a host variable in the inventory file. Later plays of the same run select the host by its name or its groups. It runs once, for the first host of the play (as Ansible, whatever `run_once` says); with a loop, once per item. Changed when the host, one of its variables or a group membership was new. `name: host:port` sets `ansible_ssh_port`.',
      differences: ['A `group_vars/` or `host_vars/` file for a group or host made at run time fails the task (Ansible reads it; imgplay reads those folders once, for the inventory\'s own names).'],
      returns: '`add_host`: `host_name`, `groups`, `host_vars`.',
    },
    args: {
      name: { required: true, aliases: ['host', 'hostname'], description: 'The host, optionally with `:port`.' },
      groups: { type: 'list', default: [], aliases: ['group', 'groupname'], description: 'The groups the host is put in (made when new); a string is split at commas.' },
    },
    passesOn: 'every other argument is a variable of the host (`ansible_connection: chroot`).',
    checkMode: 'full',
    traits: { changesInventory: true, bypassHostLoop: true, controllerOnly: true },
  },
  async ({ args }) => {
    const { name, groups, ...hostVars } = args as { name: string; groups: string[] } & Record<string, unknown>;
    const unique = [...new Set(groups.map((g) => g.trim()))];
    return { changed: false, add_host: { host_name: name, groups: unique, host_vars: hostVars } };
  },
);
