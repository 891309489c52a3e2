// Ansible inventories (YAML, INI, host lists, directories of them) loaded without side effects into an
// immutable Inventory that answers host patterns and hands out the inventory layers of variable precedence.
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { OptionsError, ParseError, ValidationError, didYouMean } from '../errors.js';
import { selectHosts, type PatternTarget } from './host-pattern.js';
import { parseIniInventory } from './ini.js';
import { InventoryGraph, LOCALHOST_NAMES, type GroupNode } from './graph.js';
import { parseAddress } from './host-name.js';
import { findVarsFiles, loadVarsFile, readText } from './vars-files.js';
import { looksLikeYamlInventory, readYamlInventory } from './yaml.js';
import { parseYaml } from '../yaml/load.js';

export { applyLimit, splitHostPattern } from './host-pattern.js';

/** A host of the inventory. */
export interface InventoryHost {
  readonly name: string;
  /** Every group the host is in, directly or through child groups, sorted, without `all` (Ansible's `group_names`). */
  readonly groups: readonly string[];
  /** host vars from the inventory file itself */
  readonly vars: Readonly<Record<string, unknown>>;
  /** Set on the localhost Ansible makes up when the inventory names none; it is in no group, not even `all`. */
  readonly implicit?: boolean;
}

/** A group of the inventory. */
export interface InventoryGroup {
  readonly name: string;
  /** Hosts put in this group directly; groupMap() has the hosts of its children too. */
  readonly hosts: readonly string[];
  readonly children: readonly string[];
  readonly parents: readonly string[];
  /** Group vars from the inventory file itself (not group_vars/). */
  readonly vars: Readonly<Record<string, unknown>>;
  /** The longest chain of parents up to `all` (which is 0); parents' vars are overridden by children's. */
  readonly depth: number;
  /** ansible_group_priority (default 1): among groups of equal depth, higher wins. */
  readonly priority: number;
}

/**
 * The inventory's layers of Ansible's variable precedence for one host, lowest first. Each is already
 * merged over the host's groups (all, then by depth, priority and name) and over the inventory sources.
 */
export interface VarLayers {
  /** Group vars written in the inventory file: `all`'s, then the host's groups'. */
  groupVarsFile: Record<string, unknown>;
  /** group_vars/all beside the inventory. */
  groupVarsAllInventory: Record<string, unknown>;
  /** group_vars/all beside the playbook. */
  groupVarsAllPlaybook: Record<string, unknown>;
  /** group_vars/<group> beside the inventory, for the host's groups other than all. */
  groupVarsInventory: Record<string, unknown>;
  /** group_vars/<group> beside the playbook. */
  groupVarsPlaybook: Record<string, unknown>;
  /** Host vars written in the inventory file (with inventory_file, inventory_dir, ansible_port from host:port). */
  hostVarsFile: Record<string, unknown>;
  /** host_vars/<host> beside the inventory. */
  hostVarsInventory: Record<string, unknown>;
  /** host_vars/<host> beside the playbook. */
  hostVarsPlaybook: Record<string, unknown>;
}

/** The inventory's layers in precedence order, lowest first: the executor and the planner stack them alike. */
export function inventoryLayersInOrder(inv: VarLayers): Record<string, unknown>[] {
  return [
    inv.groupVarsFile,
    inv.groupVarsAllInventory,
    inv.groupVarsAllPlaybook,
    inv.groupVarsInventory,
    inv.groupVarsPlaybook,
    inv.hostVarsFile,
    inv.hostVarsInventory,
    inv.hostVarsPlaybook,
  ];
}

type Vars = Record<string, unknown>;

/** The group_vars/ and host_vars/ found in one directory, by group or host name. */
interface DirVars {
  /** The folder holding group_vars/ and host_vars/. */
  dir: string;
  groups: Map<string, Vars>;
  hosts: Map<string, Vars>;
}

const YAML_EXTENSIONS = ['.yml', '.yaml', '.json'];
// What Ansible skips when a directory is the inventory source (INVENTORY_IGNORE_EXTS and its fixed names).
const IGNORED_IN_DIR = /^\.|^host_vars$|^group_vars$|^vars_plugins$|(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/;

/** A loaded inventory: hosts, groups, host patterns and the inventory-sourced variables. Immutable. */
export class Inventory implements PatternTarget<InventoryHost> {
  /** Files read, for cache digests later. */
  readonly sources: string[];
  /** Things Ansible would warn about (a name used for both a host and a group, a second localhost). */
  readonly warnings: string[];
  private readonly hostList: InventoryHost[];
  private readonly hostByName: Map<string, InventoryHost>;
  private readonly groupList: InventoryGroup[];
  private readonly groupByName: Map<string, InventoryGroup>;
  private readonly members: Map<string, InventoryHost[]>;
  private readonly local: InventoryHost;

  /** Use loadInventory(); this takes a finished graph and the variable files found for it. */
  constructor(
    private readonly graph: InventoryGraph,
    private readonly inventoryDirs: DirVars[],
    private readonly playbookDirVars: DirVars | undefined,
    sources: string[],
  ) {
    this.sources = Object.freeze([...sources]) as string[];
    this.warnings = Object.freeze([...graph.warnings]) as string[];
    const all = graph.groups.get('all')!;
    this.hostList = [...graph.hosts.values()].map((h) =>
      Object.freeze({
        name: h.name,
        groups: Object.freeze([...graph.hostGroups(h)].filter((g) => g !== all).map((g) => g.name).sort(byCodePoint)),
        vars: deepFreeze({ ...h.vars }),
      }),
    );
    this.hostByName = new Map(this.hostList.map((h) => [h.name, h]));
    const explicitLocal = graph.localhost && this.hostByName.get(graph.localhost.name);
    this.local =
      explicitLocal ??
      Object.freeze({
        name: 'localhost',
        groups: Object.freeze([]),
        vars: Object.freeze({ ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3' }),
        implicit: true,
      });
    const depths = new Map<GroupNode, number>();
    this.groupList = [...graph.groups.values()].map((g) =>
      Object.freeze({
        name: g.name,
        hosts: Object.freeze(g.hosts.map((h) => h.name)),
        children: Object.freeze(g.children.map((c) => c.name)),
        parents: Object.freeze(g.parents.map((p) => p.name)),
        vars: deepFreeze({ ...g.vars }),
        depth: graph.depth(g, depths),
        priority: g.priority,
      }),
    );
    this.groupByName = new Map(this.groupList.map((g) => [g.name, g]));
    this.members = new Map(
      [...graph.groups.values()].map((g) => [g.name, graph.groupHosts(g).map((h) => this.hostByName.get(h.name)!)]),
    );
  }

  /** The inventory after a run-time change (add_host, group_by) to its hosts and groups, and whether anything
   *  changed; this one stays as it was (it holds copies), the change goes on from the new one. */
  withChange(edit: (graph: InventoryGraph) => boolean): { inventory: Inventory; changed: boolean } {
    const before = { groups: new Set(this.graph.groups.keys()), hosts: new Set(this.graph.hosts.keys()) };
    this.graph.live = true;
    const changed = edit(this.graph);
    // Ansible reads group_vars/ and host_vars/ for a group or host made at run time too; imgplay reads them once,
    // for the inventory's own names: a file it would not read is refused, not ignored.
    const dirs = [...this.inventoryDirs, ...(this.playbookDirVars ? [this.playbookDirVars] : [])];
    for (const [kind, names] of [['group_vars', [...this.graph.groups.keys()].filter((g) => !before.groups.has(g))], ['host_vars', [...this.graph.hosts.keys()].filter((h) => !before.hosts.has(h))]] as const) {
      for (const name of names) {
        const file = dirs.flatMap((d) => ['', '.yml', '.yaml', '.json'].map((ext) => join(d.dir, kind, name) + ext)).find((f) => existsSync(f));
        if (file) throw new ValidationError(`${file}: variables files of a ${kind === 'group_vars' ? 'group' : 'host'} made at run time (group_by, add_host) are not implemented in imgplay`, { hint: 'set the variables in the group_by/add_host task or the plays instead' });
      }
    }
    return { inventory: changed ? new Inventory(this.graph, this.inventoryDirs, this.playbookDirVars, this.sources) : this, changed };
  }

  /** Every host, in the order the inventory first names them; the implicit localhost (if any) last. */
  hosts(): InventoryHost[] {
    return this.local.implicit ? [...this.hostList, this.local] : [...this.hostList];
  }

  /** A host by name; a localhost name finds the implicit localhost, as in Ansible. */
  host(name: string): InventoryHost | undefined {
    return this.hostByName.get(name) ?? (LOCALHOST_NAMES.includes(name) ? this.local : undefined);
  }

  /** Every group, `all` and `ungrouped` first, then in the order the inventory first names them. */
  groups(): InventoryGroup[] {
    return [...this.groupList];
  }

  /** Hosts matching a pattern, in inventory order. Throws ValidationError on a malformed pattern. */
  select(pattern: string | string[]): InventoryHost[] {
    return selectHosts(this, pattern);
  }

  /** The inventory-sourced variable layers for a host, lowest precedence first, plus group_names / groups magic vars support. */
  varLayers(host: string): VarLayers {
    const h = this.host(host);
    if (!h) {
      const near = didYouMean(host, [...this.hostByName.keys()]);
      throw new ValidationError(`host '${host}' is not in the inventory`, { hint: near ? `did you mean '${near}'?` : undefined });
    }
    const groups = h.groups.map((g) => this.groupByName.get(g)!).sort(groupOrder);
    const all = this.groupByName.get('all')!;
    const fromDirs = (dirs: DirVars[], pick: (d: DirVars) => (Vars | undefined)[]): Vars =>
      Object.assign({}, ...dirs.flatMap(pick).filter((v) => v !== undefined)) as Vars;
    const playDirs = this.playbookDirVars ? [this.playbookDirVars] : [];
    const groupFiles = (d: DirVars) => groups.map((g) => d.groups.get(g.name));
    return {
      groupVarsFile: Object.assign({}, all.vars, ...groups.map((g) => g.vars)) as Vars,
      groupVarsAllInventory: fromDirs(this.inventoryDirs, (d) => [d.groups.get('all')]),
      groupVarsAllPlaybook: fromDirs(playDirs, (d) => [d.groups.get('all')]),
      groupVarsInventory: fromDirs(this.inventoryDirs, groupFiles),
      groupVarsPlaybook: fromDirs(playDirs, groupFiles),
      hostVarsFile: { ...h.vars },
      hostVarsInventory: fromDirs(this.inventoryDirs, (d) => [d.hosts.get(h.name)]),
      hostVarsPlaybook: fromDirs(playDirs, (d) => [d.hosts.get(h.name)]),
    };
  }

  /** The magic variable `groups`: group name -> host names. */
  groupMap(): Record<string, string[]> {
    return Object.fromEntries([...this.members].map(([g, hosts]) => [g, hosts.map((h) => h.name)]));
  }

  /** For host patterns: group names in inventory order. */
  groupNames(): string[] {
    return this.groupList.map((g) => g.name);
  }

  /** For host patterns: a group's hosts with its descendants'. */
  groupHosts(group: string): InventoryHost[] {
    return this.members.get(group) ?? [];
  }

  /** For host patterns: the hosts the inventory itself defines. */
  definedHosts(): InventoryHost[] {
    return this.hostList;
  }

  /** For host patterns: what a localhost name falls back to. */
  localhost(): InventoryHost {
    return this.local;
  }
}

/** Loads inventory sources (files, directories, `host1,host2` lists); none gives only the implicit localhost. */
export async function loadInventory(sources: string[], opts: { playbookDir?: string } = {}): Promise<Inventory> {
  const graph = new InventoryGraph();
  const read: string[] = [];
  const varDirs: string[] = [];
  for (const source of sources) {
    if (source === '') continue;
    const path = resolve(source.startsWith('~/') ? join(homedir(), source.slice(2)) : source);
    const kind = await kindOf(path);
    if (kind === undefined && source.includes(',')) {
      readHostList(source, graph);
      continue;
    }
    if (kind === undefined) {
      throw new OptionsError(`inventory source not found: ${source}`, {
        hint: source.includes(',') ? undefined : "to give hosts directly, separate them with commas (a single host needs a trailing comma: 'host1,')",
      });
    }
    if (kind === 'dir') {
      await readInventoryDir(path, graph, read);
      varDirs.push(path);
    } else {
      await readInventoryFile(path, graph, read);
      varDirs.push(dirname(path));
    }
  }
  graph.reconcile();

  const groupNames = [...graph.groups.keys()];
  const hostNames = [...graph.hosts.keys()];
  if (!graph.localhost) hostNames.push('localhost');
  const inventoryDirs: DirVars[] = [];
  for (const dir of [...new Set(varDirs)]) inventoryDirs.push(await loadDirVars(dir, groupNames, hostNames, read));
  const playbookDirVars = opts.playbookDir === undefined ? undefined : await loadDirVars(resolve(opts.playbookDir), groupNames, hostNames, read);
  return new Inventory(graph, inventoryDirs, playbookDirVars, [...new Set(read)]);
}

function readHostList(source: string, graph: InventoryGraph): void {
  for (const entry of source.split(',')) {
    const text = entry.trim();
    if (text === '') continue;
    const addr = parseAddress(text, false);
    const name = addr?.host ?? text;
    // Ansible's basedir() of a host list is None, which it then writes out as the text 'None'.
    if (!graph.hosts.has(name)) graph.addHost(name, 'ungrouped', { port: addr?.port, source: { file: source, dir: 'None' } });
  }
}

async function readInventoryDir(dir: string, graph: InventoryGraph, read: string[]): Promise<void> {
  for (const name of (await readdir(dir)).sort()) {
    if (IGNORED_IN_DIR.test(name)) continue;
    const path = join(dir, name);
    const kind = await kindOf(path);
    if (kind === 'dir') await readInventoryDir(path, graph, read);
    else if (kind === 'file') await readInventoryFile(path, graph, read);
  }
}

/** Reads one inventory file, telling YAML from INI by its extension and content as Ansible's plugins do. */
async function readInventoryFile(file: string, graph: InventoryGraph, read: string[]): Promise<void> {
  const text = await readText(file);
  read.push(file);
  const source = { file, dir: dirname(file) };
  const ext = extname(file);
  if (YAML_EXTENSIONS.includes(ext)) {
    const data = parseYaml(text, file);
    if (data === null) return;
    if (!looksLikeYamlInventory(data)) {
      throw new ValidationError(`a YAML inventory must be a mapping of group names (such as 'all:'), got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`, {
        pos: { file, line: 1, col: 1 },
        hint: 'start with:\nall:\n  hosts:\n    host1:',
      });
    }
    readYamlInventory(data, file, graph, source);
    return;
  }
  if (ext === '') {
    let data: unknown;
    let yamlError: ParseError | undefined;
    try {
      data = parseYaml(text, file);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      yamlError = err;
    }
    if (yamlError === undefined && looksLikeYamlInventory(data)) {
      readYamlInventory(data, file, graph, source);
      return;
    }
    try {
      parseIniInventory(text, file, graph, source);
    } catch (err) {
      if (yamlError && err instanceof ParseError && /^\s*(?:---|all\s*:)/m.test(text)) {
        // A file that looks like YAML but does not parse is better explained by the YAML error.
        throw yamlError;
      }
      throw err;
    }
    return;
  }
  parseIniInventory(text, file, graph, source);
}

async function loadDirVars(dir: string, groups: string[], hosts: string[], read: string[]): Promise<DirVars> {
  const load = async (sub: string, names: string[]): Promise<Map<string, Vars>> => {
    const out = new Map<string, Vars>();
    const base = join(dir, sub);
    if ((await kindOf(base)) !== 'dir') return out;
    for (const name of names) {
      const files = await findVarsFiles(base, name);
      if (files.length === 0) continue;
      const merged: Vars = {};
      for (const file of files) {
        Object.assign(merged, await loadVarsFile(file));
        read.push(file);
      }
      out.set(name, deepFreeze(merged));
    }
    return out;
  };
  return { dir, groups: await load('group_vars', groups), hosts: await load('host_vars', hosts) };
}

async function kindOf(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const st = await stat(path);
    return st.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** Ansible's sort_groups: by depth, then ansible_group_priority, then name. */
function groupOrder(a: InventoryGroup, b: InventoryGroup): number {
  return a.depth - b.depth || a.priority - b.priority || byCodePoint(a.name, b.name);
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
