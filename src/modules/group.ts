// Adds, renumbers and removes groups in the TARGET image, as Ansible 2.14's group module does on
// Linux: the state comes from the target's /etc/group, the changes from its own groupadd/groupmod/groupdel.
import { defineModule } from './spec.js';
import { readAccountDb, runTool } from './support/account-db.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { type ModuleResult, failed } from './types.js';

export const group = defineModule(
  {
    name: 'group',
    doc: {
      short: 'Adds, renumbers or removes a group in the image.',
      description:
        "The current state is read from the target's own `/etc/group`, and changes are made by the target's own `groupadd`, `groupmod` and `groupdel` (run inside the chroot); a target without the tool fails naming it.",
      returns:
        '`changed` is true when a tool ran (or would have, under `--check`). `name`, `state`, and while the group exists `gid` and `system`, plus the tool\'s `stdout`/`stderr`.',
      checkMode: 'Runs nothing; as in Ansible, a group it would create or remove is reported as `{changed: true}` alone, and a renumbering reports the current `gid`.',
      differences: [
        "A failure message names the tool, the group, the exit code and the tool's own first lines (`groupdel failed for 'users' (exit 8): groupdel: cannot remove the primary group of user 'alice'`); Ansible's msg is the raw stderr.",
      ],
    },
    // Ansible 2.14's arguments: no `force` (that came in 2.15), so it is an unsupported parameter as there.
    args: {
      state: { default: 'present', choices: ['absent', 'present'], description: 'Whether the group should exist.' },
      name: { required: true, description: 'The group.' },
      gid: { type: 'int', description: 'The gid; an existing group with another gid is renumbered (`groupmod -g`).' },
      system: { type: 'bool', default: false, description: 'Create a system group (gid below 1000, `groupadd -r`); only used when creating.' },
      local: {
        type: 'bool',
        default: false,
        description: "Use libuser's `lgroupadd`/`lgroupmod`/`lgroupdel` instead (and refuse a gid another group has), as Ansible does.",
      },
      non_unique: { type: 'bool', default: false, description: 'With `gid` (required then): allow a gid already in use (`-o`).' },
    },
    requiredIf: [['non_unique', true, ['gid']]],
    checkMode: 'full',
  },
  async ({ conn, args, check, signal }) => {
    const { name } = args;
    // local: true means libuser's tools, as in Ansible; a Debian image rarely has them, and then fails naming them.
    const tool = (t: string): string => (args.local ? `l${t}` : t);
    try {
      const db = await readAccountDb(conn);
      const existing = db.groups.find((g) => g.name === name);
      const result: ModuleResult = { name, state: args.state };
      let ran: { stdout: string; stderr: string } | undefined;
      if (args.local && args.gid !== undefined && args.state === 'present') {
        const clash = db.groups.find((g) => g.gid === args.gid && g.name !== name);
        if (clash !== undefined) return failed(`GID '${args.gid}' already exists with group '${clash.name}'`);
      }

      if (args.state === 'absent') {
        if (existing !== undefined) {
          if (check) return { changed: true };
          const r = await runTool(conn, tool('groupdel'), [name], signal);
          if (r.failure) return r.failure;
          ran = r;
        }
      } else if (existing === undefined) {
        if (check) return { changed: true };
        const argv = [...(args.gid !== undefined ? ['-g', String(args.gid), ...(args.non_unique ? ['-o'] : [])] : []), ...(args.system ? ['-r'] : []), name];
        const r = await runTool(conn, tool('groupadd'), argv, signal);
        if (r.failure) return r.failure;
        ran = r;
      } else if (args.gid !== undefined && existing.gid !== args.gid) {
        if (check) ran = { stdout: '', stderr: '' };
        else {
          const r = await runTool(conn, tool('groupmod'), ['-g', String(args.gid), ...(args.non_unique ? ['-o'] : []), name], signal);
          if (r.failure) return r.failure;
          ran = r;
        }
      }

      // Ansible's rule: changed exactly when a tool ran (or would have, in check mode).
      result.changed = ran !== undefined;
      if (ran?.stdout) result.stdout = ran.stdout;
      if (ran?.stderr) result.stderr = ran.stderr;
      const now = (check ? db : await readAccountDb(conn)).groups.find((g) => g.name === name);
      if (now !== undefined) Object.assign(result, { system: args.system, gid: now.gid });
      return result;
    } catch (err) {
      if (isFsError(err)) return failed(`group '${name}': ${describeFsError(err)}`);
      throw err;
    }
  },
);
