// The variables a task sees on a host, by Ansible's precedence (20 layers, lowest first) with the magic
// variables on top; and the run's table of hosts, which those variables read (hostvars).
import { dirname } from 'node:path';
import type { SourcePos } from '../errors.js';
import { imgplayVersion } from '../host/version.js';
import { type Inventory, type InventoryHost, inventoryLayersInOrder, type VarLayers } from '../inventory/inventory.js';
import { roleLabel, type RoleInstance } from '../playbook/model.js';
import { OMIT } from '../jinja/expr.js';
import { lazyVars } from '../jinja/scope.js';
import { markSelfTemplating, pyRepr } from '../jinja/values.js';
import { playbookPython, roleNameVars, searchPath } from './magic.js';
import type { Scope } from './scope.js';
import { activeHosts, type HostRun, newHostRun, type PlayRun, type RunOptions } from './state.js';

/** What a task brings to its variables: its role (and the roles above it), its own vars, its place. */
export type TaskVarsSource = { role?: RoleInstance | undefined; vars?: Readonly<Record<string, unknown>>; pos?: SourcePos };

// `ansible_facts` is defined, empty, on a host whose facts were never gathered, as in Ansible.
const NO_FACTS: Readonly<Record<string, unknown>> = Object.freeze({ ansible_facts: Object.freeze({}) });

/** The run's hosts and the variables each sees. */
export class HostVars {
  /** Every host that took part so far, by name. */
  readonly hosts = new Map<string, HostRun>();
  /** The inventory never changes during a run: its variable layers and groups are read once. */
  private readonly invLayers = new Map<string, VarLayers>();
  private groups: Record<string, string[]> | undefined;
  /** Which host each variables object (a task's, or hostvars[x]) belongs to, for the stage cache's records. */
  private readonly owners = new WeakMap<object, string>();
  /** Set while a stage cache listens: it asks whose variables a read went through. */
  trackOwners = false;
  private readonly playbookDir: string;

  constructor(
    playbookFile: string,
    private current: Inventory,
    private readonly opts: Pick<RunOptions, 'check' | 'diff' | 'tags' | 'skipTags' | 'verbosity' | 'extraVars' | 'forks' | 'limit' | 'inventorySources'>,
  ) {
    this.playbookDir = dirname(playbookFile);
  }

  /** The inventory as the run has changed it so far (add_host, group_by). */
  get inventory(): Inventory {
    return this.current;
  }

  /** Changes the inventory (add_host, group_by) for the rest of the run; returns whether anything changed. Hosts
   *  see their new groups and variables from the next task on. */
  changeInventory(edit: Parameters<Inventory['withChange']>[0]): boolean {
    const { inventory, changed } = this.current.withChange(edit);
    if (!changed) return false;
    this.current = inventory;
    this.invLayers.clear();
    this.groups = undefined;
    for (const h of this.hosts.values()) h.inv = inventory.host(h.name) ?? h.inv;
    return true;
  }

  /** The run's state of an inventory host, made on first use. */
  hostRun(inv: InventoryHost): HostRun {
    let h = this.hosts.get(inv.name);
    if (!h) {
      h = newHostRun(inv);
      this.hosts.set(inv.name, h);
    }
    return h;
  }

  /** An inventory host by name; localhost and 127.0.0.1 are the implicit localhost when the inventory has none. */
  inventoryHost(name: string): InventoryHost | undefined {
    return this.current.host(name) ?? (['localhost', '127.0.0.1'].includes(name) ? this.current.localhost() : undefined);
  }

  /** The inventory's groups and their hosts (Ansible's `groups`). */
  groupMap(): Record<string, string[]> {
    this.groups ??= this.current.groupMap();
    return this.groups;
  }

  /** The host a variables object (or one it was derived from) belongs to. */
  ownerOf(scope: object): string | undefined {
    for (let o: object | null = scope; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
      const owner = this.owners.get(o);
      if (owner !== undefined) return owner;
    }
    return undefined;
  }

  /** A host's variables as a stage's key sees them: what the inventory, earlier stages (facts, registered
   *  results) and extra vars give it, unrendered, with the magic variables that name the host and its groups. */
  rawVars(h: HostRun): Record<string, unknown> {
    return Object.assign({}, ...this.ownLayers(h), {
      ...this.hostMagic(h),
      playbook_dir: this.playbookDir,
    }) as Record<string, unknown>;
  }

  /** The variables a task sees on a host, by Ansible's precedence (lowest first), magic variables and `extra` on top. */
  forTask(pr: PlayRun, h: HostRun, task: TaskVarsSource | undefined, scope: Scope, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const play = pr.play;
    const chain = roleChain(task);
    const layers: Array<Readonly<Record<string, unknown>> | undefined> = [
      NO_FACTS,
      ...play.roles.map((r) => r.defaults),
      ...chain.map((r) => r.defaults),
      ...inventoryLayersInOrder(this.inventoryLayers(h)),
      h.facts,
      play.vars,
      h.varsFiles,
      ...play.roles.map((r) => r.vars),
      ...chain.map((r) => r.vars),
      ...scope.vars,
      task?.vars,
      h.includeVars,
      h.nonPersistent,
      ...chain.map((r) => r.params),
      scope.includeParams,
      this.opts.extraVars,
    ];
    const vars = lazyVars(layers, { ...this.magic(pr, h, task), ...extra });
    if (this.trackOwners) this.owners.set(vars, h.name);
    return vars;
  }

  /** The variables a handler's name is templated with, as 2.14: the play's, its roles' and the extra vars, no host's. */
  forHandlerName(pr: PlayRun, task: TaskVarsSource): Record<string, unknown> {
    const play = pr.play;
    const chain = roleChain(task);
    const layers: Array<Readonly<Record<string, unknown>> | undefined> = [
      ...play.roles.map((r) => r.defaults),
      ...chain.map((r) => r.defaults),
      play.vars,
      ...play.roles.map((r) => r.vars),
      ...chain.map((r) => r.vars),
      task.vars,
      ...chain.map((r) => r.params),
      this.opts.extraVars,
    ];
    return lazyVars(layers, { groups: this.groupMap(), ...this.magic(pr, undefined, task) });
  }

  // The magic variables of a task: the host's names, the play's hosts, the run's options, its role and place.
  private magic(pr: PlayRun, h: HostRun | undefined, task: TaskVarsSource | undefined): Record<string, unknown> {
    const active = activeHosts(pr).map((x) => x.name);
    return {
      ...(h ? this.hostMagic(h) : {}),
      hostvars: this.hostvarsProxy(),
      ...this.runMagic(),
      // As 2.14: the play's hosts across its batches, less those failed, unreachable or ended; the batch's alone.
      ansible_play_hosts: activeHosts(pr, pr.allHosts).map((x) => x.name),
      ansible_play_hosts_all: pr.allHosts.map((x) => x.name),
      ansible_play_batch: active,
      play_hosts: active,
      ansible_play_name: pr.play.name,
      ...roleNameVars(pr.play),
      ...(task ? { ansible_search_path: searchPath(task, this.playbookDir) } : {}),
      ...(task?.role ? { role_name: task.role.name, role_path: task.role.path, ansible_role_name: roleLabel(task.role), ansible_collection_name: task.role.collection ?? null } : {}),
    };
  }

  // The magic variables of the run itself, which hostvars[x] has too: its options, versions and places.
  private runMagic(): Record<string, unknown> {
    return {
      playbook_dir: this.playbookDir,
      ansible_check_mode: this.opts.check,
      ansible_diff_mode: this.opts.diff,
      ansible_run_tags: this.opts.tags.length ? this.opts.tags : ['all'],
      ansible_skip_tags: this.opts.skipTags,
      ansible_verbosity: this.opts.verbosity,
      ansible_forks: this.opts.forks,
      ansible_inventory_sources: [...(this.opts.inventorySources ?? [])],
      ...(this.opts.limit !== undefined ? { ansible_limit: this.opts.limit } : {}),
      ansible_version: { full: '2.14.0', major: 2, minor: 14, revision: 0, string: '2.14.0 (imgplay)' },
      imgplay_version: imgplayVersion(),
      omit: OMIT,
      ansible_playbook_python: playbookPython(),
      ansible_config_file: null,
    };
  }

  // A host's own variable layers, lowest first, whatever play it is in: its inventory's, facts, include_vars,
  // set_fact and registered results, extra vars. hostvars[x] and a stage's key both see these.
  private ownLayers(h: HostRun): Array<Readonly<Record<string, unknown>>> {
    return [...inventoryLayersInOrder(this.inventoryLayers(h)), h.facts, h.includeVars, h.nonPersistent, this.opts.extraVars];
  }

  // The inventory never changes during a run: a host's variable layers are read once.
  private inventoryLayers(h: HostRun): VarLayers {
    let inv = this.invLayers.get(h.name);
    if (!inv) {
      inv = this.current.varLayers(h.name);
      this.invLayers.set(h.name, inv);
    }
    return inv;
  }

  // The magic variables that name a host and its groups.
  private hostMagic(h: HostRun): Record<string, unknown> {
    return {
      inventory_hostname: h.name,
      inventory_hostname_short: h.name.split('.')[0],
      group_names: h.inv.groups.filter((g) => g !== 'all' && g !== 'ungrouped').sort(),
      groups: this.groupMap(),
    };
  }

  // hostvars: every inventory host's variables, built when read.
  private hostvarsProxy(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const inv of this.current.hosts()) {
      Object.defineProperty(out, inv.name, {
        enumerable: true,
        get: () => markSelfTemplating(this.forHostvars(this.hostRun(inv)), `hostvars[${pyRepr(inv.name)}]`),
      });
    }
    return markSelfTemplating(out, 'hostvars');
  }

  // hostvars[x] as Ansible builds it (a host's variables without a play or a task): the inventory's, facts,
  // include_vars, set_fact and registered results, extra vars and the run's magic variables. No play's or
  // role's variables, no play hosts, and no hostvars or vars inside it, so dumping it (`to_nice_json`) ends.
  private forHostvars(h: HostRun): Record<string, unknown> {
    const vars = lazyVars([NO_FACTS, ...this.ownLayers(h)], { ...this.hostMagic(h), ...this.runMagic() }, true);
    if (this.trackOwners) this.owners.set(vars, h.name);
    return vars;
  }
}

// A task's role and the roles that pulled it in, outermost first (their defaults and vars apply in that order).
function roleChain(task: TaskVarsSource | undefined): RoleInstance[] {
  const chain: RoleInstance[] = [];
  for (let r = task?.role; r; r = r.parent) chain.unshift(r);
  return chain;
}
