// What a task's outcome does to its host: the recap's counters, a failure inside a block with a rescue
// counted as rescued, an error of the engine turned into a located failure, and failures that end the play.
import { ImgplayError, InternalError, type SourcePos, UndefinedVariableError, UnreachableError } from '../errors.js';
import type { IncludeNode, TaskNode } from '../playbook/model.js';
import { asUserError } from '../jinja/expr.js';
import { excerpt } from '../yaml/load.js';
import { ansibleMsg } from './ansible-msg.js';
import { ArgumentError } from './args.js';
import type { HostRun, PlayRun, TaskOutcome } from './state.js';
import type { Stats } from './stats.js';

// How many nested sections of some kind each host is inside.
class HostDepth {
  private readonly depth = new Map<HostRun, number>();
  enter(hosts: readonly HostRun[]): void {
    for (const h of hosts) this.depth.set(h, (this.depth.get(h) ?? 0) + 1);
  }
  leave(hosts: readonly HostRun[]): void {
    for (const h of hosts) this.depth.set(h, (this.depth.get(h) ?? 1) - 1);
  }
  inside(h: HostRun): boolean {
    return (this.depth.get(h) ?? 0) > 0;
  }
}

/** How many blocks with a rescue section each host is inside (its failures there count as rescued), and how
 *  many sections a failure leaves for a rescue or always section. */
export class RescueDepth {
  private readonly rescues = new HostDepth();
  private readonly guards = new HostDepth();

  /** The hosts enter a block with a rescue section. */
  enter(hosts: readonly HostRun[]): void {
    this.rescues.enter(hosts);
  }

  /** The hosts leave it. */
  leave(hosts: readonly HostRun[]): void {
    this.rescues.leave(hosts);
  }

  /** Whether a failure of the host now would be rescued. */
  rescuable(h: HostRun): boolean {
    return this.rescues.inside(h);
  }

  /** The hosts enter a section that a failure leaves for a rescue or always section. */
  guard(hosts: readonly HostRun[]): void {
    this.guards.enter(hosts);
  }

  /** The hosts leave it. */
  unguard(hosts: readonly HostRun[]): void {
    this.guards.leave(hosts);
  }

  /** Whether a failure of the host now goes on to a rescue or always section (any_errors_fatal spares it). */
  guarded(h: HostRun): boolean {
    return this.guards.inside(h);
  }
}

/** Counts an outcome in the recap, by Ansible's rules; a task cut short by an interruption did not fail. */
export function countOutcome(stats: Stats, h: HostRun, o: TaskOutcome, rescuable: boolean, interrupted: boolean): void {
  // Not counted, but the host was at work when the run stopped: the recap still names it.
  if (interrupted && o.status === 'failed') {
    stats.touch(h.name);
    return;
  }
  switch (o.status) {
    case 'ok':
      stats.increment(h.name, 'ok');
      break;
    case 'changed':
      stats.increment(h.name, 'ok');
      stats.increment(h.name, 'changed');
      break;
    case 'skipped':
      stats.increment(h.name, 'skipped');
      break;
    case 'unreachable':
      if (o.ignored) {
        stats.increment(h.name, 'ok');
        stats.increment(h.name, 'ignored');
      } else stats.increment(h.name, 'unreachable');
      break;
    case 'failed':
      if (o.ignored) {
        stats.increment(h.name, 'ok');
        stats.increment(h.name, 'ignored');
        if (o.result.changed) stats.increment(h.name, 'changed');
      } else if (rescuable) stats.increment(h.name, 'rescued');
      else stats.increment(h.name, 'failed');
      break;
  }
}

/** The outcome of a task whose run threw: unreachable, or failed with a message and the place it lies. */
export function errorOutcome(err: unknown, task: TaskNode | IncludeNode, ignored: () => boolean): TaskOutcome {
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
  let ignore = false;
  try {
    ignore = ignored();
  } catch {
    ignore = false;
  }
  // What registers the result (and rescue sections read) is Ansible's msg; the readable one is shown.
  const ansible = ansibleMsg(err, task.pos);
  return { status: 'failed', result: { failed: true, changed: false, msg: ansible ?? msg }, ignored: ignore, where: { ...at, excerpt: excerpt(at), ...(ansible !== undefined ? { message: msg } : {}) } };
}

/** any_errors_fatal (and a failed run_once) end the play for every host, as does passing the play's
 *  max_fail_percentage; the playbook then stops (2.14's RUN_FAILED_BREAK_PLAY). Returns what ended it, if anything. */
export function checkFailures(pr: PlayRun, failedBefore: ReadonlySet<HostRun>, fatal: boolean, rescues: RescueDepth): 'fatal' | 'percentage' | undefined {
  const failedNow = pr.hosts.filter((h) => (h.failed && !rescues.rescuable(h)) || h.unreachable);
  const tooMany = pr.maxFailPercentage !== undefined && pr.hosts.length > 0 && failedNow.length / pr.hosts.length > pr.maxFailPercentage / 100;
  if (!tooMany && !(fatal && failedNow.some((h) => !failedBefore.has(h)))) return undefined;
  for (const h of pr.hosts) if (!h.unreachable && !h.ended) h.failed = true;
  pr.ended = true;
  pr.broken = true;
  return tooMany ? 'percentage' : 'fatal';
}
