// One task on one host: its loop items, each run's conditions, connection, arguments, attempts and
// result rules, what it registers and the facts it sets, and the results it reports.
import { warningsTo } from '../host/warnings.js';
import { dirname } from 'node:path';
import { ImgplayError, InternalError, UndefinedVariableError } from '../errors.js';
import type { Connection } from '../connection/types.js';
import { findModule } from '../modules/index.js';
import { traitsOf } from '../modules/spec.js';
import type { Module, ModuleContext, ModuleResult } from '../modules/types.js';
import { loopControlOf, loopItems, loopItemVars } from '../playbook/loop.js';
import type { TaskNode } from '../playbook/model.js';
import type { ResultStatus } from '../report/events.js';
import { evaluate, evaluateCondition, TEMPLATED_CONDITION } from '../jinja/expr.js';
import { isTemplate, renderString, templateValue } from '../jinja/template.js';
import { assignKeys, markUnsafe, setKey, tuplesAsLists } from '../jinja/values.js';
import { excerpt, posOfKey } from '../yaml/load.js';
import { runOtherModule } from './args.js';
import { attemptsOf, judgeResult, runAttempts } from './attempts.js';
import { checkBecome } from './become.js';
import type { RunContext } from './context.js';
import { findControllerFile, moduleSearchPath } from './files.js';
import { applyInventoryChange } from './inventory-changes.js';
import { moduleArgs, taskEnvironment } from './module-args.js';
import { raisedIn } from './ansible-msg.js';
import { errorOutcome } from './outcomes.js';
import { censored, loopSummary, skippedByCondition, statusOf, stripInternal } from './result.js';
import { keywordTrue, type Scope } from './scope.js';
import type { HostRun, PlayRun, TaskOutcome } from './state.js';
import { sleep, withTimeout } from './timing.js';

type Emit = (o: TaskOutcome, extra?: { item?: { label: unknown }; loop?: boolean }) => void;

/** Runs tasks on hosts, one host at a time per call. */
export class TaskRunner {
  // Warnings already shown for the task a host is running: Ansible runs each host's task in its own worker, whose
  // display shows a warning once, so a warning comes once per task and host (again for the next task).
  private readonly shown = new Map<HostRun, Set<string>>();

  constructor(private readonly ctx: RunContext) {}

  private warnForTask(h: HostRun, message: string): void {
    let seen = this.shown.get(h);
    if (seen === undefined) this.shown.set(h, (seen = new Set()));
    if (seen.has(message)) return;
    seen.add(message);
    this.ctx.reporter.emit({ type: 'warning', message });
  }

  /** Runs a task on a host (every loop item), registers and reports its result; `share` are the other hosts
   *  of a run_once task, which get what it registers and the facts it sets. */
  async onHost(pr: PlayRun, task: TaskNode, h: HostRun, scope: Scope, taskId: number, share: readonly HostRun[] = []): Promise<TaskOutcome> {
    this.shown.delete(h);
    // What templating warns about on the way (a lookup's missing file) is this task's, on this host.
    return warningsTo((message, once) => (once === 'run' ? this.ctx.warnOnce(message) : this.warnForTask(h, message)), () => this.runOnHost(pr, task, h, scope, taskId, share));
  }

  private async runOnHost(pr: PlayRun, task: TaskNode, h: HostRun, scope: Scope, taskId: number, share: readonly HostRun[]): Promise<TaskOutcome> {
    const started = performance.now();
    // A task cut short by Ctrl-C shows no failure (as in Ansible): the run says it was interrupted.
    const emit: Emit = (o, extra = {}) =>
      void (
        !(this.ctx.interrupted && o.status === 'failed') &&
        this.ctx.reporter.emit({
          type: 'task_result',
          taskId,
          task: task.name ?? task.action,
          action: task.action,
          host: h.name,
          status: o.status,
          ignored: o.ignored,
          item: extra.item,
          loop: extra.loop ?? false,
          result: this.censor(o.result, scope, h, pr, task),
          durationMs: performance.now() - started,
          where: o.where,
        })
      );
    try {
      const baseVars = this.ctx.vars.forTask(pr, h, task, scope);
      if (task.loop !== undefined) {
        let items: unknown[];
        try {
          items = loopItems(task.loopKind ?? 'loop', task.loop, task, baseVars);
        } catch (err) {
          const skipped = await this.skippedDespiteLoop(raisedIn(err, { kind: 'loop' }), pr, task, h, scope, baseVars, share);
          this.register(h, task, skipped.result, share);
          emit(skipped);
          return skipped;
        }
        return await this.loop(pr, task, h, scope, baseVars, items, share, emit);
      }
      const o = await this.once(pr, task, h, scope, baseVars, share);
      this.register(h, task, o.result, share);
      emit(o);
      return o;
    } catch (err) {
      const o = errorOutcome(err, task, () => keywordTrue(scope.ignore_errors, this.ctx.vars.forTask(pr, h, task, scope)));
      this.register(h, task, o.result, share);
      emit(o);
      return o;
    }
  }

  // As 2.14's TaskExecutor: a loop whose items are undefined fails the task only when its `when` holds; a false
  // condition skips it as a task without a loop (`with_items: "{{ later }}"` under `when: later is defined`).
  private async skippedDespiteLoop(err: unknown, pr: PlayRun, task: TaskNode, h: HostRun, scope: Scope, baseVars: Record<string, unknown>, share: readonly HostRun[]): Promise<TaskOutcome> {
    if (!(err instanceof UndefinedVariableError)) throw err;
    let holds: boolean;
    try {
      holds = scope.when.every(({ cond }) => evaluateCondition(cond, baseVars));
    } catch {
      // The loop's error takes precedence over the condition's own.
      throw err;
    }
    if (holds) throw err;
    return this.once(pr, task, h, scope, baseVars, share);
  }

  // A looped task: each item runs with its loop variables, reported with its label; the task's result sums them up.
  private async loop(pr: PlayRun, task: TaskNode, h: HostRun, scope: Scope, baseVars: Record<string, unknown>, items: unknown[], share: readonly HostRun[], emit: Emit): Promise<TaskOutcome> {
    const ctl = loopControlOf(task.loop_control, (v) => templateValue(v, baseVars), task);
    const done: Array<{ result: ModuleResult; status: ResultStatus; changed: boolean }> = [];
    for (const [index, item] of items.entries()) {
      if (this.ctx.interrupted) break;
      // loop_control.pause: a wait between items, not before the first.
      if (ctl.pause > 0 && index > 0) await sleep(ctl.pause * 1000, this.ctx.opts.signal);
      const extra = loopItemVars(ctl, items, index);
      // One set of variables per item serves both the run and the label, as Ansible templates both from the item's task vars.
      const itemVars = this.ctx.vars.forTask(pr, h, task, scope, extra);
      const o = await this.once(pr, task, h, scope, itemVars, share);
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
      done.push({ result: r, status: o.status, changed: Boolean(o.result.changed) });
      emit({ ...o, result: r }, { item: { label } });
      if (this.ctx.opts.signal.aborted) break;
    }
    const { summary, status } = loopSummary(done);
    const ignored = status === 'failed' && keywordTrue(scope.ignore_errors, baseVars);
    this.register(h, task, { ...summary, results: done.map((d) => stripInternal(d.result)) }, share);
    const o: TaskOutcome = { status, result: summary, ignored };
    emit(o, { loop: items.length > 0 });
    return o;
  }

  /** Stores a task's result under its `register` name; command output is data, never re-templated. What
   *  set_fact and include_vars return is the variables they set, kept as they are (Ansible's clean facts). */
  register(h: HostRun, task: TaskNode, result: ModuleResult, share: readonly HostRun[] = []): void {
    if (!task.register) return;
    const factsTo = traitsOf(findModule(task.action)).factsTo;
    // A failure is not (its msg may quote the template that failed, which must not be templated again).
    const clean = (factsTo === 'variables' || factsTo === 'include_vars') && !result.failed;
    const value = clean ? stripInternal(result) : markUnsafe(stripInternal(result));
    for (const target of [h, ...share]) target.nonPersistent[task.register] = value;
  }

  // One execution of a task on a host (one loop item), with conditions, retries and result rules.
  private async once(pr: PlayRun, task: TaskNode, h: HostRun, scope: Scope, vars: Record<string, unknown>, share: readonly HostRun[]): Promise<TaskOutcome> {
    for (const { cond } of scope.when) {
      if (typeof cond === 'string' && isTemplate(cond)) this.warnForTask(h, `${TEMPLATED_CONDITION}${cond}`);
      let holds: boolean;
      try {
        holds = evaluateCondition(cond, vars);
      } catch (err) {
        throw raisedIn(err, { kind: 'condition', cond: typeof cond === 'string' ? cond : String(cond) });
      }
      if (!holds) return { status: 'skipped', result: skippedByCondition(cond), ignored: false };
    }
    if (task.templatedAction) task = pickAction(task, vars);
    const mod = findModule(task.action);
    // A module imgplay lacks, planned because a condition guarded it, fails the task as any run-time error does.
    if (!mod) throw task.notImplemented !== undefined ? new ImgplayError(task.notImplemented) : new InternalError(`module '${task.action}' vanished from the registry`);
    const delegateTo = scope.delegate_to === undefined ? undefined : String(templateValue(scope.delegate_to, vars));
    // ansible_connection, else the play's connection:, else -c, else local for localhost.
    const traits = traitsOf(mod as Module<unknown>);
    const conn = traits.controllerOnly
      ? this.ctx.connections.controller
      : await this.ctx.connections.forTask(h, vars, pr.play.connection ?? this.ctx.opts.connection, delegateTo);
    const check = scope.check_mode === undefined ? this.ctx.opts.check : keywordTrue(scope.check_mode, vars);
    const environment = taskEnvironment(scope.environment, vars);
    checkBecome(scope.become, vars, conn === this.ctx.connections.controller);
    const args = moduleArgs(mod as Module<unknown>, task.args, scope.module_defaults ?? [], vars, task.pos);
    if (check && !mod.checkMode) {
      return { status: 'skipped', result: { changed: false, skipped: true, msg: `remote module (${mod.name}) does not support check mode` }, ignored: false };
    }
    const mctx = this.moduleContext(task, h, scope, vars, { args, conn, check, environment });
    const attempts = attemptsOf(task, (v) => templateValue(v, vars));
    const timeout = scope.timeout === undefined ? 0 : Number(templateValue(scope.timeout, vars));
    const run = timeout > 0 ? () => withTimeout(mctx, timeout, (c) => mod.run(c)) : () => mod.run(mctx);
    const onRetry = (result: ModuleResult, retriesLeft: number) => this.ctx.reporter.emit({ type: 'retry', host: h.name, task: task.name ?? task.action, retriesLeft, result });
    const result = await runAttempts(run, task, attempts, vars, { signal: this.ctx.opts.signal, onRetry });
    if (result === undefined) {
      return { status: 'failed', result: { failed: true, changed: false, msg: `The ${task.action} action failed to execute in the expected time frame (${timeout}) and was terminated` }, ignored: keywordTrue(scope.ignore_errors, vars) };
    }
    if (traits.changesInventory) {
      applyInventoryChange(this.ctx.vars, h, result);
      // As 2.14's strategy: changed_when and failed_when are judged again once the inventory says what changed.
      judgeResult(result, task, vars);
    }
    const status = statusOf(result);
    const ignored = status === 'failed' && keywordTrue(scope.ignore_errors, vars);
    this.storeFacts(this.factHosts(h, scope, vars, share), traits.factsTo ?? 'facts', args, result);
    if (traits.verboseAlways) result._ansible_verbose_always = true;
    return { status, result, ignored };
  }

  // What a module may use while it runs on this host for this task.
  private moduleContext(task: TaskNode, h: HostRun, scope: Scope, vars: Record<string, unknown>, given: { args: Record<string, unknown>; conn: Connection; check: boolean; environment: Record<string, string> }): ModuleContext<Record<string, unknown>> {
    const { opts, reporter, connections, playbookDir, files } = this.ctx;
    const mctx: ModuleContext<Record<string, unknown>> = {
      ...given,
      controller: connections.controller,
      // A task's `diff: true` asks its module for a diff without -D; `diff: false` under -D still lets the module
      // return one (2.14's modules return theirs whatever the keyword says; the keyword decides what is shown).
      diff: opts.diff || (scope.diff !== undefined && keywordTrue(scope.diff, vars)),
      vars,
      template: (text, extra) => renderString(text, extra ? Object.assign(Object.create(vars) as Record<string, unknown>, extra) : vars, { file: true }),
      evaluate: (expr) => evaluate(expr, vars),
      findFile: (kind, p) => Promise.resolve().then(() => findControllerFile(task, kind, p, playbookDir, files)),
      searchPath: moduleSearchPath(task, playbookDir),
      place: { rolePath: task.role?.path, taskDir: dirname(task.pos.file) },
      log: (message) => reporter.emit({ type: 'verbose', host: h.name, message }),
      signal: opts.signal,
      runModule: (name, moduleArgs) => runOtherModule(mctx, name, moduleArgs),
    };
    return mctx;
  }

  // Facts go to the host, to every host of the play under run_once, or to the delegated host under delegate_facts.
  private factHosts(h: HostRun, scope: Scope, vars: Record<string, unknown>, share: readonly HostRun[]): HostRun[] {
    if (scope.delegate_to !== undefined && scope.delegate_facts !== undefined && keywordTrue(scope.delegate_facts, vars)) {
      const name = String(templateValue(scope.delegate_to, vars));
      const inv = this.ctx.vars.inventoryHost(name);
      if (!inv) throw new ImgplayError(`delegate_facts: the delegated host '${name}' is not in the inventory, so its facts could not be kept`);
      return [this.ctx.vars.hostRun(inv)];
    }
    return [h, ...share];
  }

  // A result's ansible_facts into the layer the module's traits name (they stay in the result, as Ansible shows and registers them).
  private storeFacts(targets: readonly HostRun[], to: 'facts' | 'variables' | 'include_vars', args: Record<string, unknown>, result: ModuleResult): void {
    const facts = tuplesAsLists(result.ansible_facts) as Record<string, unknown> | undefined;
    if (!facts || result.failed) return;
    for (const h of targets) {
      if (to === 'include_vars') assignKeys(h.includeVars, facts);
      else if (to === 'variables') {
        // cacheable: a fact (it survives into later plays' facts) and, as 2.14 sets both, a host variable too.
        if (args.cacheable === true) addFacts(h, facts);
        assignKeys(h.nonPersistent, facts);
      } else addFacts(h, facts);
    }
  }

  // What the reporter is shown of a result: nothing but its status under no_log (or when no_log cannot be known).
  private censor(result: ModuleResult, scope: Scope, h: HostRun, pr: PlayRun, task: TaskNode): Record<string, unknown> {
    let noLog = false;
    try {
      noLog = scope.no_log !== undefined && keywordTrue(scope.no_log, this.ctx.vars.forTask(pr, h, task, scope));
    } catch {
      noLog = true;
    }
    return noLog ? censored(result) : result;
  }
}

// Facts as Ansible's fact cache takes them: each a host variable as named (INJECT_FACTS_AS_VARS), and in
// `ansible_facts` without its `ansible_` prefix (namespace_facts; `ansible_local` keeps it), added to what
// earlier facts put there: package_facts gives `packages` and `ansible_facts.packages`.
function addFacts(h: HostRun, facts: Record<string, unknown>): void {
  const earlier = h.facts.ansible_facts;
  const namespaced: Record<string, unknown> = typeof earlier === 'object' && earlier !== null ? { ...(earlier as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(facts)) setKey(namespaced, k.startsWith('ansible_') && k !== 'ansible_local' ? k.slice('ansible_'.length) : k, v);
  assignKeys(h.facts, facts);
  h.facts.ansible_facts = namespaced;
}

// `action: "{{ ansible_facts.pkg_mgr }}"`: the module the task's variables name (short or by collection name);
// none, or one that acts on the play itself (meta, ...), fails the task with the reason.
function pickAction(task: TaskNode, vars: Record<string, unknown>): TaskNode {
  const name = String(templateValue(task.action, vars)).trim();
  const mod = findModule(name);
  if (mod === undefined) throw new ImgplayError(`The module ${name} was not found in configured module paths`);
  const traits = traitsOf(mod);
  if (traits.actsOnPlay || traits.bypassHostLoop) throw new ImgplayError(`${mod.name} acts on the play itself, which imgplay settles while planning: a templated action cannot name it`);
  return { ...task, action: mod.name, templatedAction: undefined };
}
