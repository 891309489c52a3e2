// Adds, renumbers and removes groups in the TARGET image, as Ansible 2.14's group module does on
// Linux: the state comes from the target's /etc/group, the changes from its own groupadd/groupmod/groupdel.
import { readAccountDb, runTool } from './support/account-db.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { boolArg, strArg } from './support/schema.js';
import { type Module, type ModuleResult, failed } from './types.js';

/** group's arguments as Ansible 2.14 takes them (no `force`: that came in 2.15). */
export interface GroupArgs {
  name: string;
  state: 'present' | 'absent';
  gid?: number;
  system: boolean;
  local: boolean;
  non_unique: boolean;
}

export const group: Module<GroupArgs> = {
  name: 'group',
  aliases: ['ansible.builtin.group', 'ansible.legacy.group'],
  schema: {
    type: 'object',
    required: ['name'],
    properties: {
      name: strArg,
      state: { enum: ['present', 'absent'], default: 'present' },
      gid: { type: 'integer' },
      system: boolArg(false),
      local: boolArg(false),
      non_unique: boolArg(false),
    },
    additionalProperties: false,
  },
  checkMode: true,
  async run({ conn, args, check, signal }) {
    const { name } = args;
    if (args.non_unique && args.gid === undefined) return failed('non_unique is True but all of the following are missing: gid');
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
};
