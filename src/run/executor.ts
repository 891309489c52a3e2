// Runs resolved plays: hosts in lockstep task by task (Ansible's linear strategy), blocks with
// rescue/always, loops, retries, handlers, and the result contract. It touches hosts only through
// connections, and keeps all run state in the objects it creates (no module-level state).
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { EXIT, ImgplayError, InternalError, UndefinedVariableError, UnreachableError, ValidationError, type SourcePos } from '../errors.js';
import { openConnection } from '../connection/index.js';
import type { Connection } from '../connection/types.js';
import { LocalConnection } from '../connection/local.js';
import { findModule } from '../modules/index.js';
import type { ModuleContext, ModuleResult } from '../modules/types.js';
import { type Inventory, type InventoryHost, inventoryLayersInOrder, type VarLayers } from '../playbook/inventory.js';
import { loadYamlFile, excerpt, posOf, posOfKey } from '../yaml/load.js';
import type { BlockNode, IncludeNode, Inherited, Node, Play, Playbook, RoleInstance, TaskNode } from '../playbook/model.js';
import { checkStrategy, fileLink, findIncludeFile, HOST_ORDERS, loadRoleEntry, loadTaskFile, type ParseContext } from '../playbook/resolve.js';
import type { Reporter, ResultStatus, Where } from '../report/events.js';
import { asUserError, evaluate, evaluateCondition, OMIT, TEMPLATED_CONDITION } from '../vars/expr.js';
import { markSelfTemplating, markUnsafe, pyRepr, truthy, tuplesAsLists } from '../vars/values.js';
import { listenToReads, noteRead, workingFor } from '../host/reads.js';
import { lazyVars } from '../vars/scope.js';
import { isTemplate, renderString, templateValue } from '../vars/template.js';
import { ArgumentError, prepareArgs, runOtherModule } from './args.js';
import { checkBecome } from './become.js';
import { loopControlOf, loopItems, loopItemVars } from '../playbook/loop.js';
import { playbookPython, roleNameVars, searchPath } from './magic.js';
import { expandLimit } from '../playbook/host-pattern.js';
import { DEFAULT_CACHE_DIR, LOCATION_VARS, STAGE_VAR, StageCache, type StageSummary } from './stages.js';
import { Stats } from './stats.js';
import { selectedByTags } from '../playbook/tags.js';

/** How a run behaves, from the command line. */
export interface RunOptions {
  check: boolean;
  diff: boolean;
  tags: string[];
  skipTags: string[];
  startAtTask?: string | undefined;
  limit?: string | undefined;
  verbosity: number;
  forks: number;
  extraVars: Record<string, unknown>;
  signal: AbortSignal;
  /** --force-handlers: a play's default for force_handlers. */
  forceHandlers?: boolean | undefined;
  /** --no-cache: every stage is built afresh and nothing is stored. */
  noCache?: boolean | undefined;
  /** --cache-dir: the stage cache's folder (else the `cache_dir` variable, else /var/cache/imgplay). */
  cacheDir?: string | undefined;
}

/** The outcome of a run: the exit code ansible-playbook would give, and the recap counters. */
export interface RunOutcome {
  exitCode: number;
  stats: Stats;
}

interface HostRun {
  readonly name: string;
  readonly inv: InventoryHost;
  facts: Record<string, unknown>;
  nonPersistent: Record<string, unknown>;
  includeVars: Record<string, unknown>;
  failed: boolean;
  unreachable: boolean;
  /** meta: end_host, for the current play. */
  ended: boolean;
  notified: Set<Node>;
  connections: Map<string, Connection>;
  varsFiles: Record<string, unknown>;
}

/** What a node inherits from the blocks, imports and roles around it. */
interface Scope {
  readonly when: ReadonlyArray<{ cond: unknown; pos: SourcePos }>;
  readonly tags: readonly string[];
  readonly vars: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly includeParams: Readonly<Record<string, unknown>>;
  readonly environment: readonly unknown[];
  readonly check_mode?: unknown;
  readonly ignore_errors?: unknown;
  readonly no_log?: unknown;
  readonly delegate_to?: unknown;
  readonly handler: boolean;
  /** The include_tasks files and include_role roles this node runs inside, outermost first. */
  readonly includes: readonly string[];
  /** Keywords of ansible-core 2.14 the innermost node decides (see INHERITED_KEYWORDS). */
  readonly any_errors_fatal?: unknown;
  readonly run_once?: unknown;
  readonly ignore_unreachable?: unknown;
  readonly throttle?: unknown;
  readonly timeout?: unknown;
  readonly diff?: unknown;
  readonly delegate_facts?: unknown;
  /** module_defaults entries, outermost first: later entries win. */
  readonly module_defaults?: readonly Readonly<Record<string, unknown>>[];
  readonly become?: Readonly<Record<string, unknown>>;
}

// How deep include_tasks and include_role may nest. Ansible has no limit of its own (Python's recursion limit
// ends a runaway one with a crash); a recursion ended by a `when:` stays far below this (docs/language.md).
const MAX_INCLUDE_DEPTH = 100;
// How many includes one run may expand in all: far above any real build; a runaway (a looped include of itself
// under ignore_errors) reaches it in about two minutes here, most of it printing.
const MAX_INCLUDES = 100_000;

interface PlayRun {
  readonly play: Play;
  readonly hosts: HostRun[];
  ended: boolean;
  /** any_errors_fatal or max_fail_percentage ended the play: the playbook stops after it. */
  broken: boolean;
  handlers: Node[];
  /** The play's max_fail_percentage, templated as it starts (undefined: none). */
  maxFailPercentage?: number | undefined;
  /** The play's force_handlers (or --force-handlers). */
  forceHandlers: boolean;
}

interface TaskOutcome {
  status: ResultStatus;
  result: ModuleResult;
  ignored: boolean;
  /** For an error of the engine: where in the playbook it lies. */
  where?: Where | undefined;
}

const TRUTHY = (v: unknown): boolean =>
  Array.isArray(v) ? v.length > 0 : v && typeof v === 'object' ? Object.keys(v).length > 0 : Boolean(v);

/** Runs a playbook against an inventory, reporting as it goes. */
export class Executor {
  private readonly stats = new Stats();
  private readonly hosts = new Map<string, HostRun>();
  private readonly controller = new LocalConnection();
  /** Controller files read while running (vars files, included task files, module sources), each told to the stage cache. */
  private readonly filesRead = new NotedFiles();
  /** The stage cache (plays naming an `imgplay_stage`), when on for this run. */
  private stageCache: StageCache | undefined;
  /** Which host each variables object (a task's, or hostvars[x]) belongs to, for the stage cache's records. */
  private readonly scopeOwners = new WeakMap<object, string>();
  /** The inventory never changes during a run: its variable layers and groups are read once. */
  private readonly invLayers = new Map<string, VarLayers>();
  private groups: Record<string, string[]> | undefined;
  private limit: string[] | undefined;
  private taskCounter = 0;
  private locationsKnown = false;
  /** Includes expanded so far in this run, against MAX_INCLUDES. */
  private includesExpanded = 0;
  private startAtFound: boolean;
  private interrupted = false;

  constructor(
    private readonly playbook: Playbook,
    private readonly inventory: Inventory,
    private readonly opts: RunOptions,
    private readonly reporter: Reporter,
  ) {
    this.startAtFound = opts.startAtTask === undefined;
    opts.signal.addEventListener('abort', () => {
      this.interrupted = true;
    });
  }

  /** Runs every play in order and returns the exit code and stats. */
  async run(): Promise<RunOutcome> {
    // `@file` limits are read once, before anything runs, as ansible-playbook reads them.
    this.limit = this.opts.limit ? await expandLimit(this.opts.limit) : undefined;
    this.reporter.emit({ type: 'playbook_start', file: this.playbook.file });
    for (const message of this.playbook.warnings) this.reporter.emit({ type: 'warning', message });
    if (this.limit && this.inventory.select(this.limit).length === 0) {
      this.reporter.emit({ type: 'warning', message: `Could not match supplied host pattern, ignoring: ${this.opts.limit}` });
    }
    this.stageCache = this.makeStageCache();
    if (this.stageCache) listenToReads(this.stageCache.onRead);
    try {
      for (const play of this.playbook.plays) {
        if (this.interrupted) break;
        const cont = await this.runPlay(play);
        if (!cont) break;
      }
      if (!this.interrupted) await this.stageCache?.beginPlay(new Map(), []);
    } finally {
      listenToReads(undefined);
      await this.stageCache?.finishAll(this.interrupted).catch((err: unknown) => this.reporter.emit({ type: 'warning', message: `stage cache: ${(err as Error).message}` }));
      await this.closeConnections([...this.hosts.values()], { keepController: false });
      // Delegated tasks use the controller without registering it on a host; its runners must stop too.
      await this.controller.close().catch(() => undefined);
    }
    if (this.interrupted) this.reporter.emit({ type: 'error', message: 'User interrupted execution' });
    this.reporter.emit({ type: 'recap', hosts: this.stats.summary() });
    const all = [...this.hosts.values()];
    const exitCode = this.interrupted
      ? EXIT.interrupted
      : // As ansible-core's strategy: an unreachable host outweighs a failed one.
        all.some((h) => h.unreachable)
        ? EXIT.unreachable
        : all.some((h) => h.failed)
          ? EXIT.hostFailed
          : EXIT.ok;
    return { exitCode, stats: this.stats };
  }

  /** The playbook file this executor runs. */
  playbookFile(): string {
    return this.playbook.file;
  }

  /** The stages this run built or put back from the stage cache, and the cache's folder (undefined: the cache was off). */
  stageSummaries(): { cacheDir: string; stages: StageSummary[] } | undefined {
    return this.stageCache === undefined ? undefined : { cacheDir: this.stageCache.folder(), stages: this.stageCache.summaries() };
  }

  // The stage cache is on when a cache folder is given and a play names a stage; runs that build only part
  // of a stage (--check, --tags, --skip-tags, --start-at-task) neither reuse nor store stages.
  private makeStageCache(): StageCache | undefined {
    if (this.opts.noCache) return undefined;
    if (!this.playbook.plays.some((p) => Object.hasOwn(p.vars, STAGE_VAR))) return undefined;
    const partial = this.opts.check ? '--check' : this.opts.tags.length > 0 ? '--tags' : this.opts.skipTags.length > 0 ? '--skip-tags' : this.opts.startAtTask !== undefined ? '--start-at-task' : undefined;
    if (partial !== undefined) {
      this.reporter.emit({ type: 'warning', message: `the stage cache is off for this run: with ${partial} a stage may not be built whole` });
      return undefined;
    }
    // on-imagebuilder's layout keeps playbooks/ beside roles/: the project is the folder holding both.
    const dir = dirname(this.playbook.file);
    const root = basename(dir) === 'playbooks' ? dirname(dir) : dir;
    return new StageCache(root, {
      rawVars: (name) => {
        const inv = this.inventoryHost(name);
        return inv ? this.rawVars(this.hostRun(inv)) : undefined;
      },
      hostNames: () => this.inventory.hosts().map((h) => h.name),
      scopeOwner: (scope) => {
        for (let o: object | null = scope; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
          const owner = this.scopeOwners.get(o);
          if (owner !== undefined) return owner;
        }
        return undefined;
      },
      setFact: (f) => {
        const inv = this.inventoryHost(f.host);
        if (!inv) return;
        const h = this.hostRun(inv);
        if (f.layer === 'facts') h.facts[f.name] = f.value;
        else h.nonPersistent[f.name] = f.unsafe ? markUnsafe(f.value) : f.value;
      },
      factState: (name) => {
        const h = this.hosts.get(name);
        return { facts: h?.facts ?? {}, vars: h?.nonPersistent ?? {} };
      },
      hostFailed: (name) => {
        const h = this.hosts.get(name);
        return h !== undefined && (h.failed || h.unreachable);
      },
      emit: (ev) => this.reporter.emit(ev),
    });
  }

  // A host's variables as a stage's key sees them: what the inventory, earlier stages (facts, registered
  // results) and extra vars give it, unrendered, with the magic variables that name the host and its groups.
  private rawVars(h: HostRun): Record<string, unknown> {
    return Object.assign({}, ...inventoryLayersInOrder(this.inventoryLayers(h)), h.facts, h.includeVars, h.nonPersistent, this.opts.extraVars, {
      ...this.hostMagic(h),
      playbook_dir: dirname(this.playbook.file),
    }) as Record<string, unknown>;
  }

  // An inventory host by name; localhost and 127.0.0.1 are the implicit localhost when the inventory has none.
  private inventoryHost(name: string): InventoryHost | undefined {
    return this.inventory.host(name) ?? (['localhost', '127.0.0.1'].includes(name) ? this.inventory.localhost() : undefined);
  }

  // The inventory never changes during a run: a host's variable layers are read once.
  private inventoryLayers(h: HostRun): VarLayers {
    let inv = this.invLayers.get(h.name);
    if (!inv) {
      inv = this.inventory.varLayers(h.name);
      this.invLayers.set(h.name, inv);
    }
    return inv;
  }

  // The magic variables that name a host and its groups.
  private hostMagic(h: HostRun): Record<string, unknown> {
    this.groups ??= this.inventory.groupMap();
    return {
      inventory_hostname: h.name,
      inventory_hostname_short: h.name.split('.')[0],
      group_names: h.inv.groups.filter((g) => g !== 'all' && g !== 'ungrouped').sort(),
      groups: this.groups,
    };
  }

  // Each host's stage in this play (the play's imgplay_stage, rendered for it); returns the hosts whose stage
  // the cache put back.
  private async beginStages(play: Play, hosts: HostRun[], limitedOut: HostRun[]): Promise<Set<string>> {
    if (!this.stageCache) return new Set();
    const stages = new Map<string, string | undefined>();
    if (Object.hasOwn(play.vars, STAGE_VAR)) {
      const probe: PlayRun = { play, hosts: [...hosts, ...limitedOut], ended: false, broken: false, handlers: [], forceHandlers: false };
      for (const h of [...hosts, ...limitedOut]) {
        const vars = this.hostVars(probe, h, undefined, emptyScope());
        if (!this.locationsKnown) {
          const where: Record<string, string> = {};
          for (const name of LOCATION_VARS) {
            try {
              const v = templateValue(vars[name], vars);
              if (typeof v === 'string') where[name] = v;
            } catch {
              // A location that cannot be rendered yet is simply not used to shorten paths.
            }
          }
          this.stageCache.setLocations(where, this.opts.cacheDir ?? where.cache_dir ?? DEFAULT_CACHE_DIR);
          this.locationsKnown = true;
        }
        let stage: unknown;
        try {
          stage = templateValue(play.vars[STAGE_VAR], vars);
        } catch (err) {
          throw new ImgplayError(`${STAGE_VAR}: ${(err as Error).message}`, { pos: posOf(play.vars) ?? play.pos, cause: err });
        }
        // An empty name keeps a host out of every stage (a helper host in a play of per-host stages).
        if (stage === '' || stage === null) {
          stages.set(h.name, undefined);
          continue;
        }
        if (typeof stage !== 'string' || stage.trim() === '') throw new ImgplayError(`${STAGE_VAR} must name the play's stage (a non-empty string), got ${pyRepr(stage)}`, { pos: posOf(play.vars) ?? play.pos });
        stages.set(h.name, stage);
      }
    }
    const outside = new Map<string, string>();
    for (const h of limitedOut) {
      const stage = stages.get(h.name);
      stages.delete(h.name);
      if (stage !== undefined) outside.set(h.name, stage);
    }
    return this.stageCache.beginPlay(stages, [...play.files, ...play.roles.map((r) => r.path)], outside);
  }

  private hostRun(inv: InventoryHost): HostRun {
    let h = this.hosts.get(inv.name);
    if (!h) {
      h = { name: inv.name, inv, facts: {}, nonPersistent: {}, includeVars: {}, failed: false, unreachable: false, ended: false, notified: new Set(), connections: new Map(), varsFiles: {} };
      this.hosts.set(inv.name, h);
    }
    return h;
  }

  /** Returns false when the playbook must stop (no hosts left). */
  private async runPlay(play: Play): Promise<boolean> {
    let selected = this.inventory.select(this.playHosts(play));
    let limitedOut: InventoryHost[] = [];
    if (this.limit) {
      const limited = new Set(this.inventory.select(this.limit).map((h) => h.name));
      limitedOut = selected.filter((h) => !limited.has(h.name));
      selected = selected.filter((h) => limited.has(h.name));
    }
    selected = this.ordered(play, selected);
    let hosts = selected.map((inv) => this.hostRun(inv)).filter((h) => !h.failed && !h.unreachable);
    // Hosts whose stage was found in the stage cache sit the play out: what it would make was put back.
    const reused = await this.beginStages(play, hosts, limitedOut.map((inv) => this.hostRun(inv)));
    hosts = hosts.filter((h) => !reused.has(h.name));
    const name = this.tryRender(play.name, {});
    this.reporter.emit({ type: 'play_start', name, hosts: hosts.map((h) => h.name), file: play.pos.file });
    if (selected.length === 0) {
      this.reporter.emit({ type: 'no_hosts_matched' });
      return true;
    }
    if (hosts.length === 0 && reused.size > 0) {
      this.reporter.emit({ type: 'play_reused', hosts: [...reused] });
      return true;
    }
    if (hosts.length === 0) {
      this.reporter.emit({ type: 'no_hosts_remaining' });
      return false;
    }
    for (const h of hosts) {
      h.ended = false;
      h.notified.clear();
      this.stats.touch(h.name);
    }
    const pr: PlayRun = { play, hosts, ended: false, broken: false, handlers: [...play.handlers], forceHandlers: false };
    this.playKeywords(pr);
    const scope: Scope = {
      when: play.when.map((cond) => ({ cond, pos: play.pos })),
      tags: play.tags,
      vars: [],
      includeParams: {},
      environment: play.environment === undefined ? [] : [play.environment],
      check_mode: play.check_mode,
      ignore_errors: play.ignore_errors,
      no_log: play.no_log,
      delegate_to: undefined,
      handler: false,
      includes: [],
      ...innerKeywords(emptyScope(), play),
    };
    try {
      for (const h of hosts) await workingFor(h.name, () => this.loadVarsFiles(pr, h));
      if (TRUTHY(this.tryTemplate(play.gather_facts, {}))) await this.gatherFacts(pr, scope);
      for (const section of [play.pre_tasks, play.tasks, play.post_tasks]) {
        if (pr.ended || this.interrupted) break;
        const okBefore = this.active(pr);
        await this.runNodes(pr, section, this.active(pr), scope);
        if (pr.ended || this.interrupted) break;
        // force_handlers: a host that failed in this section still runs the handlers it notified (as 2.14's
        // implicit always: flush_handlers around each section).
        const forced = pr.forceHandlers ? okBefore.filter((h) => h.failed && !h.unreachable) : [];
        await this.flushHandlers(pr, scope, forced);
      }
    } finally {
      // A chroot session lasts one play: the next play may squash or delete the tree, which must
      // not still have /proc and /dev mounted inside it. The controller stays open for the run.
      await this.closeConnections(hosts, { keepController: true });
    }
    if (pr.broken) return false;
    if (this.active(pr).length === 0 && pr.hosts.some((h) => h.failed || h.unreachable) && !pr.ended) {
      this.reporter.emit({ type: 'no_hosts_remaining' });
      return false;
    }
    return true;
  }

  // The play's `order:` (templated with its vars and extra vars): the order hosts run in, and so which one a
  // run_once task picks.
  private ordered(play: Play, hosts: InventoryHost[]): InventoryHost[] {
    if (play.strategy !== undefined) checkStrategy(this.playValue(play, play.strategy, 'strategy'), play.pos);
    if (play.order === undefined) return hosts;
    const order = String(this.playValue(play, play.order, 'order'));
    const byName = (a: InventoryHost, b: InventoryHost) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    switch (order) {
      case 'inventory':
        return hosts;
      case 'reverse_inventory':
        return [...hosts].reverse();
      case 'sorted':
        return [...hosts].sort(byName);
      case 'reverse_sorted':
        return [...hosts].sort(byName).reverse();
      case 'shuffle': {
        const out = [...hosts];
        for (let i = out.length - 1; i > 0; i--) {
          const j = Math.floor(Math.random() * (i + 1));
          [out[i], out[j]] = [out[j]!, out[i]!];
        }
        return out;
      }
      default:
        throw new ValidationError(`order: '${order}' is not a host order`, { pos: play.pos, hint: `one of ${HOST_ORDERS.join(', ')}` });
    }
  }

  // A play keyword templated as the play starts, with its vars and extra vars (no host's), as ansible-core 2.14.
  private playValue(play: Play, value: unknown, what: string): unknown {
    const vars = lazyVars([play.vars, this.opts.extraVars], { playbook_dir: dirname(this.playbook.file), omit: OMIT });
    try {
      return templateValue(value, vars);
    } catch (err) {
      if (!(err instanceof ImgplayError) || err instanceof InternalError) throw err;
      throw new ValidationError(`the play's ${what}: ${err.message}`, { pos: play.pos, cause: err });
    }
  }

  private playKeywords(pr: PlayRun): void {
    const { play } = pr;
    pr.forceHandlers = play.force_handlers === undefined ? Boolean(this.opts.forceHandlers) : truthy(this.playValue(play, play.force_handlers, 'force_handlers'));
    if (play.max_fail_percentage !== undefined) {
      const raw = this.playValue(play, play.max_fail_percentage, 'max_fail_percentage');
      const pct = typeof raw === 'string' ? Number(raw.replace(/%$/, '')) : Number(raw);
      if (!Number.isFinite(pct)) throw new ValidationError(`max_fail_percentage: ${JSON.stringify(raw)} is not a percentage`, { pos: play.pos });
      pr.maxFailPercentage = pct;
    }
  }

  // ansible-core 2.14 templates `hosts` as each play starts, with the play's vars and extra vars (no
  // host's): an undefined variable there ends the run with exit 4, after the plays before it ran.
  private playHosts(play: Play): string[] {
    if (!play.hosts.some((p) => isTemplate(p))) return [...play.hosts];
    this.groups ??= this.inventory.groupMap();
    const vars = lazyVars([play.vars, this.opts.extraVars], { groups: this.groups, playbook_dir: dirname(this.playbook.file), omit: OMIT });
    try {
      return play.hosts.flatMap((p) => {
        const v = templateValue(p, vars);
        return Array.isArray(v) ? v.map(String) : [String(v)];
      });
    } catch (err) {
      if (!(err instanceof ImgplayError) || err instanceof InternalError) throw err;
      throw new ValidationError(`the play's hosts: ${err.message}`, { pos: play.pos, hint: 'hosts may use the play\'s vars and extra vars (-e), not host or group vars', cause: err });
    }
  }

  // A chroot's close() unmounts what it mounted: a failure there must be seen, not swallowed.
  private async closeConnections(hosts: readonly HostRun[], opts: { keepController: boolean }): Promise<void> {
    for (const h of hosts) {
      for (const [key, c] of h.connections) {
        if (opts.keepController && c === this.controller) continue;
        h.connections.delete(key);
        await c.close().catch((err: unknown) => {
          this.reporter.emit({ type: 'warning', message: `closing ${c.describe()} failed: ${err instanceof Error ? err.message : String(err)}` });
        });
      }
    }
  }

  private active(pr: PlayRun, among: readonly HostRun[] = pr.hosts): HostRun[] {
    return pr.ended ? [] : among.filter((h) => !h.failed && !h.unreachable && !h.ended);
  }

  private async loadVarsFiles(pr: PlayRun, h: HostRun): Promise<void> {
    h.varsFiles = {};
    for (const entry of pr.play.vars_files) {
      const vars = this.hostVars(pr, h, undefined, emptyScope());
      let candidates: string[];
      try {
        candidates = (Array.isArray(entry) ? entry : [entry]).map((e) => String(templateValue(e, vars)));
      } catch (err) {
        if (!(err instanceof ImgplayError) || err instanceof InternalError) throw err;
        const at = posOf(entry) ?? posOf(pr.play.vars_files) ?? pr.play.pos;
        // ansible-core 2.14 skips an entry whose name uses an undefined variable, saying so only at -vvv.
        if (err instanceof UndefinedVariableError) {
          if (this.opts.verbosity >= 3) this.reporter.emit({ type: 'verbose', host: h.name, message: `skipping vars_file ${pyRepr(entry)} due to an undefined variable (${at.file}:${at.line}:${at.col}: ${err.message})` });
          continue;
        }
        throw new ImgplayError(`vars_files: ${err.message}`, { pos: at, hint: err.hint, cause: err });
      }
      const found = candidates.map((c) => (isAbsolute(c) ? c : join(pr.play.baseDir, c))).find((c) => existsSync(c));
      if (!found) throw new ImgplayError(`vars file ${candidates.join(' or ')} was not found`, { pos: pr.play.pos });
      this.filesRead.add(found);
      const data = await loadYamlFile(found);
      if (data !== null && (typeof data !== 'object' || Array.isArray(data))) throw new ImgplayError(`vars file ${found} must be a mapping`);
      Object.assign(h.varsFiles, data ?? {});
    }
  }

  private async gatherFacts(pr: PlayRun, scope: Scope): Promise<void> {
    const task: TaskNode = {
      kind: 'task',
      name: 'Gathering Facts',
      action: 'setup',
      args: pr.play.gatherArgs,
      notify: [],
      listen: [],
      when: [],
      tags: ['always'],
      vars: {},
      pos: pr.play.pos,
      baseDir: pr.play.baseDir,
    };
    await this.runTask(pr, task, this.active(pr), scope);
  }

  // ---- walking the tree ----

  private async runNodes(pr: PlayRun, nodes: readonly Node[], hosts: HostRun[], scope: Scope): Promise<void> {
    for (const node of nodes) {
      if (this.interrupted || pr.ended) return;
      const live = this.active(pr, hosts);
      if (live.length === 0) return;
      if (node.kind === 'task') await this.runTask(pr, node, live, scope);
      else if (node.kind === 'block') await this.runBlock(pr, node, live, scope);
      else await this.runInclude(pr, node, live, scope);
    }
  }

  private inner(scope: Scope, node: Node | BlockNode): Scope {
    return {
      when: [...scope.when, ...node.when.map((cond) => ({ cond, pos: node.pos }))],
      tags: [...scope.tags, ...node.tags],
      vars: Object.keys(node.vars).length ? [...scope.vars, node.vars] : scope.vars,
      includeParams: scope.includeParams,
      environment: node.environment === undefined ? scope.environment : [...scope.environment, node.environment],
      check_mode: node.check_mode ?? scope.check_mode,
      ignore_errors: node.ignore_errors ?? scope.ignore_errors,
      no_log: node.no_log ?? scope.no_log,
      delegate_to: node.delegate_to ?? scope.delegate_to,
      handler: scope.handler,
      includes: scope.includes,
      ...innerKeywords(scope, node),
    };
  }

  private async runBlock(pr: PlayRun, block: BlockNode, hosts: HostRun[], scope: Scope): Promise<void> {
    const inner = this.inner(scope, block);
    // Conditions on a block are evaluated per task (Ansible inherits them), but a block whose
    // conditions are false for every host need not be walked at all.
    const rescuable = block.rescue.length > 0;
    if (rescuable) for (const h of hosts) this.rescueDepth.set(h, (this.rescueDepth.get(h) ?? 0) + 1);
    try {
      await this.runNodes(pr, block.block, hosts, inner);
    } finally {
      if (rescuable) for (const h of hosts) this.rescueDepth.set(h, (this.rescueDepth.get(h) ?? 1) - 1);
    }
    const failedHere = hosts.filter((h) => h.failed && !h.unreachable);
    if (block.rescue.length > 0 && failedHere.length > 0) {
      for (const h of failedHere) h.failed = false;
      await this.runNodes(pr, block.rescue, failedHere, inner);
    }
    if (block.always.length > 0) {
      const stillFailed = hosts.filter((h) => h.failed && !h.unreachable);
      for (const h of stillFailed) h.failed = false;
      await this.runNodes(pr, block.always, hosts.filter((h) => !h.unreachable && !h.ended), inner);
      for (const h of stillFailed) h.failed = true;
    }
  }

  // ---- tags and start-at-task ----

  private selectedByTags(tags: readonly string[]): boolean {
    return selectedByTags(tags, this.opts.tags, this.opts.skipTags);
  }

  // ---- variables ----

  /** The variables a task sees on a host, by Ansible's precedence (lowest first). */
  private hostVars(pr: PlayRun, h: HostRun, task: { role?: RoleInstance | undefined; vars?: Readonly<Record<string, unknown>>; pos?: SourcePos } | undefined, scope: Scope, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const play = pr.play;
    const inv = this.inventoryLayers(h);
    const chain: RoleInstance[] = [];
    for (let r = task?.role; r; r = r.parent) chain.unshift(r);
    const layers: Array<Readonly<Record<string, unknown>> | undefined> = [
      ...play.roles.map((r) => r.defaults),
      ...chain.map((r) => r.defaults),
      ...inventoryLayersInOrder(inv),
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
    const hostNames = pr.hosts.map((x) => x.name);
    const magic: Record<string, unknown> = {
      ...this.hostMagic(h),
      hostvars: this.hostvarsProxy(pr),
      playbook_dir: dirname(this.playbook.file),
      ansible_play_hosts: this.active(pr).map((x) => x.name),
      ansible_play_hosts_all: hostNames,
      ansible_play_batch: this.active(pr).map((x) => x.name),
      play_hosts: this.active(pr).map((x) => x.name),
      ansible_play_name: play.name,
      ansible_check_mode: this.opts.check,
      ansible_diff_mode: this.opts.diff,
      ansible_run_tags: this.opts.tags.length ? this.opts.tags : ['all'],
      ansible_skip_tags: this.opts.skipTags,
      ansible_verbosity: this.opts.verbosity,
      ansible_version: { full: '2.14.0', major: 2, minor: 14, revision: 0, string: '2.14.0 (imgplay)' },
      imgplay_version: '0.1.0',
      omit: OMIT,
      ...roleNameVars(play),
      ansible_playbook_python: playbookPython(),
      ansible_config_file: null,
      ...(task ? { ansible_search_path: searchPath(task, dirname(this.playbook.file)) } : {}),
      ...(task?.role ? { role_name: task.role.name, role_path: task.role.path, ansible_role_name: task.role.name, ansible_collection_name: null } : {}),
      ...extra,
    };
    const vars = lazyVars(layers, magic);
    if (this.stageCache) this.scopeOwners.set(vars, h.name);
    return vars;
  }

  private hostvarsProxy(pr: PlayRun): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const inv of this.inventory.hosts()) {
      Object.defineProperty(out, inv.name, {
        enumerable: true,
        get: () => markSelfTemplating(this.hostVars(pr, this.hostRun(inv), undefined, emptyScope()), `hostvars[${pyRepr(inv.name)}]`),
      });
    }
    return markSelfTemplating(out, 'hostvars');
  }

  private tryRender(text: string, vars: Record<string, unknown>): string {
    try {
      return renderString(text, vars);
    } catch {
      return text;
    }
  }

  private tryTemplate(value: unknown, vars: Record<string, unknown>): unknown {
    try {
      return templateValue(value, Object.keys(vars).length > 0 ? vars : this.opts.extraVars);
    } catch {
      return value;
    }
  }

  // ---- tasks ----

  // The banner's name, rendered with the first host's variables; most names hold no template, so the
  // variables (the costliest part of a task's set-up) are built only for those that do.
  private displayName(node: TaskNode | IncludeNode, vars: () => Record<string, unknown>): string {
    const render = (text: string) => (isTemplate(text) ? this.tryRender(text, vars()) : text);
    const base =
      node.name !== undefined
        ? render(node.name)
        : node.kind === 'include' && node.action === 'include_role'
          ? `include_role : ${render(String(node.args.name ?? ''))}`
          : node.action;
    return node.role ? `${node.role.name} : ${base}` : base;
  }

  private startTask(pr: PlayRun, node: TaskNode | IncludeNode, hosts: HostRun[], scope: Scope): number {
    const id = ++this.taskCounter;
    const first = hosts[0];
    const vars = () => (first ? this.safeVars(pr, first, node, scope) : {});
    this.reporter.emit({ type: 'task_start', id, name: this.displayName(node, vars), handler: scope.handler, file: node.pos.file, line: node.pos.line });
    return id;
  }

  private safeVars(pr: PlayRun, h: HostRun, node: TaskNode | IncludeNode, scope: Scope): Record<string, unknown> {
    try {
      return this.hostVars(pr, h, node, scope);
    } catch {
      return {};
    }
  }

  private shouldRun(node: TaskNode | IncludeNode, scope: Scope): boolean {
    if (!scope.handler && !this.selectedByTags([...scope.tags, ...node.tags])) return false;
    if (!this.startAtFound && !scope.handler) {
      const name = node.name ?? '';
      const full = node.role ? `${node.role.name} : ${name}` : name;
      if (name === this.opts.startAtTask || full === this.opts.startAtTask || globMatch(this.opts.startAtTask!, full) || globMatch(this.opts.startAtTask!, name)) {
        this.startAtFound = true;
      } else return false;
    }
    return true;
  }

  private async runTask(pr: PlayRun, task: TaskNode, hosts: HostRun[], scope: Scope): Promise<void> {
    if (task.action === 'meta') return this.runMeta(pr, task, hosts, scope);
    if (!this.shouldRun(task, scope)) return;
    const id = this.startTask(pr, task, hosts, scope);
    const inner = this.inner(scope, task);
    // run_once: the first host runs it for all; what it registers and the facts it sets go to every host of
    // the play, its counts and notifications to the first host only (ansible-core 2.14's linear strategy).
    const first = hosts[0];
    const runOnce = first !== undefined && inner.run_once !== undefined && this.keywordTrue(inner.run_once, pr, first, task, inner);
    const targets = runOnce ? [first] : hosts;
    const share = runOnce ? pr.hosts.filter((x) => !x.unreachable && x !== first) : [];
    const throttle = runOnce || inner.throttle === undefined || first === undefined ? 0 : Number(this.keywordValue(inner.throttle, pr, first, task, inner));
    const failedBefore = new Set(pr.hosts.filter((h) => h.failed || h.unreachable));
    let fatal = false;
    await forEachLimited(targets, throttle > 0 ? Math.min(this.opts.forks, throttle) : this.opts.forks, async (h) => {
      const outcome = await workingFor(h.name, () => this.runTaskOnHost(pr, task, h, inner, id, share));
      if (outcome.status === 'unreachable' && inner.ignore_unreachable !== undefined && this.keywordTrue(inner.ignore_unreachable, pr, h, task, inner)) outcome.ignored = true;
      this.count(h, outcome);
      const unrescued = (outcome.status === 'failed' && !outcome.ignored && (this.rescueDepth.get(h) ?? 0) === 0) || (outcome.status === 'unreachable' && !outcome.ignored);
      if (unrescued && inner.any_errors_fatal !== undefined && !this.keywordTrue(inner.ignore_errors ?? false, pr, h, task, inner) && this.keywordTrue(inner.any_errors_fatal, pr, h, task, inner)) fatal = true;
      // A run_once task that fails fails every host of the play (each then goes to its rescue, if any).
      if (runOnce && outcome.status === 'failed' && !outcome.ignored) {
        for (const other of share) other.failed = true;
        if ((this.rescueDepth.get(h) ?? 0) === 0) fatal = true;
      }
      if (outcome.status === 'failed' && !outcome.ignored && (this.rescueDepth.get(h) ?? 0) > 0) {
        // What rescue and always sections read to learn what went wrong, as in Ansible.
        h.nonPersistent.ansible_failed_task = { name: task.name ?? task.action, action: task.action, args: task.args, tags: task.tags, when: task.when };
        h.nonPersistent.ansible_failed_result = markUnsafe(stripInternal(outcome.result));
      }
      if (outcome.status === 'failed' && !outcome.ignored) h.failed = true;
      if (outcome.status === 'unreachable' && !outcome.ignored) h.unreachable = true;
      if (outcome.status === 'changed' && task.notify.length > 0) this.notify(pr, h, task);
    });
    this.checkFailures(pr, failedBefore, fatal);
  }

  // any_errors_fatal (and a failed run_once) end the play for every host, as does passing the play's
  // max_fail_percentage; the playbook then stops (2.14's RUN_FAILED_BREAK_PLAY).
  private checkFailures(pr: PlayRun, failedBefore: ReadonlySet<HostRun>, fatal: boolean): void {
    const failedNow = pr.hosts.filter((h) => (h.failed && (this.rescueDepth.get(h) ?? 0) === 0) || h.unreachable);
    const tooMany = pr.maxFailPercentage !== undefined && pr.hosts.length > 0 && failedNow.length / pr.hosts.length > pr.maxFailPercentage / 100;
    if (!tooMany && !(fatal && failedNow.some((h) => !failedBefore.has(h)))) return;
    for (const h of pr.hosts) if (!h.unreachable && !h.ended) h.failed = true;
    pr.ended = true;
    pr.broken = true;
  }

  private keywordValue(value: unknown, pr: PlayRun, h: HostRun, task: TaskNode, scope: Scope): unknown {
    return templateValue(value, this.hostVars(pr, h, task, scope));
  }

  private keywordTrue(value: unknown, pr: PlayRun, h: HostRun, task: TaskNode, scope: Scope): boolean {
    return this.bool(value, this.hostVars(pr, h, task, scope));
  }

  private count(h: HostRun, o: TaskOutcome): void {
    // A task cut short by Ctrl-C or SIGTERM did not fail: the run says it was interrupted instead.
    if (this.interrupted && o.status === 'failed') return;
    switch (o.status) {
      case 'ok':
        this.stats.increment(h.name, 'ok');
        break;
      case 'changed':
        this.stats.increment(h.name, 'ok');
        this.stats.increment(h.name, 'changed');
        break;
      case 'skipped':
        this.stats.increment(h.name, 'skipped');
        break;
      case 'unreachable':
        if (o.ignored) {
          this.stats.increment(h.name, 'ok');
          this.stats.increment(h.name, 'ignored');
        } else this.stats.increment(h.name, 'unreachable');
        break;
      case 'failed':
        if (o.ignored) {
          this.stats.increment(h.name, 'ok');
          this.stats.increment(h.name, 'ignored');
          if (o.result.changed) this.stats.increment(h.name, 'changed');
        } else if ((this.rescueDepth.get(h) ?? 0) > 0) this.stats.increment(h.name, 'rescued');
        else this.stats.increment(h.name, 'failed');
        break;
    }
  }

  /** How many blocks with a rescue section each host is inside (its failures there count as rescued). */
  private readonly rescueDepth = new Map<HostRun, number>();

  private notify(pr: PlayRun, h: HostRun, task: TaskNode): void {
    const vars = this.hostVars(pr, h, task, emptyScope());
    for (const raw of task.notify) {
      const name = this.tryRender(raw, vars);
      const matches = pr.handlers.filter((hd) => {
        if (hd.kind !== 'task') return false;
        const hname = hd.name === undefined ? undefined : this.tryRender(hd.name, vars);
        return hname === name || (hd.role && hname !== undefined && `${hd.role.name} : ${hname}` === name) || hd.listen.includes(name);
      });
      if (matches.length === 0) {
        // Ansible stops the whole run here (exit 1), not just the host.
        throw new ImgplayError(`The requested handler '${name}' was not found in either the main handlers list nor in the listening handlers list`, { pos: task.pos });
      }
      for (const m of matches) h.notified.add(m);
    }
  }

  private async flushHandlers(pr: PlayRun, scope: Scope, forced: readonly HostRun[] = []): Promise<void> {
    // Hosts that failed run their handlers under force_handlers: unfailed for the flush, failed again after.
    for (const h of forced) h.failed = false;
    try {
      await this.flushPasses(pr, scope);
    } finally {
      for (const h of forced) h.failed = true;
    }
  }

  private async flushPasses(pr: PlayRun, scope: Scope): Promise<void> {
    const handlerScope: Scope = { ...scope, handler: true };
    for (let pass = 0; pass < 10; pass++) {
      let ran = false;
      for (const handler of pr.handlers) {
        const hosts = this.active(pr).filter((h) => h.notified.has(handler));
        if (hosts.length === 0) continue;
        for (const h of hosts) h.notified.delete(handler);
        ran = true;
        if (handler.kind === 'task') await this.runTask(pr, handler, hosts, handlerScope);
        else if (handler.kind === 'block') await this.runBlock(pr, handler, hosts, handlerScope);
        else await this.runInclude(pr, handler, hosts, handlerScope);
      }
      if (!ran) return;
    }
  }

  private async runMeta(pr: PlayRun, task: TaskNode, hosts: HostRun[], scope: Scope): Promise<void> {
    if (!this.shouldRun(task, scope)) return;
    const action = String(task.args._raw_params ?? '');
    const inner = this.inner(scope, task);
    const applies = (h: HostRun) => {
      const vars = this.hostVars(pr, h, task, inner);
      return inner.when.every(({ cond }) => evaluateCondition(cond, vars));
    };
    // As 2.14's linear strategy: flush_handlers and end_host act per host, by each host's condition; the
    // other actions run once, by the first host's condition, and act on every host of the play.
    const first = hosts[0];
    const once = () => first !== undefined && applies(first);
    switch (action) {
      case 'flush_handlers': {
        const held = hosts.filter((h) => !applies(h));
        // Hosts whose condition is false keep their notifications for a later flush.
        const kept = held.map((h) => [h, new Set(h.notified)] as const);
        for (const h of held) h.notified.clear();
        try {
          await this.flushHandlers(pr, scope);
        } finally {
          for (const [h, notified] of kept) for (const n of notified) h.notified.add(n);
        }
        break;
      }
      case 'end_play':
      case 'end_batch':
        // A play is one batch in imgplay (no serial), so ending the batch ends the play.
        if (once()) pr.ended = true;
        break;
      case 'end_host':
        for (const h of hosts) if (applies(h)) h.ended = true;
        break;
      case 'clear_facts':
        if (once()) for (const h of pr.hosts) h.facts = {};
        break;
      case 'clear_host_errors':
        // Failed and unreachable hosts are no longer counted as such (exit code, later plays), but a host
        // that stopped in this play stays stopped until the play ends, as in 2.14.
        if (once()) {
          for (const h of pr.hosts) {
            if (h.failed || h.unreachable) h.ended = true;
            h.failed = false;
            h.unreachable = false;
          }
        }
        break;
      default:
        // noop; refresh_inventory (imgplay reads the inventory once: see docs/language.md); reset_connection
        // (local and chroot connections hold nothing to reset).
        break;
    }
  }

  private async runTaskOnHost(pr: PlayRun, task: TaskNode, h: HostRun, scope: Scope, taskId: number, share: readonly HostRun[] = []): Promise<TaskOutcome> {
    const started = performance.now();
    // A task cut short by Ctrl-C shows no failure (as in Ansible): the run says it was interrupted.
    const emit = (o: TaskOutcome, extra: { item?: { label: unknown }; loop?: boolean; delegatedTo?: string } = {}) =>
      !(this.interrupted && o.status === 'failed') &&
      this.reporter.emit({
        type: 'task_result',
        taskId,
        task: task.name ?? task.action,
        action: task.action,
        host: h.name,
        delegatedTo: extra.delegatedTo,
        status: o.status,
        ignored: o.ignored,
        item: extra.item,
        loop: extra.loop ?? false,
        result: this.censor(o.result, scope, h, pr, task),
        durationMs: performance.now() - started,
        where: o.where,
      });
    try {
      const baseVars = this.hostVars(pr, h, task, scope);
      if (task.loop === undefined) {
        const o = await this.runOnce(pr, task, h, scope, baseVars, share);
        this.register(h, task, o.result, share);
        emit(o);
        return o;
      }
      const items = loopItems(task.loopKind ?? 'loop', task.loop, task, baseVars);
      const ctl = loopControlOf(task.loop_control, (v) => templateValue(v, baseVars), task);
      const results: ModuleResult[] = [];
      let anyFailed = false;
      let anyChanged = false;
      let allSkipped = items.length > 0;
      for (const [index, item] of items.entries()) {
        if (this.interrupted) break;
        // loop_control.pause: a wait between items, not before the first.
        if (ctl.pause > 0 && index > 0) await sleep(ctl.pause * 1000, this.opts.signal);
        const extra = loopItemVars(ctl, items, index);
        // One set of variables per item serves both the run and the label, as Ansible templates both from the item's task vars.
        const itemVars = this.hostVars(pr, h, task, scope, extra);
        const o = await this.runOnce(pr, task, h, scope, itemVars, share);
        let label: unknown = item;
        let labelFailure: ModuleResult | undefined;
        if (task.loop_control?.label !== undefined) {
          try {
            label = templateValue(task.loop_control.label, itemVars);
          } catch (err) {
            // As ansible-core 2.14: the item has run, its result fails with this message and it shows as (item=None).
            if (!(err instanceof UndefinedVariableError)) throw err;
            label = null;
            labelFailure = { failed: true, msg: `Failed to template loop_control.label: ${err.message}` };
            const at = posOfKey(task.loop_control, 'label') ?? task.pos;
            o.status = 'failed';
            o.where = { ...at, excerpt: excerpt(at) };
          }
        }
        const r: ModuleResult = { ...o.result, ...labelFailure, ...extra, _ansible_item_label: label };
        if (o.status === 'failed') anyFailed = true;
        if (o.result.changed) anyChanged = true;
        if (o.status !== 'skipped') allSkipped = false;
        results.push(r);
        emit({ ...o, result: r }, { item: { label } });
        if (this.opts.signal.aborted) break;
      }
      const summary: ModuleResult = { changed: anyChanged, results, msg: anyFailed ? 'One or more items failed' : 'All items completed' };
      if (anyFailed) summary.failed = true;
      if (allSkipped) summary.skipped = true;
      if (items.length === 0) {
        summary.skipped = true;
        summary.skipped_reason = 'No items in the list';
      }
      const status: ResultStatus = anyFailed ? 'failed' : summary.skipped ? 'skipped' : anyChanged ? 'changed' : 'ok';
      const ignored = anyFailed && this.bool(scope.ignore_errors, baseVars);
      this.register(h, task, { ...summary, results: results.map(stripInternal) }, share);
      const o: TaskOutcome = { status, result: summary, ignored };
      emit(o, { loop: items.length > 0 });
      return o;
    } catch (err) {
      const o = this.errorOutcome(err, task, h, scope, pr);
      this.register(h, task, o.result, share);
      emit(o);
      return o;
    }
  }

  /** Stores a task's result under its `register` name; command output is data, never re-templated. */
  private register(h: HostRun, task: TaskNode, result: ModuleResult, share: readonly HostRun[] = []): void {
    if (!task.register) return;
    const value = markUnsafe(stripInternal(result));
    for (const target of [h, ...share]) target.nonPersistent[task.register] = value;
  }

  private bool(value: unknown, vars: Record<string, unknown>): boolean {
    if (value === undefined) return false;
    const v = templateValue(value, vars);
    if (typeof v === 'string') return ['yes', 'on', '1', 'true', 'y', 't'].includes(v.toLowerCase());
    return TRUTHY(v);
  }

  private censor(result: ModuleResult, scope: Scope, h: HostRun, pr: PlayRun, task: TaskNode): Record<string, unknown> {
    let noLog = false;
    try {
      noLog = scope.no_log !== undefined && this.bool(scope.no_log, this.hostVars(pr, h, task, scope));
    } catch {
      noLog = true;
    }
    if (!noLog) return result;
    return { censored: "the output has been hidden due to the fact that 'no_log: true' was specified for this result", changed: result.changed ?? false, ...(result.failed ? { failed: true } : {}), ...(result.skipped ? { skipped: true } : {}) };
  }

  private errorOutcome(err: unknown, task: TaskNode | IncludeNode, h: HostRun, scope: Scope, pr: PlayRun): TaskOutcome {
    // A stack that ran out while rendering may be caught outside the template engine (its own handler can run
    // out too): it is the playbook's nesting, never a crash of imgplay.
    if (err instanceof RangeError && /call stack/i.test(err.message)) err = asUserError(err);
    if (err instanceof UnreachableError) return { status: 'unreachable', result: { unreachable: true, changed: false, msg: err.message }, ignored: false };
    let msg: string;
    // The message says what went wrong; where it lies travels beside it, shown as the planner shows it.
    let at: SourcePos = task.pos;
    if (err instanceof UndefinedVariableError) {
      const label = task.name !== undefined ? `task '${task.name}'` : `the ${task.action} task`;
      // The hint says why (`hostvars['web'] has no attribute 'x'`) and in which expression.
      msg = `'${err.variable}' is undefined in ${label}${err.hint ? `\n${err.hint}` : ''}`;
    } else if (err instanceof ArgumentError || err instanceof ImgplayError) {
      // An error inside an included file (a role's YAML, say) carries its own position; an argument's is known from planning.
      if (err instanceof ImgplayError && err.pos) at = err.pos;
      else if (err instanceof ArgumentError && err.argument !== undefined && task.kind === 'task') at = task.argPos?.[err.argument] ?? task.pos;
      msg = err.message + (err instanceof ImgplayError && err.hint ? `\n${err.hint}` : '');
    } else {
      const e = new InternalError(`${task.kind === 'task' ? task.action : 'include'} crashed: ${(err as Error)?.stack ?? String(err)}`);
      msg = e.message;
    }
    let ignored = false;
    try {
      ignored = this.bool(scope.ignore_errors, this.hostVars(pr, h, task, scope));
    } catch {
      ignored = false;
    }
    return { status: 'failed', result: { failed: true, changed: false, msg }, ignored, where: { ...at, excerpt: excerpt(at) } };
  }

  // Ansible's Display shows a warning once per run, however often it is raised.
  private readonly warned = new Set<string>();

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.reporter.emit({ type: 'warning', message });
  }

  /** One execution of a task on a host (one loop item), with conditions, retries and result rules. */
  private async runOnce(pr: PlayRun, task: TaskNode, h: HostRun, scope: Scope, vars: Record<string, unknown>, share: readonly HostRun[] = []): Promise<TaskOutcome> {
    for (const { cond } of scope.when) {
      if (typeof cond === 'string' && isTemplate(cond)) this.warnOnce(`${TEMPLATED_CONDITION}${cond}`);
      if (!evaluateCondition(cond, vars)) {
        return { status: 'skipped', result: { changed: false, skipped: true, skip_reason: 'Conditional result was False', false_condition: cond }, ignored: false };
      }
    }
    const mod = findModule(task.action);
    if (!mod) throw new InternalError(`module '${task.action}' vanished from the registry`);
    const delegateTo = scope.delegate_to === undefined ? undefined : String(templateValue(scope.delegate_to, vars));
    const conn = delegateTo !== undefined && ['localhost', '127.0.0.1'].includes(delegateTo) ? this.controller : await this.connectionFor(pr, h, vars, delegateTo);
    const check = scope.check_mode === undefined ? this.opts.check : this.bool(scope.check_mode, vars);
    const environment: Record<string, string> = {};
    for (const env of scope.environment) {
      const e = templateValue(env, vars);
      if (e && typeof e === 'object') for (const [k, v] of Object.entries(e)) environment[k] = String(v);
    }
    checkBecome(scope.become, vars, conn === this.controller);
    const raw = new Set(mod.rawArgs ?? []);
    const templated: Record<string, unknown> = {};
    // module_defaults for this module (outer entries first, later win), templated; the task's own arguments win.
    for (const entry of scope.module_defaults ?? []) {
      const defaults = entry[mod.name];
      if (defaults === undefined || defaults === null) continue;
      const value = templateValue(defaults, vars);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ImgplayError(`module_defaults for ${mod.name} must be a mapping of its arguments`, { pos: task.pos });
      Object.assign(templated, value);
    }
    for (const [k, v] of Object.entries(task.args)) templated[k] = raw.has(k) ? v : templateValue(v, vars);
    const args = prepareArgs(mod, templated);
    if (check && !mod.checkMode) {
      return { status: 'skipped', result: { changed: false, skipped: true, msg: `remote module (${mod.name}) does not support check mode` }, ignored: false };
    }
    const ctx: ModuleContext<Record<string, unknown>> = {
      args,
      conn,
      controller: this.controller,
      check,
      // A task's `diff: true` asks its module for a diff without -D; `diff: false` under -D still lets the module
      // return one (2.14's modules return theirs whatever the keyword says; the keyword decides what is shown).
      diff: this.opts.diff || (scope.diff !== undefined && this.bool(scope.diff, vars)),
      vars,
      environment,
      template: (text, extra) => renderString(text, extra ? Object.assign(Object.create(vars) as Record<string, unknown>, extra) : vars, { file: true }),
      evaluate: (expr) => evaluate(expr, vars),
      findFile: (kind, p) => this.findFile(task, kind, p),
      searchPath: this.searchPath(task),
      log: (message) => this.reporter.emit({ type: 'verbose', host: h.name, message }),
      signal: this.opts.signal,
      runModule: (name, moduleArgs) => runOtherModule(ctx, name, moduleArgs),
    };
    const until = task.until;
    const attempts = until === undefined ? 1 : Math.max(1, Number(templateValue(task.retries ?? 3, vars)) + 1);
    const delay = Number(templateValue(task.delay ?? 5, vars));
    let result: ModuleResult = {};
    let status: ResultStatus = 'ok';
    const timeout = scope.timeout === undefined ? 0 : Number(templateValue(scope.timeout, vars));
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (timeout > 0) {
        const timed = await withTimeout(ctx, timeout, (c) => mod.run(c));
        // As 2.14: the task fails at once, without its failed_when, changed_when or until.
        if (timed === undefined) return { status: 'failed', result: { failed: true, changed: false, msg: `The ${task.action} action failed to execute in the expected time frame (${timeout}) and was terminated` }, ignored: this.bool(scope.ignore_errors, vars) };
        result = { ...timed };
      } else result = { ...(await mod.run(ctx)) };
      if (result.stdout !== undefined && result.stdout_lines === undefined) result.stdout_lines = String(result.stdout).split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
      if (result.stderr !== undefined && result.stderr_lines === undefined) result.stderr_lines = String(result.stderr).split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
      if (result.changed === undefined) result.changed = false;
      // As Ansible's TaskExecutor: a missing `failed` is derived from rc, so registered results always have it.
      if (result.failed === undefined) result.failed = typeof result.rc === 'number' && result.rc !== 0;
      const resultVars = task.register ? { ...vars, [task.register]: result } : vars;
      const withResult = task.register ? lazyOver(vars, { [task.register]: result }) : resultVars;
      if (task.changed_when !== undefined) result.changed = evaluateCondition(task.changed_when, withResult);
      if (task.failed_when !== undefined) {
        const f = evaluateCondition(task.failed_when, withResult);
        result.failed_when_result = f;
        result.failed = f;
      }
      if (until !== undefined) {
        result.attempts = attempt;
        if (evaluateCondition(until, withResult)) break;
        if (attempt < attempts) {
          this.reporter.emit({ type: 'retry', host: h.name, task: task.name ?? task.action, retriesLeft: attempts - attempt, result });
          await sleep(delay * 1000, this.opts.signal);
          continue;
        }
        result.failed = true;
      }
    }
    if (result.skipped) status = 'skipped';
    else if (result.failed) status = 'failed';
    else if (result.changed) status = 'changed';
    const ignored = status === 'failed' && this.bool(scope.ignore_errors, vars);
    this.storeFacts(this.factHosts(h, scope, vars, share), task, result);
    if (mod.name === 'debug') result._ansible_verbose_always = true;
    return { status, result, ignored };
  }

  // Facts go to the host, to every host of the play under run_once, or to the delegated host under delegate_facts.
  private factHosts(h: HostRun, scope: Scope, vars: Record<string, unknown>, share: readonly HostRun[]): HostRun[] {
    if (scope.delegate_to !== undefined && scope.delegate_facts !== undefined && this.bool(scope.delegate_facts, vars)) {
      const name = String(templateValue(scope.delegate_to, vars));
      const inv = this.inventoryHost(name);
      if (!inv) throw new ImgplayError(`delegate_facts: the delegated host '${name}' is not in the inventory, so its facts could not be kept`);
      return [this.hostRun(inv)];
    }
    return [h, ...share];
  }

  private storeFacts(targets: readonly HostRun[], task: TaskNode, result: ModuleResult): void {
    const facts = tuplesAsLists(result.ansible_facts) as Record<string, unknown> | undefined;
    if (!facts || result.failed) return;
    for (const h of targets) {
      if (result._include_vars) Object.assign(h.includeVars, facts);
      else if (task.action === 'set_fact') {
        // cacheable: a fact (it survives into later plays' facts) and, as 2.14 sets both, a host variable too.
        if (task.args.cacheable) Object.assign(h.facts, facts);
        Object.assign(h.nonPersistent, facts);
      } else Object.assign(h.facts, facts);
    }
    if (task.action === 'set_fact' || result._include_vars) delete result.ansible_facts;
    delete result._include_vars;
  }

  private async connectionFor(pr: PlayRun, h: HostRun, vars: Record<string, unknown>, delegateTo?: string): Promise<Connection> {
    const isLocalName = (n: string) => n === 'localhost' || n === '127.0.0.1' || n === '::1';
    const name = delegateTo ?? h.name;
    const kind = String(vars.ansible_connection ?? (pr.play.connection !== undefined ? templateValue(pr.play.connection, vars) : undefined) ?? (h.inv.implicit || isLocalName(name) ? 'local' : 'ssh'));
    const target = String(vars.ansible_host ?? renderString(name, vars));
    const key = `${kind}\0${target}`;
    let conn = h.connections.get(key);
    if (!conn) {
      if (kind === 'local') conn = this.controller;
      else if (kind === 'ssh' || kind === 'paramiko' || kind === 'smart') {
        throw new UnreachableError(`connection '${kind}' is not supported by imgplay (host ${h.name}); set ansible_connection to local or chroot`);
      } else conn = await openConnection(kind, target, { systemMounts: flag(vars.imgplay_chroot_mounts, true) });
      h.connections.set(key, conn);
    }
    return conn;
  }

  // Ansible's ansible_search_path: the task's role and the roles that depend on it, the task file's directory,
  // the playbook's directory.
  private searchPath(task: TaskNode): string[] {
    const dirs: string[] = [];
    for (let r = task.role; r; r = r.parent) dirs.push(r.path);
    dirs.push(task.baseDir, dirname(this.playbook.file));
    return [...new Set(dirs)];
  }

  private async findFile(task: TaskNode, kind: 'files' | 'templates' | 'vars' | 'tasks', p: string): Promise<string> {
    if (isAbsolute(p)) {
      noteRead({ kind: 'file', path: p });
      return p;
    }
    const dirs: string[] = [];
    if (task.role) dirs.push(join(task.role.path, kind), task.role.path);
    dirs.push(join(task.baseDir, kind), task.baseDir, join(dirname(task.baseDir), kind));
    dirs.push(join(dirname(this.playbook.file), kind), dirname(this.playbook.file));
    for (const d of dirs) {
      const f = join(d, p);
      if (existsSync(f)) {
        this.filesRead.add(f);
        return f;
      }
    }
    throw new ImgplayError(`Could not find or access '${p}'`, { hint: `Searched in:\n\t${[...new Set(dirs)].map((d) => join(d, p)).join('\n\t')}` });
  }

  // ---- includes ----

  private checkIncludeDepth(scope: Scope, next: string, node: IncludeNode): void {
    // A looped include of itself multiplies at each level and would take forever to reach the depth limit.
    if (++this.includesExpanded > MAX_INCLUDES) {
      throw new ImgplayError(`${node.action}: more than ${MAX_INCLUDES} includes in this run (the last: ${next}, ${scope.includes.length + 1} deep)`, {
        pos: node.pos,
        hint: 'does an include with a loop include itself? each level multiplies the includes by the number of items',
      });
    }
    const why = includeTooDeep(scope.includes, next);
    if (why) throw new ImgplayError(`${node.action}: ${why}`, { pos: node.pos, hint: `is the when: that should end the recursion ever false? (imgplay stops at ${MAX_INCLUDE_DEPTH} levels)` });
  }

  private async runInclude(pr: PlayRun, node: IncludeNode, hosts: HostRun[], scope: Scope): Promise<void> {
    if (!this.shouldRun(node, scope)) return;
    const id = this.startTask(pr, node, hosts, scope);
    const inner = this.inner(scope, { ...node, tags: [] } as IncludeNode);
    // Group hosts by what they include, so each file runs once for the hosts that chose it.
    const groups = new Map<string, { hosts: HostRun[]; nodes: Node[]; params: Record<string, unknown>; file: string; link: string; label?: unknown }>();
    for (const h of hosts) {
      // What a host includes is read for that host (its stage's inputs, for the stage cache).
      await workingFor(h.name, async () => {
        try {
          const baseVars = this.hostVars(pr, h, node, inner);
          const items = node.loop === undefined ? [undefined] : loopItems(node.loopKind ?? 'loop', node.loop, node, baseVars);
          const ctl = loopControlOf(node.loop_control, (v) => templateValue(v, baseVars), node);
          let any = false;
          for (const [index, item] of items.entries()) {
            if (node.loop !== undefined && ctl.pause > 0 && index > 0) await sleep(ctl.pause * 1000, this.opts.signal);
            // The loop variable, index_var and ansible_loop reach the included tasks as include parameters.
            const extra = node.loop === undefined ? {} : loopItemVars(ctl, items, index);
            const vars = this.hostVars(pr, h, node, inner, extra);
            if (!inner.when.every(({ cond }) => evaluateCondition(cond, vars))) continue;
            any = true;
            const params = { ...extra, ...templateValue(node.vars, vars) } as Record<string, unknown>;
            let file: string;
            let link: string;
            let nodes: Node[];
            const warnings: string[] = [];
            const ctx: ParseContext = { playbookDir: pr.play.baseDir, baseDir: node.baseDir, role: node.role, staticVars: vars, files: this.filesRead, seenRoles: new Set(), roleHandlers: [], dynamic: true, warnings, moduleDefaults: inner.module_defaults };
            if (node.action === 'include_tasks') {
              const name = String(templateValue(node.args.file ?? node.args._raw_params, vars));
              file = findIncludeFile(name, ctx, node.pos);
              const fl = fileLink(file, dirname(this.playbook.file));
              link = fl.label;
              this.checkIncludeDepth(inner, link, node);
              nodes = await loadTaskFile(file, { ...ctx, chain: [fl] });
              noteRead({ kind: 'file', path: file });
            } else {
              const args = templateValue(node.args, vars) as Record<string, unknown>;
              link = `role '${String(args.name)}'`;
              this.checkIncludeDepth(inner, link, node);
              const loaded = await loadRoleEntry({ role: args.name, _import: { ...args, allow_duplicates: true } }, ctx, node.pos, undefined, 'include_role');
              file = loaded.instances.at(-1)?.path ?? String(args.name);
              // A role is an input as a whole (its files/ and templates/ too: a command may read them), for each
              // host that includes it (roles are parsed once per run).
              for (const r of loaded.instances) noteRead({ kind: 'file', path: r.path });
              nodes = loaded.blocks;
              for (const hd of ctx.roleHandlers) if (!pr.handlers.includes(hd)) pr.handlers.push(hd);
            }
            for (const message of new Set(warnings)) this.reporter.emit({ type: 'warning', message });
            const key = `${file}\0${JSON.stringify(params)}`;
            const g = groups.get(key) ?? { hosts: [], nodes, params, file, link, label: node.loop === undefined ? undefined : item };
            g.hosts.push(h);
            groups.set(key, g);
          }
          if (!any) {
            this.stats.increment(h.name, 'skipped');
            this.reporter.emit({ type: 'task_result', taskId: id, task: node.name ?? node.action, action: node.action, host: h.name, status: 'skipped', ignored: false, loop: false, result: { changed: false, skip_reason: 'Conditional result was False' }, durationMs: 0 });
          }
        } catch (err) {
          const o = this.errorOutcome(err, node, h, inner, pr);
          this.reporter.emit({ type: 'task_result', taskId: id, task: node.name ?? node.action, action: node.action, host: h.name, status: o.status, ignored: o.ignored, loop: false, result: o.result, durationMs: 0, where: o.where });
          this.count(h, o);
          if (!o.ignored) h.failed = true;
        }
      });
    }
    // Ansible announces and counts included task files, but not included roles.
    if (node.action === 'include_tasks') {
      for (const g of groups.values()) {
        this.reporter.emit({ type: 'include', file: g.file, hosts: g.hosts.map((h) => h.name), label: g.label });
        for (const h of g.hosts) this.stats.increment(h.name, 'ok');
      }
    }
    for (const g of groups.values()) {
      const includeScope: Scope = { ...inner, when: [], includeParams: { ...inner.includeParams, ...g.params }, includes: [...inner.includes, g.link] };
      await this.runNodes(pr, g.nodes, this.active(pr, g.hosts), includeScope);
    }
  }
}

// Fails the host (as a task failure) when one more include would pass MAX_INCLUDE_DEPTH, naming what repeats.
function includeTooDeep(includes: readonly string[], next: string): string | undefined {
  if (includes.length < MAX_INCLUDE_DEPTH) return undefined;
  const chain = [...includes, next];
  const from = chain.lastIndexOf(next, chain.length - 2);
  const loop = from >= 0 ? chain.slice(from).join(' -> ') : chain.slice(-3).join(' -> ');
  return `includes nest more than ${MAX_INCLUDE_DEPTH} deep: ${loop} repeats without end`;
}

// The 2.14 keywords a node sets for itself and what it runs: its own value wins, module_defaults accumulate.
function innerKeywords(scope: Scope, node: Inherited): Partial<Scope> {
  return {
    any_errors_fatal: node.any_errors_fatal ?? scope.any_errors_fatal,
    run_once: node.run_once ?? scope.run_once,
    ignore_unreachable: node.ignore_unreachable ?? scope.ignore_unreachable,
    throttle: node.throttle ?? scope.throttle,
    timeout: node.timeout ?? scope.timeout,
    diff: node.diff ?? scope.diff,
    delegate_facts: node.delegate_facts ?? scope.delegate_facts,
    module_defaults: node.module_defaults ? [...(scope.module_defaults ?? []), ...node.module_defaults] : scope.module_defaults,
    become: node.become ? { ...scope.become, ...node.become } : scope.become,
  };
}

function emptyScope(): Scope {
  return { when: [], tags: [], vars: [], includeParams: {}, environment: [], handler: false, includes: [] };
}

function lazyOver(vars: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(vars)) {
    if (!(key in extra)) Object.defineProperty(out, key, { enumerable: true, configurable: true, get: () => vars[key] });
  }
  for (const [key, value] of Object.entries(extra)) Object.defineProperty(out, key, { enumerable: true, configurable: true, writable: true, value });
  return out;
}

function stripInternal(result: ModuleResult): ModuleResult {
  const out: ModuleResult = {};
  for (const [k, v] of Object.entries(result)) if (!k.startsWith('_ansible')) out[k] = tuplesAsLists(v);
  return out;
}

function globMatch(pattern: string, text: string): boolean {
  if (!/[*?[]/.test(pattern)) return false;
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(text);
}

// Runs a module with a deadline (the task keyword `timeout`): past it the module's commands are stopped through
// its signal and the answer is undefined.
async function withTimeout(ctx: ModuleContext<Record<string, unknown>>, seconds: number, run: (ctx: ModuleContext<Record<string, unknown>>) => Promise<ModuleResult>): Promise<ModuleResult | undefined> {
  const deadline = new AbortController();
  const signal = AbortSignal.any([ctx.signal, deadline.signal]);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      deadline.abort();
      resolve(undefined);
    }, seconds * 1000);
  });
  const running = run({ ...ctx, signal });
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
    // A module still running past its deadline has been told to stop; its late failure is of no interest.
    running.catch(() => undefined);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** Runs fn over items with at most `limit` at a time, in order of start. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

// A yes/no variable as Ansible's boolean filter reads it; undefined gives the default.
function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return /^(y|yes|on|true|1)$/i.test(value.trim());
  return truthy(value);
}

// The run's record of files read; each is also told to the stage cache, for the host being worked on.
class NotedFiles extends Set<string> {
  override add(path: string): this {
    noteRead({ kind: 'file', path });
    return super.add(path);
  }
}
