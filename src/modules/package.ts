// Installs or removes packages with the target's own package manager, as Ansible's package action does:
// the manager comes from `use`, else the fact ansible_pkg_mgr, else the target is asked; the task's
// other arguments go to that module unchanged, which checks them.
import { defineModule } from './spec.js';

export const packageModule = defineModule(
  {
    name: 'package',
    doc: {
      short: "Installs or removes packages with the target's package manager (apt on Debian and Ubuntu).",
      description:
        'A task runs as the manager\'s own module would with the same arguments, less `use`: `package: {name: curl, state: present, update_cache: true}` on Debian is `apt` with those arguments. imgplay has the `apt` manager; a target whose manager is another fails as Ansible fails when that module is missing.',
      returns: "What the package manager's module returns.",
      checkMode: "As the package manager's module.",
    },
    args: {
      name: { type: 'raw', description: 'Package names or specifiers, as the manager takes them (no translation between distributions).' },
      state: { type: 'raw', description: '`present`, `absent`, or another state the manager supports (`latest`).' },
      use: { default: 'auto', description: "The manager's module (`apt`); `auto` takes the fact `ansible_pkg_mgr`, gathering it when facts were not gathered." },
    },
    passesOn: "to the package manager's module (`apt`), which checks them.",
    checkMode: 'full',
  },
  async (ctx) => {
    const { use, ...rest } = ctx.args;
    let manager = use;
    if (manager === 'auto') manager = String((ctx.vars.ansible_facts as Record<string, unknown> | undefined)?.pkg_mgr ?? 'auto');
    if (manager === 'auto') {
      const facts = await ctx.runModule('setup', {});
      manager = String(facts.ansible_facts?.ansible_pkg_mgr ?? 'auto');
    }
    if (manager === 'auto') return { failed: true, changed: false, msg: 'Could not detect which package manager to use. Try gathering facts or setting the "use" option.' };
    const args = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    return ctx.runModule(manager, args);
  },
);
