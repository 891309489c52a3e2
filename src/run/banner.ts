// A task's banner: its number in the run and its name as shown, rendered with the first host's variables.
import { roleLabel, type IncludeNode, type TaskNode } from '../playbook/model.js';
import { isTemplate, renderString } from '../jinja/template.js';
import type { RunContext } from './context.js';
import type { Scope } from './scope.js';
import type { HostRun, PlayRun } from './state.js';

/** Announces tasks as they start, numbering them. */
export class Banners {
  private count = 0;

  constructor(private readonly ctx: RunContext) {}

  /** Announces a task about to run on `hosts`; returns its number, which its results carry. */
  start(pr: PlayRun, node: TaskNode | IncludeNode, hosts: readonly HostRun[], scope: Scope): number {
    const id = ++this.count;
    const first = hosts[0];
    const vars = () => (first ? this.safeVars(pr, first, node, scope) : {});
    this.ctx.reporter.emit({ type: 'task_start', id, name: displayName(node, vars), handler: scope.handler, file: node.pos.file, line: node.pos.line, ...(pr.free ? { lazy: true } : {}) });
    return id;
  }

  private safeVars(pr: PlayRun, h: HostRun, node: TaskNode | IncludeNode, scope: Scope): Record<string, unknown> {
    try {
      return this.ctx.vars.forTask(pr, h, node, scope);
    } catch {
      return {};
    }
  }
}

/** Renders text, or leaves it as written when it cannot be rendered (a name is never worth failing for). */
export function tryRender(text: string, vars: Record<string, unknown>): string {
  try {
    return renderString(text, vars);
  } catch {
    return text;
  }
}

// The banner's name, rendered with the first host's variables; most names hold no template, so the
// variables (the costliest part of a task's set-up) are built only for those that do.
// As 2.14's get_name: a task in a role is prefixed with the role's name, an include_role task never is.
function displayName(node: TaskNode | IncludeNode, vars: () => Record<string, unknown>): string {
  const render = (text: string) => (isTemplate(text) ? tryRender(text, vars()) : text);
  const action = node.written ?? node.action;
  if (node.kind === 'include' && node.action === 'include_role') {
    return node.name !== undefined ? render(node.name) : `${action} : ${render(String(node.args.name ?? ''))}`;
  }
  const base = node.name !== undefined ? render(node.name) : action;
  return node.role ? `${roleLabel(node.role)} : ${base}` : base;
}
