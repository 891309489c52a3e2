// Looks entries up in the target's name service databases (passwd, group, hosts, ...) with getent, as Ansible's getent does.
import { defineModule } from './spec.js';

// Databases whose fields getent separates with colons.
const COLON = new Set(['passwd', 'shadow', 'group', 'gshadow']);

export const getent = defineModule(
  {
    name: 'getent',
    doc: {
      short: "Looks up a name service database with the target's `getent`, into the fact `getent_<database>`.",
      description: "For a chroot, `getent` runs inside the tree, so it reads the tree's own `/etc/passwd`, `/etc/group` and `/etc/hosts`.",
      returns: '`ansible_facts.getent_<database>`: each key mapped to its other fields (a list of lists when a key appears more than once).',
    },
    args: {
      database: { required: true, description: 'The database: passwd, group, hosts, services, shadow, ... (what `getent` accepts).' },
      key: { description: 'The key to look up; without it, the whole database.' },
      service: { description: 'Override the NSS service (`getent -s`).' },
      split: { description: 'The separator of fields; default `:` for passwd, shadow, group and gshadow, white space otherwise.' },
      fail_key: { type: 'bool', default: true, description: 'Fail when the key is not found; otherwise the key maps to null.' },
    },
    checkMode: 'full',
  },
  async ({ args, conn, signal }) => {
    const argv = ['getent', args.database, ...(args.key === undefined ? [] : [args.key]), ...(args.service === undefined ? [] : ['-s', args.service])];
    const r = await conn.exec(argv, { signal });
    const split = args.split ?? (COLON.has(args.database) ? ':' : undefined);
    const table: Record<string, unknown> = {};
    const fact = `getent_${args.database}`;
    if (r.rc === 0) {
      const seen = new Map<string, number>();
      for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
        const record = split === undefined ? line.trim().split(/\s+/) : line.split(split);
        const [first, ...rest] = record;
        const k = first ?? '';
        const n = seen.get(k) ?? 0;
        if (n === 0) table[k] = rest;
        else table[k] = n === 1 ? [table[k], rest] : [...(table[k] as unknown[]), rest];
        seen.set(k, n + 1);
      }
      return { changed: false, ansible_facts: { [fact]: table } };
    }
    if (r.rc === 127) return { failed: true, changed: false, msg: `Failed to find required executable "getent" in ${conn.describe()}` };
    if (r.rc === 2 && !args.fail_key) {
      return { changed: false, ansible_facts: { [fact]: { [args.key ?? '']: null } }, msg: 'One or more supplied key could not be found in the database.' };
    }
    const msg =
      r.rc === 1
        ? 'Missing arguments, or database unknown.'
        : r.rc === 2
          ? 'One or more supplied key could not be found in the database.'
          : r.rc === 3
            ? 'Enumeration not supported on this database.'
            : 'Unexpected failure!';
    return { failed: true, changed: false, msg };
  },
);
