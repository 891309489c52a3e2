// The mutable group/host graph the inventory parsers fill in, with the rules of Ansible's InventoryData:
// `all` and `ungrouped` always exist, loops are refused, and reconcile() files orphans under them.
import { ValidationError, type SourcePos } from '../errors.js';
import { warn as runWarning } from '../host/warnings.js';

// Python's INVALID_VARIABLE_NAMES: a group name that starts with a digit or a non-word character, or holds one.
const INVALID_GROUP_CHARS = /^[^\p{L}\p{N}_]|^\p{N}|[^\p{L}\p{N}\p{M}_]/u;
const INVALID_GROUP_WARNING = 'Invalid characters were found in group names but not replaced, use -vvvv to see details';

/** Names Ansible treats as this machine: they reach an implicit localhost when the inventory has none. */
export const LOCALHOST_NAMES: readonly string[] = ['127.0.0.1', 'localhost', '::1'];

/** A group while the inventory is being built. */
export interface GroupNode {
  name: string;
  hosts: HostNode[];
  children: GroupNode[];
  parents: GroupNode[];
  vars: Record<string, unknown>;
  priority: number;
}

/** A host while the inventory is being built. */
export interface HostNode {
  name: string;
  /** The groups the host was put in directly; ancestors are derived. */
  groups: GroupNode[];
  vars: Record<string, unknown>;
}

/** Groups and hosts in the order they were first seen, which is the order Ansible reports them in. */
export class InventoryGraph {
  readonly groups = new Map<string, GroupNode>();
  readonly hosts = new Map<string, HostNode>();
  readonly warnings: string[] = [];
  /** The first localhost-like host the inventory names; it answers for all of them. */
  localhost: HostNode | undefined;

  constructor() {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  // A warning of Ansible's about the inventory, once; a group made at run time (group_by, add_host) says it then.
  private warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
    if (this.live) runWarning(message, 'run');
  }

  /** True once the inventory is loaded: what changes it now is the run (group_by, add_host). */
  live = false;

  /** Adds a group if it is new. */
  addGroup(name: string, pos?: SourcePos): GroupNode {
    if (name === '') throw new ValidationError('a group name cannot be empty', { pos });
    let group = this.groups.get(name);
    if (!group) {
      // Ansible's default (TRANSFORM_INVALID_GROUP_CHARS=never) keeps such a name, and says so.
      if (INVALID_GROUP_CHARS.test(name)) this.warn(INVALID_GROUP_WARNING);
      group = { name, hosts: [], children: [], parents: [], vars: {}, priority: 1 };
      this.groups.set(name, group);
    }
    return group;
  }

  /** Adds a host if it is new (recording where it came from, as Ansible does), and puts it in `group`. */
  addHost(name: string, group: string | undefined, opts: { port?: number | undefined; source?: { file: string; dir: string | null }; pos?: SourcePos }): HostNode {
    if (name === '') throw new ValidationError('a host name cannot be empty', { pos: opts.pos });
    let host = this.hosts.get(name);
    if (!host) {
      host = { name, groups: [], vars: {} };
      if (opts.port !== undefined) host.vars.ansible_port = opts.port;
      host.vars.inventory_file = opts.source?.file ?? null;
      host.vars.inventory_dir = opts.source?.dir ?? null;
      this.hosts.set(name, host);
      if (LOCALHOST_NAMES.includes(name)) {
        if (this.localhost) this.warnings.push(`a duplicate localhost-like entry was found (${name}); the first, ${this.localhost.name}, is used`);
        else this.localhost = host;
      }
    }
    if (group !== undefined) this.putHost(this.mustGroup(group, opts.pos), host);
    return host;
  }

  /** Sets a group variable; `ansible_group_priority` sets the group's priority instead. */
  setGroupVar(name: string, key: string, value: unknown, pos?: SourcePos): void {
    const group = this.mustGroup(name, pos);
    if (key === 'ansible_group_priority') {
      const n = typeof value === 'boolean' ? Number(value) : typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n)) {
        throw new ValidationError(`ansible_group_priority of group '${name}' must be an integer, got ${JSON.stringify(value)}`, { pos });
      }
      group.priority = n;
      return;
    }
    group.vars[key] = value;
  }

  /** Sets a host variable. */
  setHostVar(name: string, key: string, value: unknown): void {
    const host = this.hosts.get(name);
    if (host) host.vars[key] = value;
  }

  /** Makes `child` (a group, or else a host) a member of `parent`. */
  addChild(parent: string, child: string, pos?: SourcePos): void {
    const p = this.mustGroup(parent, pos);
    const g = this.groups.get(child);
    if (g) this.addChildGroup(p, g, pos);
    else {
      const h = this.hosts.get(child);
      if (!h) throw new ValidationError(`'${child}' is neither a known host nor a known group`, { pos });
      this.putHost(p, h);
    }
  }

  private addChildGroup(parent: GroupNode, child: GroupNode, pos?: SourcePos): void {
    if (parent === child) throw new ValidationError(`group '${parent.name}' cannot be a child of itself`, { pos });
    if (parent.children.includes(child)) return;
    if (this.ancestors(parent).has(child)) {
      throw new ValidationError(`adding group '${child.name}' as a child of '${parent.name}' creates a loop: '${child.name}' is already an ancestor of '${parent.name}'`, {
        pos,
      });
    }
    parent.children.push(child);
    if (!child.parents.includes(parent)) child.parents.push(parent);
  }

  private putHost(group: GroupNode, host: HostNode): void {
    if (group.hosts.includes(host)) return;
    group.hosts.push(host);
    host.groups.push(group);
  }

  private removeHost(group: GroupNode, host: HostNode): void {
    group.hosts = group.hosts.filter((h) => h !== host);
    host.groups = host.groups.filter((g) => g !== group);
  }

  /** Every group above `group`, nearest first. */
  ancestors(group: GroupNode): Set<GroupNode> {
    const seen = new Set<GroupNode>();
    const queue = [...group.parents];
    while (queue.length > 0) {
      const g = queue.shift()!;
      if (seen.has(g)) continue;
      seen.add(g);
      queue.push(...g.parents);
    }
    return seen;
  }

  private mustGroup(name: string, pos?: SourcePos): GroupNode {
    const group = this.groups.get(name);
    if (!group) throw new ValidationError(`group '${name}' is not defined in the inventory`, { pos });
    return group;
  }

  /** After parsing: top-level groups go under `all`, hosts with no group go to `ungrouped` and leave it once grouped. */
  reconcile(): void {
    const all = this.groups.get('all')!;
    const ungrouped = this.groups.get('ungrouped')!;
    for (const group of this.groups.values()) {
      if (group !== all && group.parents.length === 0) this.addChildGroup(all, group);
    }
    for (const host of this.hosts.values()) {
      const mine = this.hostGroups(host);
      if (mine.has(ungrouped)) {
        if ([...mine].some((g) => g !== all && g !== ungrouped)) this.removeHost(ungrouped, host);
      } else if (mine.size === 0 || (mine.size === 1 && mine.has(all))) {
        this.putHost(ungrouped, host);
      }
    }
    const groupNames = new Set(this.groups.keys());
    for (const name of this.hosts.keys()) {
      if (groupNames.has(name)) this.warn(`Found both group and host with same name: ${name}`);
    }
  }

  /** add_host at run time: the host (new, or known) gets these variables (over its own) and groups (made when new);
   *  returns whether anything changed, as Ansible's InventoryManager.add_dynamic_host decides. */
  addRuntimeHost(name: string, groups: readonly string[], vars: Readonly<Record<string, unknown>>): boolean {
    let changed = false;
    let host = this.hosts.get(name);
    if (!host) {
      host = this.addHost(name, undefined, {});
      changed = true;
    }
    for (const [k, v] of Object.entries(vars)) {
      if (Object.hasOwn(host.vars, k) && JSON.stringify(host.vars[k]) === JSON.stringify(v)) continue;
      host.vars[k] = v;
      changed = true;
    }
    for (const g of groups) {
      const group = this.groups.get(g) ?? ((changed = true), this.addGroup(g));
      if (!group.hosts.includes(host)) {
        this.putHost(group, host);
        changed = true;
      }
    }
    if (changed) this.reconcile();
    return changed;
  }

  /** group_by at run time: the host joins the group, which joins each parent (groups made when new); returns whether
   *  anything changed, as Ansible's InventoryManager.add_dynamic_group decides. */
  addRuntimeGroup(hostName: string, name: string, parents: readonly string[]): boolean {
    const host = this.hosts.get(hostName);
    if (!host) throw new ValidationError(`group_by: '${hostName}' cannot be matched in inventory`);
    let changed = false;
    const group = this.addGroup(name);
    for (const p of parents) {
      const parent = this.groups.get(p) ?? ((changed = true), this.addGroup(p));
      if (!parent.children.includes(group)) {
        this.addChildGroup(parent, group);
        changed = true;
      }
    }
    if (!group.hosts.includes(host)) {
      this.putHost(group, host);
      changed = true;
    }
    if (changed) this.reconcile();
    return changed;
  }

  /** The groups a host is in, directly or through a child group. */
  hostGroups(host: HostNode): Set<GroupNode> {
    const out = new Set<GroupNode>();
    for (const g of host.groups) {
      out.add(g);
      for (const a of this.ancestors(g)) out.add(a);
    }
    return out;
  }

  /** Depth of a group: the longest chain of parents up to `all`, as Ansible orders group variables by it. */
  depth(group: GroupNode, memo = new Map<GroupNode, number>()): number {
    const known = memo.get(group);
    if (known !== undefined) return known;
    const d = group.parents.length === 0 ? 0 : Math.max(...group.parents.map((p) => this.depth(p, memo) + 1));
    memo.set(group, d);
    return d;
  }

  /** Hosts of a group and its descendants: its own first, then each generation of children in order. */
  groupHosts(group: GroupNode): HostNode[] {
    const order: GroupNode[] = [group];
    const seen = new Set(order);
    for (let i = 0; i < order.length; i++) {
      for (const child of order[i]!.children) {
        if (!seen.has(child)) {
          seen.add(child);
          order.push(child);
        }
      }
    }
    const hosts = new Set<HostNode>();
    for (const g of order) for (const h of g.hosts) hosts.add(h);
    return [...hosts];
  }
}
