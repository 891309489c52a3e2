// User and group names of the TARGET (its /etc/passwd and /etc/group), never the controller's.
import { readFile } from 'node:fs/promises';
import type { Connection } from '../../connection/types.js';

interface Table {
  idByName: Map<string, number>;
  nameById: Map<number, string>;
}

/** Looks up the target's users and groups, reading each file at most once. */
export class Accounts {
  private users: Promise<Table> | undefined;
  private groups: Promise<Table> | undefined;

  constructor(private readonly conn: Connection) {}

  /** The uid for an owner argument: a number, a numeric string, or a user name; undefined if unknown. */
  async uid(owner: string | number): Promise<number | undefined> {
    return resolveId(owner, () => (this.users ??= this.load('/etc/passwd')));
  }

  /** The gid for a group argument: a number, a numeric string, or a group name; undefined if unknown. */
  async gid(group: string | number): Promise<number | undefined> {
    return resolveId(group, () => (this.groups ??= this.load('/etc/group')));
  }

  /** The user name for a uid, or undefined when the target has no such user. */
  async userName(uid: number): Promise<string | undefined> {
    return (await (this.users ??= this.load('/etc/passwd'))).nameById.get(uid);
  }

  /** The group name for a gid, or undefined when the target has no such group. */
  async groupName(gid: number): Promise<string | undefined> {
    return (await (this.groups ??= this.load('/etc/group'))).nameById.get(gid);
  }

  private async load(file: string): Promise<Table> {
    const table: Table = { idByName: new Map(), nameById: new Map() };
    let text: string;
    try {
      text = await readFile(await this.conn.hostPath(file), 'utf8');
    } catch {
      // A tree without the file (an empty root, say) simply has no named accounts.
      return table;
    }
    for (const line of text.split('\n')) {
      const [name, , idText] = line.split(':');
      if (name === undefined || name === '' || name.startsWith('#') || idText === undefined) continue;
      const id = Number(idText);
      if (!Number.isInteger(id)) continue;
      // The first entry wins, as getpwnam and getpwuid return it.
      if (!table.idByName.has(name)) table.idByName.set(name, id);
      if (!table.nameById.has(id)) table.nameById.set(id, name);
    }
    return table;
  }
}

async function resolveId(value: string | number, table: () => Promise<Table>): Promise<number | undefined> {
  if (typeof value === 'number') return value;
  // Ansible tries int(owner) first, so '0' and ' 1000 ' are ids, not names.
  if (/^\s*[+-]?\d+\s*$/.test(value)) return Number(value);
  return (await table()).idByName.get(value);
}
