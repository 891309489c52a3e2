// The actions of a module that acts on the play rather than on a host (meta: flush_handlers, end_play,
// end_host, clear_facts, clear_host_errors...), carried out as ansible-core 2.14's linear strategy does.
import { ImgplayError } from '../errors.js';
import type { TaskNode } from '../playbook/model.js';
import { evaluateCondition } from '../jinja/expr.js';
import type { RunContext, Walker } from './context.js';
import { flushHandlers } from './handlers.js';
import { innerScope, type Scope } from './scope.js';
import type { HostRun, PlayRun } from './state.js';

// The actions 2.14's linear strategy carries out for each host in turn; the others it runs once for the play.
const PER_HOST = new Set(['noop', 'reset_connection', 'end_host', 'role_complete', 'flush_handlers']);

/** How many `TASK [meta]` banners Ansible prints for a meta task: one per host for the actions it runs per
 *  host, else one. */
export function playControlBanners(task: TaskNode, hosts: readonly HostRun[]): number {
  return PER_HOST.has(String(task.args._raw_params ?? '')) ? hosts.length : Math.min(1, hosts.length);
}

/** Carries out a meta task on the play's hosts. */
export async function runPlayControl(ctx: RunContext, walker: Walker, pr: PlayRun, task: TaskNode, hosts: HostRun[], scope: Scope): Promise<void> {
  const action = String(task.args._raw_params ?? '');
  const inner = innerScope(scope, task);
  const applies = (h: HostRun) => {
    const vars = ctx.vars.forTask(pr, h, task, inner);
    return inner.when.every(({ cond }) => evaluateCondition(cond, vars));
  };
  // As 2.14's linear strategy: flush_handlers and end_host act per host, by each host's condition; the
  // other actions run once, by the first host's condition, and act on every host of the play.
  const first = hosts[0];
  // What 2.14 shows at -vv for each meta it runs: its message, or why its condition skipped it.
  const meta = (message: string) => ctx.reporter.emit({ type: 'display', message: `META: ${message}`, verbosity: 2 });
  const skipped = (why: string) => meta(`${action} conditional evaluated to False, ${why}`);
  const once = () => first !== undefined && applies(first);
  const onceSaying = (done: string, why: string) => {
    const yes = once();
    if (first !== undefined) (yes ? meta(done) : skipped(why));
    return yes;
  };
  switch (action) {
    case 'flush_handlers': {
      const held = hosts.filter((h) => !applies(h));
      // As 2.14's strategy: a handler that flushes handlers ends the run.
      if (scope.handler && held.length < hosts.length) throw new ImgplayError('flush_handlers cannot be used as a handler', { pos: task.pos, messageFirst: true });
      for (const h of hosts) (held.includes(h) ? skipped(`not running handlers for ${h.name}`) : meta(`triggered running handlers for ${h.name}`));
      // Hosts whose condition is false keep their notifications for a later flush.
      const kept = held.map((h) => [h, new Set(h.notified)] as const);
      for (const h of held) h.notified.clear();
      try {
        // Only the hosts that reach the meta task flush (under the free strategy, the one host walking it).
        await flushHandlers(walker, pr, scope, [], hosts);
      } finally {
        for (const [h, notified] of kept) for (const n of notified) h.notified.add(n);
      }
      break;
    }
    case 'end_play':
    case 'end_batch':
      // A play is one batch in imgplay (no serial), so ending the batch ends the play.
      if (action === 'end_play' ? onceSaying('ending play', 'continuing play') : onceSaying('ending batch', 'continuing current batch')) pr.ended = true;
      break;
    case 'end_host':
      for (const h of hosts) {
        if (applies(h)) {
          h.ended = true;
          meta(`ending play for ${h.name}`);
        } else skipped(`continuing execution for ${h.name}`);
      }
      break;
    case 'clear_facts':
      if (onceSaying('facts cleared', `not clearing facts and fact cache for ${first?.name ?? ''}`)) for (const h of pr.hosts) h.facts = {};
      break;
    case 'clear_host_errors':
      // Failed and unreachable hosts are no longer counted as such (exit code, later plays), but a host
      // that stopped in this play stays stopped until the play ends, as in 2.14.
      if (onceSaying('cleared host errors', `not clearing host error state for ${first?.name ?? ''}`)) {
        for (const h of pr.hosts) {
          if (h.failed || h.unreachable) h.ended = true;
          h.failed = false;
          h.unreachable = false;
          h.errorsCleared = (h.errorsCleared ?? 0) + 1;
        }
      }
      break;
    case 'noop':
      for (let i = 0; i < hosts.length; i++) meta('noop');
      break;
    case 'reset_connection':
      // Local and chroot connections hold nothing to reset.
      for (let i = 0; i < hosts.length; i++) meta('reset connection');
      break;
    case 'refresh_inventory':
      // imgplay reads the inventory once (see docs/language.md).
      meta('inventory successfully refreshed');
      break;
    default:
      // role_complete: implicit in Ansible, and silent.
      break;
  }
}
