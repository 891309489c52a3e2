// Puts the host in a group made from its variables, for the plays after (Ansible's group_by); the executor
// changes the run's inventory from the result, as Ansible's strategy does.
import { defineModule } from './spec.js';

export const groupBy = defineModule(
  {
    name: 'group_by',
    doc: {
      short: 'Adds the host to a group (made when new) for the rest of the run: `group_by: {key: "os_{{ ansible_facts.distribution }}"}`.',
      description:
        'Later plays of the same run select the group by its name (`hosts: os_Debian`), and `groups`/`group_names` include it from the next task on. Spaces in the names become dashes, as in Ansible. Changed when the host or a parent link was new.',
      differences: ['A `group_vars/` or `host_vars/` file for a group or host made at run time fails the task (Ansible reads it; imgplay reads those folders once, for the inventory\'s own names).'],
      returns: '`add_group`, `parent_groups`: the names as used.',
    },
    args: {
      key: { required: true, description: 'The group to add the host to.' },
      parents: { type: 'list', default: ['all'], description: 'The groups the group is put in (made when new).' },
    },
    checkMode: 'full',
    traits: { changesInventory: true, controllerOnly: true },
  },
  async ({ args }) => ({ changed: false, add_group: args.key.replace(/ /g, '-'), parent_groups: args.parents.map((p) => p.replace(/ /g, '-')) }),
);
