// Handlers: a changed task notifies them by name or `listen` topic, and a flush runs each notified handler
// once for the hosts that notified it, in the order the play lists them.
import { ImgplayError } from '../errors.js';
import { roleLabel, type BlockNode, type Node, type TaskNode } from '../playbook/model.js';
import { isTemplate, renderString, templateValue } from '../jinja/template.js';
import { tryRender } from './banner.js';
import { undefinedText } from './ansible-msg.js';
import type { RunContext, Walker } from './context.js';
import { emptyScope, innerScope, type Scope } from './scope.js';
import { activeHosts, type HostRun, type PlayRun } from './state.js';

/** Notes the handlers a changed task notifies on a host; a name no handler answers to ends the run, as in Ansible. */
export function notifyHandlers(ctx: RunContext, pr: PlayRun, h: HostRun, task: TaskNode): void {
  const vars = ctx.vars.forTask(pr, h, task, emptyScope());
  // A handler may be an include_tasks or include_role (2.14's HandlerTaskInclude): notified by its name, it runs the tasks it includes.
  const all = handlerNodes(pr.handlers).map(({ node }) => node);
  for (const name of notifiedNames(task.notify, vars)) {
    // By name, one handler; by topic, every listener.
    const byName = handlerNamed(ctx, pr, all, name);
    const listening = all.filter((node) => (node.listen ?? []).includes(name));
    const matches = [...(byName ? [byName] : []), ...listening];
    if (matches.length === 0) {
      const message = `The requested handler '${name}' was not found in either the main handlers list nor in the listening handlers list`;
      // ANSIBLE_ERROR_ON_MISSING_HANDLER=false makes it a warning; else Ansible stops the whole run here (exit 1).
      if (ctx.opts.errorOnMissingHandler === false) {
        ctx.warnOnce(message);
        continue;
      }
      throw new ImgplayError(message, { pos: task.pos, messageFirst: true });
    }
    for (const m of matches) h.notified.add(m);
  }
}

// Handler names once templated, per play run: 2.14 templates a handler's name when a search first reaches it
// and keeps what it got.
const templatedNames = new WeakMap<PlayRun, Map<Node, string>>();

// The handler a name notifies, as 2.14 finds it: the play's handlers and each role's are blocks, searched from
// the last one loaded, the first of that name in each; names are templated as the search reaches them.
function handlerNamed(ctx: RunContext, pr: PlayRun, all: readonly Exclude<Node, BlockNode>[], name: string): Exclude<Node, BlockNode> | undefined {
  for (const group of [...new Set(all.map((node) => node.role))].reverse()) {
    for (const node of all) {
      if (node.role !== group || node.name === undefined) continue;
      const hname = handlerName(ctx, pr, node, node.name);
      // As 2.14's candidates: the name, and with the role's short or full name before it.
      if (hname !== undefined && (hname === name || (node.role !== undefined && [node.role.name, roleLabel(node.role)].some((r) => `${r} : ${hname}` === name)))) return node;
    }
  }
  return undefined;
}

// A handler's name templated with the play's variables (no host's, as 2.14): one that names an undefined
// variable is unusable by name, with Ansible's warning when nothing can reach it by topic either.
function handlerName(ctx: RunContext, pr: PlayRun, node: Exclude<Node, BlockNode>, raw: string): string | undefined {
  if (!isTemplate(raw)) return raw;
  let names = templatedNames.get(pr);
  if (names === undefined) templatedNames.set(pr, (names = new Map()));
  const known = names.get(node);
  if (known !== undefined) return known;
  try {
    const rendered = renderString(raw, ctx.vars.forHandlerName(pr, node));
    names.set(node, rendered);
    return rendered;
  } catch (err) {
    const why = undefinedText(err);
    if (why === undefined) return raw;
    if ((node.listen ?? []).length === 0) {
      ctx.warnOnce(`Handler '${raw}' is unusable because it has no listen topics and the name could not be templated (host-specific variables are not supported in handler names). The error: ${why}`);
    }
    return undefined;
  }
}

// The names a task's notify gives: each entry templated, and one that renders to a list (`"{{ handler_list }}"`)
// names each of its items, as Ansible's notify list is templated whole.
function notifiedNames(notify: readonly string[], vars: Record<string, unknown>): string[] {
  return notify.flatMap((raw) => {
    let value: unknown;
    try {
      value = templateValue(raw, vars);
    } catch {
      return [tryRender(raw, vars)];
    }
    return Array.isArray(value) ? value.map(String) : [typeof value === 'string' ? value : tryRender(raw, vars)];
  });
}

/** Runs the notified handlers of the play's hosts (or only of `among`); `forced` hosts (failed, under
 *  force_handlers) run theirs too, and stay failed. */
export async function flushHandlers(walker: Walker, pr: PlayRun, scope: Scope, forced: readonly HostRun[] = [], among: readonly HostRun[] = pr.hosts): Promise<void> {
  for (const h of forced) h.failed = false;
  try {
    await flushPasses(walker, pr, { ...scope, handler: true }, among);
  } finally {
    for (const h of forced) h.failed = true;
  }
}

/** The play's handlers one by one, each with the blocks it sits in (`import_tasks` in the handlers section
 *  makes one): each task or include of them is a handler, as in Ansible. */
export function handlerNodes(nodes: readonly Node[], blocks: readonly BlockNode[] = []): { node: Exclude<Node, BlockNode>; blocks: readonly BlockNode[] }[] {
  return nodes.flatMap((n) => (n.kind === 'block' ? handlerNodes(n.block, [...blocks, n]) : [{ node: n, blocks }]));
}

// A handler may notify another: passes go on while one ran (at most ten, as a handler loop must end).
async function flushPasses(walker: Walker, pr: PlayRun, handlerScope: Scope, among: readonly HostRun[]): Promise<void> {
  for (let pass = 0; pass < 10; pass++) {
    let ran = false;
    for (const { node, blocks } of handlerNodes(pr.handlers)) {
      const hosts = activeHosts(pr, among).filter((h) => h.notified.has(node));
      if (hosts.length === 0) continue;
      for (const h of hosts) h.notified.delete(node);
      ran = true;
      // A handler from an imported file keeps what its import (a block) gives it: when, tags, vars.
      await walker.runNode(pr, node, hosts, blocks.reduce((s, b) => innerScope(s, b), handlerScope));
    }
    if (!ran) return;
  }
}
