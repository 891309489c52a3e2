// Runs resolved plays: hosts in lockstep task by task (Ansible's linear strategy), blocks with rescue/always,
// handlers flushed after each section, run_once, throttle and the failures that end a play. The parts live
// beside it: host-vars (precedence), task-run (loops, attempts, results), includes, handlers, play-control
// (meta), connections, play-setup, stage-hooks. It touches hosts only through connections, and keeps all run
// state in the objects it creates (no module-level state).
import { warningsTo } from '../host/warnings.js';
import { dirname } from 'node:path';
import { EXIT, ImgplayError } from '../errors.js';
import { listenToReads, workingFor } from '../host/reads.js';
import { findModule } from '../modules/index.js';
import { traitsOf } from '../modules/spec.js';
import type { Inventory, InventoryHost } from '../inventory/inventory.js';
import type { BlockNode, Node, Play, Playbook, TaskNode } from '../playbook/model.js';
import { expandLimit } from '../inventory/host-pattern.js';
import type { Reporter } from '../report/events.js';
import { templateValue } from '../jinja/template.js';
import { markUnsafe } from '../jinja/values.js';
import { Banners, tryRender } from './banner.js';
import { Connections } from './connections.js';
import type { RunContext, Walker } from './context.js';
import { NotedFiles } from './files.js';
import { flushHandlers, notifyHandlers } from './handlers.js';
import { HostVars } from './host-vars.js';
import { Includes } from './includes.js';
import { checkFailures, countOutcome, RescueDepth } from './outcomes.js';
import { playControlBanners, runPlayControl } from './play-control.js';
import { stripInternal } from './result.js';
import { applyPlayKeywords, gatherFactsTask, loadVarsFiles, orderedHosts, playHosts, serialBatches } from './play-setup.js';
import { innerScope, keywordTrue, nonEmpty, playScope, type Scope } from './scope.js';
import { makeStageCache, StagePlays } from './stage-hooks.js';
import type { StageCache, StageSummary } from './stages.js';
import { activeHosts, type HostRun, type PlayRun, type RunOptions, type RunOutcome } from './state.js';
import { Stats } from './stats.js';
import { TaskSelection } from './task-select.js';
import { TaskRunner } from './task-run.js';
import { forEachLimited } from './timing.js';

export type { RunOptions, RunOutcome } from './state.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Runs a playbook against an inventory, reporting as it goes. */
export class Executor implements Walker {
  private readonly ctx: Mutable<RunContext>;
  private readonly selection: TaskSelection;
  private readonly banners: Banners;
  private readonly tasks: TaskRunner;
  private readonly includes: Includes;
  /** The stage cache (plays naming an `imgplay_stage`), when on for this run. */
  private stageCache: StageCache | undefined;
  private stagePlays: StagePlays | undefined;
  private limit: string[] | undefined;

  constructor(playbook: Playbook, inventory: Inventory, opts: RunOptions, reporter: Reporter) {
    const warned = new Set<string>();
    this.ctx = {
      playbook,
      playbookDir: dirname(playbook.file),
      opts,
      reporter,
      stats: new Stats(),
      vars: new HostVars(playbook.file, inventory, opts),
      connections: new Connections(),
      files: new NotedFiles(),
      rescues: new RescueDepth(),
      interrupted: false,
      warnOnce: (message) => {
        if (warned.has(message)) return;
        warned.add(message);
        reporter.emit({ type: 'warning', message });
      },
      deprecateOnce: (message) => {
        if (opts.deprecationWarnings === false || warned.has(`deprecation:${message}`)) return;
        warned.add(`deprecation:${message}`);
        reporter.emit({ type: 'warning', message, deprecation: true });
      },
    };
    this.selection = new TaskSelection(opts);
    this.banners = new Banners(this.ctx);
    this.tasks = new TaskRunner(this.ctx);
    this.includes = new Includes(this.ctx, this, this.banners);
    opts.signal.addEventListener('abort', () => {
      this.ctx.interrupted = true;
    });
  }

  /** Runs every play in order and returns the exit code and stats. */
  run(): Promise<RunOutcome> {
    // What templating warns about outside a task (play keywords, vars files) is shown once per run.
    return warningsTo((message) => this.ctx.warnOnce(message), () => this.runPlays());
  }

  private async runPlays(): Promise<RunOutcome> {
    const { ctx } = this;
    // `@file` limits are read once, before anything runs, as ansible-playbook reads them.
    this.limit = ctx.opts.limit ? await expandLimit(ctx.opts.limit) : undefined;
    ctx.reporter.emit({ type: 'playbook_start', file: ctx.playbook.file, given: ctx.opts.playbookPath, plays: ctx.playbook.plays.length });
    for (const message of ctx.vars.inventory.warnings) ctx.warnOnce(message);
    for (const message of ctx.playbook.warnings) ctx.deprecateOnce(message);
    if (this.limit && ctx.vars.inventory.select(this.limit).length === 0) {
      ctx.reporter.emit({ type: 'warning', message: `Could not match supplied host pattern, ignoring: ${ctx.opts.limit}` });
    }
    this.stageCache = makeStageCache(ctx);
    if (this.stageCache) {
      this.stagePlays = new StagePlays(ctx, this.stageCache);
      listenToReads(this.stageCache.onRead);
    }
    try {
      for (const play of ctx.playbook.plays) {
        if (ctx.interrupted) break;
        const cont = await this.runPlay(play);
        if (!cont) break;
      }
      if (!ctx.interrupted) await this.stageCache?.beginPlay(new Map(), []);
    } finally {
      listenToReads(undefined);
      await this.stageCache?.finishAll(ctx.interrupted).catch((err: unknown) => ctx.reporter.emit({ type: 'warning', message: `stage cache: ${(err as Error).message}` }));
      await this.closeConnections([...ctx.vars.hosts.values()], { keepController: false });
      // Delegated tasks use the controller without registering it on a host; its runners must stop too.
      await ctx.connections.controller.close().catch(() => undefined);
    }
    if (ctx.interrupted) ctx.reporter.emit({ type: 'error', message: 'User interrupted execution' });
    ctx.reporter.emit({ type: 'recap', hosts: ctx.stats.summary() });
    return { exitCode: this.exitCode(), stats: ctx.stats };
  }

  /** The playbook file this executor runs. */
  playbookFile(): string {
    return this.ctx.playbook.file;
  }

  /** The stages this run built or put back from the stage cache, and the cache's folder (undefined: the cache was off). */
  stageSummaries(): { cacheDir: string; stages: StageSummary[] } | undefined {
    return this.stageCache === undefined ? undefined : { cacheDir: this.stageCache.folder(), stages: this.stageCache.summaries() };
  }

  // ansible-playbook's exit code: an unreachable host outweighs a failed one, as in ansible-core's strategy.
  private exitCode(): number {
    const all = [...this.ctx.vars.hosts.values()];
    if (this.ctx.interrupted) return EXIT.interrupted;
    if (all.some((h) => h.unreachable)) return EXIT.unreachable;
    return all.some((h) => h.failed) ? EXIT.hostFailed : EXIT.ok;
  }

  /** Returns false when the playbook must stop (no hosts left). */
  private async runPlay(play: Play): Promise<boolean> {
    const { ctx } = this;
    const { selected, hosts, reused } = await this.playHostsOf(play);
    const name = tryRender(play.name, {});
    if (selected.length === 0 || (hosts.length === 0 && reused.size > 0)) {
      ctx.reporter.emit({ type: 'play_start', name, hosts: [], file: play.pos.file });
      ctx.reporter.emit(selected.length === 0 ? { type: 'no_hosts_matched' } : { type: 'play_reused', hosts: [...reused] });
      return true;
    }
    // Every host the play is given, failed ones too, cut into its `serial` batches: each batch runs the whole play
    // (banner, facts, sections, handlers), as 2.14's playbook executor runs it.
    const given = selected.map((inv) => ctx.vars.hostRun(inv)).filter((h) => !reused.has(h.name));
    // end_host lasts one play (all its batches).
    for (const h of given) h.ended = false;
    for (const batch of serialBatches(ctx, play, given)) {
      if (ctx.interrupted) break;
      const live = batch.filter((h) => !h.failed && !h.unreachable);
      ctx.reporter.emit({ type: 'play_start', name, hosts: live.map((h) => h.name), file: play.pos.file });
      // Every host of the batch failed in an earlier play: as 2.14, the banner shows and the next batch or play runs.
      if (live.length === 0) continue;
      const pr = await this.runBatch(play, live, given);
      if (pr.broken) return false;
      // 2.14's playbook executor stops when a batch failed every host it was given, those failed in earlier plays
      // included: a batch whose live hosts all fail beside a host failed before lets the next one run.
      if (pr.hosts.filter((h) => h.failed || h.unreachable).length === batch.length) return false;
    }
    return true;
  }

  // One batch of a play: its hosts go through the play's sections; their connections close after it.
  private async runBatch(play: Play, hosts: HostRun[], allHosts: readonly HostRun[]): Promise<PlayRun> {
    for (const h of hosts) h.notified.clear();
    const pr: PlayRun = { play, hosts, allHosts, ended: false, broken: false, handlers: [...play.handlers], forceHandlers: false, free: false };
    applyPlayKeywords(this.ctx, pr);
    try {
      await this.runSections(pr, playScope(play));
    } finally {
      // A chroot session lasts one play: the next play may squash or delete the tree, which must
      // not still have /proc and /dev mounted inside it. The controller stays open for the run.
      await this.closeConnections(hosts, { keepController: true });
    }
    return pr;
  }

  // The play's hosts: its pattern within --limit, in its order, without those failed earlier; hosts whose stage
  // was found in the stage cache sit the play out (what it would make was put back).
  private async playHostsOf(play: Play): Promise<{ selected: InventoryHost[]; hosts: HostRun[]; reused: Set<string> }> {
    const { vars } = this.ctx;
    const { inventory } = vars;
    let selected = inventory.select(playHosts(this.ctx, play));
    let limitedOut: InventoryHost[] = [];
    if (this.limit) {
      const limited = new Set(inventory.select(this.limit).map((h) => h.name));
      limitedOut = selected.filter((h) => !limited.has(h.name));
      selected = selected.filter((h) => limited.has(h.name));
    }
    selected = orderedHosts(this.ctx, play, selected);
    const hosts = selected.map((inv) => vars.hostRun(inv)).filter((h) => !h.failed && !h.unreachable);
    const reused = this.stagePlays ? await this.stagePlays.begin(play, hosts, limitedOut.map((inv) => vars.hostRun(inv))) : new Set<string>();
    return { selected, hosts: hosts.filter((h) => !reused.has(h.name)), reused };
  }

  // vars_files, fact gathering, then pre_tasks, tasks and post_tasks, each followed by its handlers.
  private async runSections(pr: PlayRun, scope: Scope): Promise<void> {
    const { ctx } = this;
    for (const h of pr.hosts) await workingFor(h.name, () => loadVarsFiles(ctx, pr, h));
    const gather = nonEmpty(this.tryTemplate(pr.play.gather_facts));
    if (!pr.free) return this.walkSections(pr, scope, gather, pr.hosts);
    // The free strategy (and host_pinned, which differs only in how Ansible hands hosts to its workers): each
    // host goes through the play on its own, without waiting for the others; up to --forks hosts at a time.
    await forEachLimited(activeHosts(pr), ctx.opts.forks, (h) => this.walkSections(pr, scope, gather, [h]));
  }

  // Fact gathering, then each section followed by its handlers, for these hosts (all of the play's in lockstep,
  // or one host under the free strategy).
  private async walkSections(pr: PlayRun, scope: Scope, gather: boolean, among: HostRun[]): Promise<void> {
    const { ctx } = this;
    if (gather) await this.runTask(pr, gatherFactsTask(pr.play), activeHosts(pr, among), scope);
    for (const section of [pr.play.pre_tasks, pr.play.tasks, pr.play.post_tasks]) {
      if (pr.ended || ctx.interrupted) break;
      const okBefore = activeHosts(pr, among);
      await this.runNodes(pr, section, activeHosts(pr, among), scope);
      if (pr.ended || ctx.interrupted) break;
      // force_handlers: a host that failed in this section still runs the handlers it notified (as 2.14's
      // implicit always: flush_handlers around each section).
      const forced = pr.forceHandlers ? okBefore.filter((h) => h.failed && !h.unreachable) : [];
      await flushHandlers(this, pr, scope, forced, among);
    }
  }

  // gather_facts as written, templated with the extra vars when it can be.
  private tryTemplate(value: unknown): unknown {
    try {
      return templateValue(value, this.ctx.opts.extraVars);
    } catch {
      return value;
    }
  }

  private closeConnections(hosts: readonly HostRun[], opts: { keepController: boolean }): Promise<void> {
    return this.ctx.connections.close(hosts, opts, (message) => this.ctx.reporter.emit({ type: 'warning', message }));
  }

  // ---- walking the tree ----

  /** Runs nodes in order on the hosts still active among `hosts`. */
  async runNodes(pr: PlayRun, nodes: readonly Node[], hosts: HostRun[], scope: Scope): Promise<void> {
    for (const node of nodes) {
      if (this.ctx.interrupted || pr.ended) return;
      const live = activeHosts(pr, hosts);
      if (live.length === 0) return;
      await this.runNode(pr, node, live, scope);
    }
  }

  /** Runs one node (task, block or include) on these hosts. */
  async runNode(pr: PlayRun, node: Node, hosts: HostRun[], scope: Scope): Promise<void> {
    if (node.kind === 'task') await this.runTask(pr, node, hosts, scope);
    else if (node.kind === 'block') await this.runBlock(pr, node, hosts, scope);
    else if (this.selection.selects(node, scope.tags, scope.handler)) await this.includes.run(pr, node, hosts, scope);
  }

  private async runBlock(pr: PlayRun, block: BlockNode, hosts: HostRun[], scope: Scope): Promise<void> {
    const inner = innerScope(scope, block);
    const { rescues } = this.ctx;
    // Conditions on a block are evaluated per task (Ansible inherits them), but a block whose
    // conditions are false for every host need not be walked at all.
    const rescuable = block.rescue.length > 0;
    const always = block.always.length > 0;
    if (rescuable) rescues.enter(hosts);
    if (rescuable || always) rescues.guard(hosts);
    try {
      await this.runNodes(pr, block.block, hosts, inner);
    } finally {
      if (rescuable) rescues.leave(hosts);
      if (rescuable || always) rescues.unguard(hosts);
    }
    const failedHere = hosts.filter((h) => h.failed && !h.unreachable);
    if (block.rescue.length > 0 && failedHere.length > 0) {
      for (const h of failedHere) h.failed = false;
      if (always) rescues.guard(failedHere);
      try {
        await this.runNodes(pr, block.rescue, failedHere, inner);
      } finally {
        if (always) rescues.unguard(failedHere);
      }
    }
    if (block.always.length > 0) {
      const stillFailed = hosts.filter((h) => h.failed && !h.unreachable).map((h) => [h, h.errorsCleared ?? 0] as const);
      for (const [h] of stillFailed) h.failed = false;
      await this.runNodes(pr, block.always, hosts.filter((h) => !h.unreachable && !h.ended), inner);
      // A host the always section cleared (meta: clear_host_errors) goes on with the play, as in 2.14.
      for (const [h, cleared] of stillFailed) if ((h.errorsCleared ?? 0) === cleared) h.failed = true;
    }
  }

  // A task on the hosts, up to --forks (or its throttle) at a time; run_once: the first host runs it for all,
  // what it registers and the facts it sets go to every host of the play, its counts and notifications to the
  // first host only (ansible-core 2.14's linear strategy).
  private async runTask(pr: PlayRun, task: TaskNode, hosts: HostRun[], scope: Scope): Promise<void> {
    const { ctx } = this;
    const traits = traitsOf(findModule(task.action));
    if (!this.selection.selects(task, scope.tags, scope.handler)) return;
    if (traits.actsOnPlay) {
      for (let i = playControlBanners(task, hosts); i > 0; i--) this.banners.start(pr, task, hosts, scope);
      return runPlayControl(ctx, this, pr, task, hosts, scope);
    }
    const id = this.banners.start(pr, task, hosts, scope);
    const inner = innerScope(scope, task);
    const first = hosts[0];
    const vars = (h: HostRun) => ctx.vars.forTask(pr, h, task, inner);
    if (pr.free && inner.any_errors_fatal !== undefined && first !== undefined && keywordTrue(inner.any_errors_fatal, vars(first))) {
      ctx.warnOnce('Using any_errors_fatal with the free strategy is not supported, as tasks are executed independently on each host');
    }
    let runOnce = first !== undefined && inner.run_once !== undefined && keywordTrue(inner.run_once, vars(first));
    if (pr.free && traits.bypassHostLoop === true) {
      throw new ImgplayError(`The '${task.action}' module bypasses the host loop, which is currently not supported in the free strategy and would instead execute for every host in the inventory list.`, { pos: task.pos });
    }
    if (pr.free && runOnce) {
      ctx.warnOnce('Using run_once with the free strategy is not currently supported. This task will still be executed for every host in the inventory list.');
      runOnce = false;
    }
    // A module that bypasses the host loop runs for the first host alone, which alone gets what it registers.
    const targets = first !== undefined && (runOnce || traits.bypassHostLoop === true) ? [first] : hosts;
    const share = runOnce ? pr.hosts.filter((x) => !x.unreachable && x !== first) : [];
    const throttle = runOnce || inner.throttle === undefined || first === undefined ? 0 : Number(templateValue(inner.throttle, vars(first)));
    const failedBefore = new Set(pr.hosts.filter((h) => h.failed || h.unreachable));
    let fatal = false;
    await forEachLimited(targets, throttle > 0 ? Math.min(ctx.opts.forks, throttle) : ctx.opts.forks, async (h) => {
      const outcome = await workingFor(h.name, () => this.tasks.onHost(pr, task, h, inner, id, share));
      if (outcome.status === 'unreachable' && inner.ignore_unreachable !== undefined && keywordTrue(inner.ignore_unreachable, vars(h))) outcome.ignored = true;
      const rescuable = ctx.rescues.rescuable(h);
      countOutcome(ctx.stats, h, outcome, rescuable, ctx.interrupted);
      const failed = outcome.status === 'failed' && !outcome.ignored;
      // any_errors_fatal spares a host whose failure takes it to a rescue or always section (2.14's linear strategy).
      const unrescued = (failed && !ctx.rescues.guarded(h)) || (outcome.status === 'unreachable' && !outcome.ignored);
      // A run_once task counts as any_errors_fatal (2.14's linear strategy: `task.any_errors_fatal or run_once`).
      const fatalTask = runOnce || (inner.any_errors_fatal !== undefined && keywordTrue(inner.any_errors_fatal, vars(h)));
      if (unrescued && fatalTask && !keywordTrue(inner.ignore_errors ?? false, vars(h))) fatal = !pr.free;
      // A run_once task that fails fails every host of the play: each then goes to its rescue or always
      // section, if any, else it is out of the play (2.14's strategy marks them all failed, but counts one).
      if (runOnce && failed) for (const other of share) other.failed = true;
      if (failed && rescuable) {
        // What rescue and always sections read to learn what went wrong, as in Ansible; the task's own
        // template source (`{{ item }}` in its args) is data there, never templated again (2.14's wrap_var).
        h.nonPersistent.ansible_failed_task = markUnsafe({ name: task.name ?? task.action, action: task.action, args: task.args, tags: task.tags, when: task.when });
        h.nonPersistent.ansible_failed_result = markUnsafe(stripInternal(outcome.result));
      }
      if (failed) h.failed = true;
      if (outcome.status === 'unreachable' && !outcome.ignored) h.unreachable = true;
      if (outcome.status === 'changed' && task.notify.length > 0) notifyHandlers(ctx, pr, h, task);
    });
    // 2.14's linear strategy says so once when any_errors_fatal ends the play, and twice for max_fail_percentage
    // (once where it finds the percentage passed, once more as it sees every host failed).
    const broke = checkFailures(pr, failedBefore, fatal, ctx.rescues);
    for (let i = broke === undefined ? 0 : broke === 'percentage' ? 2 : 1; i > 0; i--) ctx.reporter.emit({ type: 'no_hosts_remaining' });
  }
}
