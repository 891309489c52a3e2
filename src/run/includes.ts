// Dynamic includes (include_tasks, include_role): each host's files are found and loaded as it reaches
// them, hosts that include the same file with the same parameters run it together, and runaway recursion
// is stopped with a located error.
import { dirname } from 'node:path';
import { ImgplayError, IncludedFileError, ParseError, ValidationError } from '../errors.js';
import { noteRead, workingFor } from '../host/reads.js';
import { loopControlOf, loopItems, loopItemVars } from '../playbook/loop.js';
import type { IncludeNode, Node } from '../playbook/model.js';
import { INCLUDE_RUN_DEPRECATION } from '../playbook/keywords.js';
import { fileLink, findIncludeFile, loadRoleEntry, loadTaskFile, type ParseContext } from '../playbook/resolve.js';
import { evaluateCondition } from '../jinja/expr.js';
import { templateValue } from '../jinja/template.js';
import type { Banners } from './banner.js';
import type { RunContext, Walker } from './context.js';
import { countOutcome, errorOutcome } from './outcomes.js';
import { innerScope, keywordTrue, type Scope } from './scope.js';
import { activeHosts, type HostRun, type PlayRun, type TaskOutcome } from './state.js';
import { sleep } from './timing.js';

// How deep include_tasks and include_role may nest. Ansible has no limit of its own (Python's recursion limit
// ends a runaway one with a crash); a recursion ended by a `when:` stays far below this (docs/language.md).
export const MAX_INCLUDE_DEPTH = 100;
// How many includes one run may expand in all: far above any real build; a runaway (a looped include of itself
// under ignore_errors) reaches it in about two minutes here, most of it printing.
const MAX_INCLUDES = 100_000;

/** What one file included for some hosts holds, and what they include it with. */
interface Inclusion {
  hosts: HostRun[];
  nodes: Node[];
  params: Record<string, unknown>;
  file: string;
  link: string;
  label?: unknown;
}

/** Expands and runs the run's dynamic includes. */
export class Includes {
  /** Includes expanded so far in this run, against MAX_INCLUDES. */
  private expanded = 0;

  constructor(
    private readonly ctx: RunContext,
    private readonly walker: Walker,
    private readonly banners: Banners,
  ) {}

  /** Runs an include_tasks or include_role on the hosts: each host's inclusions, then each file for its hosts. */
  async run(pr: PlayRun, node: IncludeNode, hosts: HostRun[], scope: Scope): Promise<void> {
    const id = this.banners.start(pr, node, hosts, scope);
    const inner = innerScope(scope, { ...node, tags: [] });
    // Group hosts by what they include, so each file runs once for the hosts that chose it.
    const groups = new Map<string, Inclusion>();
    for (const h of hosts) {
      // What a host includes is read for that host (its stage's inputs, for the stage cache).
      await workingFor(h.name, () => this.expandFor(pr, node, h, inner, id, groups));
    }
    // A dynamic bare `include` is deprecated again as its results are read (2.14's process_include_results).
    if (node.written === 'include' || node.written === 'ansible.builtin.include') this.ctx.deprecateOnce(INCLUDE_RUN_DEPRECATION);
    // Ansible announces and counts included task files, but not included roles.
    if (node.action === 'include_tasks') {
      for (const g of groups.values()) {
        this.ctx.reporter.emit({ type: 'include', file: g.file, hosts: g.hosts.map((h) => h.name), label: g.label });
        for (const h of g.hosts) this.ctx.stats.increment(h.name, 'ok');
      }
    }
    for (const g of groups.values()) {
      const includeScope: Scope = { ...inner, when: [], includeParams: { ...inner.includeParams, ...g.params }, includes: [...inner.includes, g.link] };
      await this.walker.runNodes(pr, g.nodes, activeHosts(pr, g.hosts), includeScope);
    }
  }

  // One host's inclusions (one per loop item whose conditions hold), added to `groups`; a host that includes
  // nothing is skipped, one whose include fails is failed.
  private async expandFor(pr: PlayRun, node: IncludeNode, h: HostRun, inner: Scope, id: number, groups: Map<string, Inclusion>): Promise<void> {
    const { ctx } = this;
    const report = (o: TaskOutcome) =>
      ctx.reporter.emit({ type: 'task_result', taskId: id, task: node.name ?? node.action, action: node.action, host: h.name, status: o.status, ignored: o.ignored, loop: false, result: o.result, durationMs: 0, where: o.where });
    try {
      const baseVars = ctx.vars.forTask(pr, h, node, inner);
      const items = node.loop === undefined ? [undefined] : loopItems(node.loopKind ?? 'loop', node.loop, node, baseVars);
      const ctl = loopControlOf(node.loop_control, (v) => templateValue(v, baseVars), node);
      let any = false;
      for (const [index, item] of items.entries()) {
        if (node.loop !== undefined && ctl.pause > 0 && index > 0) await sleep(ctl.pause * 1000, ctx.opts.signal);
        // The loop variable, index_var and ansible_loop reach the included tasks as include parameters.
        const extra = node.loop === undefined ? {} : loopItemVars(ctl, items, index);
        const vars = ctx.vars.forTask(pr, h, node, inner, extra);
        if (!inner.when.every(({ cond }) => evaluateCondition(cond, vars))) continue;
        any = true;
        const params = { ...extra, ...templateValue(node.vars, vars) } as Record<string, unknown>;
        const { file, link, nodes } = await this.load(pr, node, inner, vars);
        const key = `${file}\0${JSON.stringify(params)}`;
        const g = groups.get(key) ?? { hosts: [], nodes, params, file, link, label: node.loop === undefined ? undefined : item };
        g.hosts.push(h);
        groups.set(key, g);
      }
      if (!any) {
        ctx.stats.increment(h.name, 'skipped');
        report({ status: 'skipped', ignored: false, result: { changed: false, skip_reason: 'Conditional result was False' } });
      }
    } catch (err) {
      if (err instanceof IncludedFileError) throw err;
      const o = errorOutcome(err, node, () => keywordTrue(inner.ignore_errors, ctx.vars.forTask(pr, h, node, inner)));
      report(o);
      countOutcome(ctx.stats, h, o, ctx.rescues.rescuable(h), ctx.interrupted);
      if (!o.ignored) h.failed = true;
    }
  }

  // Finds and loads what an include names for a host: a task file, or a role (its handlers join the play's).
  private async load(pr: PlayRun, node: IncludeNode, inner: Scope, vars: Record<string, unknown>): Promise<{ file: string; link: string; nodes: Node[] }> {
    const warnings: string[] = [];
    const pctx: ParseContext = { playbookDir: pr.play.baseDir, baseDir: node.baseDir, role: node.role, staticVars: vars, files: this.ctx.files, seenRoles: new Set(), roleHandlers: [], dynamic: true, handlers: inner.handler === true, warnings, moduleDefaults: inner.module_defaults };
    let out: { file: string; link: string; nodes: Node[] };
    if (node.action === 'include_tasks') {
      const name = String(templateValue(node.args.file ?? node.args._raw_params, vars));
      const file = findIncludeFile(name, pctx, node.pos);
      const fl = fileLink(file, dirname(this.ctx.playbook.file));
      this.checkDepth(inner, fl.label, node);
      const nodes = await loadTaskFile(file, { ...pctx, chain: [fl] }).catch((err: unknown) => {
        if (err instanceof ParseError || err instanceof ValidationError) throw new IncludedFileError(err.message, { pos: err.pos, hint: err.hint, cause: err, messageFirst: err.messageFirst });
        throw err;
      });
      noteRead({ kind: 'file', path: file });
      out = { file, link: fl.label, nodes };
    } else {
      const args = templateValue(node.args, vars) as Record<string, unknown>;
      const link = `role '${String(args.name)}'`;
      this.checkDepth(inner, link, node);
      const loaded = await loadRoleEntry({ role: args.name, _import: { ...args, allow_duplicates: true } }, pctx, node.pos, undefined, 'include_role');
      // A role is an input as a whole (its files/ and templates/ too: a command may read them), for each
      // host that includes it (roles are parsed once per run).
      for (const r of loaded.instances) noteRead({ kind: 'file', path: r.path });
      // A role included again (a loop over include_role) brings its handlers once: each answers a notify once.
      const at = (n: Node) => `${n.pos.file}:${n.pos.line}:${n.pos.col}`;
      const known = new Set(pr.handlers.map(at));
      for (const hd of pctx.roleHandlers) if (!known.has(at(hd))) pr.handlers.push(hd);
      out = { file: loaded.instances.at(-1)?.path ?? String(args.name), link, nodes: loaded.blocks };
    }
    for (const message of warnings) this.ctx.deprecateOnce(message);
    return out;
  }

  private checkDepth(scope: Scope, next: string, node: IncludeNode): void {
    // A looped include of itself multiplies at each level and would take forever to reach the depth limit.
    if (++this.expanded > MAX_INCLUDES) {
      throw new ImgplayError(`${node.action}: more than ${MAX_INCLUDES} includes in this run (the last: ${next}, ${scope.includes.length + 1} deep)`, {
        pos: node.pos,
        hint: 'does an include with a loop include itself? each level multiplies the includes by the number of items',
      });
    }
    const why = includeTooDeep(scope.includes, next);
    if (why) throw new ImgplayError(`${node.action}: ${why}`, { pos: node.pos, hint: `is the when: that should end the recursion ever false? (imgplay stops at ${MAX_INCLUDE_DEPTH} levels)` });
  }
}

/** Why one more include would nest past MAX_INCLUDE_DEPTH, naming what repeats; undefined when it would not. */
export function includeTooDeep(includes: readonly string[], next: string): string | undefined {
  if (includes.length < MAX_INCLUDE_DEPTH) return undefined;
  const chain = [...includes, next];
  const from = chain.lastIndexOf(next, chain.length - 2);
  const loop = from >= 0 ? chain.slice(from).join(' -> ') : chain.slice(-3).join(' -> ');
  return `includes nest more than ${MAX_INCLUDE_DEPTH} deep: ${loop} repeats without end`;
}
