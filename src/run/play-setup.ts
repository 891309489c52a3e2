// What a play settles as it starts: its hosts and their order, keywords templated with the play's vars and
// extra vars (no host's, as ansible-core 2.14), each host's vars_files, and its fact gathering task.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ImgplayError, InternalError, UndefinedVariableError, ValidationError } from '../errors.js';
import type { InventoryHost } from '../inventory/inventory.js';
import type { Play, TaskNode } from '../playbook/model.js';
import { checkStrategy, HOST_ORDERS } from '../playbook/resolve.js';
import { OMIT } from '../jinja/expr.js';
import { lazyVars } from '../jinja/scope.js';
import { isTemplate, templateValue } from '../jinja/template.js';
import { pyRepr, truthy } from '../jinja/values.js';
import { loadYamlFile, posOf } from '../yaml/load.js';
import type { RunContext } from './context.js';
import { emptyScope } from './scope.js';
import type { HostRun, PlayRun } from './state.js';

/** A play keyword templated as the play starts, with its vars and extra vars (no host's), as ansible-core 2.14. */
export function playValue(ctx: RunContext, play: Play, value: unknown, what: string): unknown {
  const vars = lazyVars([play.vars, ctx.opts.extraVars], { playbook_dir: ctx.playbookDir, omit: OMIT });
  try {
    return templateValue(value, vars);
  } catch (err) {
    if (!(err instanceof ImgplayError) || err instanceof InternalError) throw err;
    throw new ValidationError(`the play's ${what}: ${err.message}`, { pos: play.pos, cause: err });
  }
}

/** The play's hosts in rolling batches, as 2.14's playbook executor cuts them: `serial` is a number, a percentage
 *  of the play's hosts (at least one), or a list of them whose last one repeats; none, or 0, is one batch. */
export function serialBatches<T>(ctx: RunContext, play: Play, hosts: readonly T[]): T[][] {
  if (play.serial === undefined || play.serial === null) return [[...hosts]];
  const raw = playValue(ctx, play, play.serial, 'serial');
  const sizes = Array.isArray(raw) ? raw : [raw];
  if (sizes.length === 0) return [[...hosts]];
  const size = (v: unknown): number => {
    const text = String(v).trim();
    const pct = /^(-?\d+)%$/.exec(text);
    const n = pct ? Math.trunc((Number(pct[1]) / 100) * hosts.length) || 1 : /^[-+]?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(n)) throw new ValidationError(`serial: ${JSON.stringify(v)} is not a number of hosts or a percentage`, { pos: play.pos });
    return n;
  };
  const out: T[][] = [];
  const rest = [...hosts];
  for (let i = 0; rest.length > 0; i = Math.min(i + 1, sizes.length - 1)) {
    const n = size(sizes[i]);
    out.push(n <= 0 ? rest.splice(0) : rest.splice(0, n));
  }
  return out;
}

/** The play's host patterns. ansible-core 2.14 templates `hosts` as each play starts, with the play's vars and
 *  extra vars (no host's): an undefined variable there ends the run with exit 4, after the plays before it ran. */
export function playHosts(ctx: RunContext, play: Play): string[] {
  if (!play.hosts.some((p) => isTemplate(p))) return [...play.hosts];
  const vars = lazyVars([play.vars, ctx.opts.extraVars], { groups: ctx.vars.groupMap(), playbook_dir: ctx.playbookDir, omit: OMIT });
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

/** The play's hosts in its `order:` (templated), which decides which one a run_once task picks; checks `strategy:`. */
export function orderedHosts(ctx: RunContext, play: Play, hosts: InventoryHost[]): InventoryHost[] {
  if (play.strategy !== undefined) checkStrategy(playValue(ctx, play, play.strategy, 'strategy'), play.pos);
  if (play.order === undefined) return hosts;
  const order = String(playValue(ctx, play, play.order, 'order'));
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

/** force_handlers and max_fail_percentage of the play, templated as it starts. */
export function applyPlayKeywords(ctx: RunContext, pr: PlayRun): void {
  const { play } = pr;
  pr.forceHandlers = play.force_handlers === undefined ? Boolean(ctx.opts.forceHandlers) : truthy(playValue(ctx, play, play.force_handlers, 'force_handlers'));
  const strategy = play.strategy !== undefined ? checkStrategy(playValue(ctx, play, play.strategy, 'strategy'), play.pos) : ctx.opts.strategy;
  pr.free = strategy !== undefined && strategy !== 'linear';
  if (pr.free && play.max_fail_percentage !== undefined) {
    ctx.reporter.emit({ type: 'warning', message: 'Using max_fail_percentage with the free strategy is not supported, as tasks are executed independently on each host' });
  } else if (play.max_fail_percentage !== undefined) {
    const raw = playValue(ctx, play, play.max_fail_percentage, 'max_fail_percentage');
    const pct = typeof raw === 'string' ? Number(raw.replace(/%$/, '')) : Number(raw);
    if (!Number.isFinite(pct)) throw new ValidationError(`max_fail_percentage: ${JSON.stringify(raw)} is not a percentage`, { pos: play.pos });
    pr.maxFailPercentage = pct;
  }
}

/** Reads the play's vars_files for a host (names templated with its variables; the first of a list that exists). */
export async function loadVarsFiles(ctx: RunContext, pr: PlayRun, h: HostRun): Promise<void> {
  h.varsFiles = {};
  for (const entry of pr.play.vars_files) {
    const vars = ctx.vars.forTask(pr, h, undefined, emptyScope());
    let candidates: string[];
    try {
      candidates = (Array.isArray(entry) ? entry : [entry]).map((e) => String(templateValue(e, vars)));
    } catch (err) {
      if (!(err instanceof ImgplayError) || err instanceof InternalError) throw err;
      const at = posOf(entry) ?? posOf(pr.play.vars_files) ?? pr.play.pos;
      // ansible-core 2.14 skips an entry whose name uses an undefined variable, saying so only at -vvv.
      if (err instanceof UndefinedVariableError) {
        if (ctx.opts.verbosity >= 3) ctx.reporter.emit({ type: 'verbose', host: h.name, message: `skipping vars_file ${pyRepr(entry)} due to an undefined variable (${at.file}:${at.line}:${at.col}: ${err.message})` });
        continue;
      }
      throw new ImgplayError(`vars_files: ${err.message}`, { pos: at, hint: err.hint, cause: err });
    }
    const found = candidates.map((c) => (isAbsolute(c) ? c : join(pr.play.baseDir, c))).find((c) => existsSync(c));
    if (!found) throw new ImgplayError(`vars file ${candidates.join(' or ')} was not found`, { pos: pr.play.pos });
    ctx.files.add(found);
    const data = await loadYamlFile(found);
    if (data !== null && (typeof data !== 'object' || Array.isArray(data))) throw new ImgplayError(`vars file ${found} must be a mapping`);
    Object.assign(h.varsFiles, data ?? {});
  }
}

/** The play's fact gathering, as the task Ansible runs for it (setup with the play's gather_* arguments). */
export function gatherFactsTask(play: Play): TaskNode {
  return { kind: 'task', name: 'Gathering Facts', action: 'setup', args: play.gatherArgs, notify: [], listen: [], when: [], tags: ['always'], vars: {}, pos: play.pos, baseDir: play.baseDir };
}
