// The actions of a module that acts on the play rather than on a host (meta: flush_handlers, end_play,
// end_host, clear_facts, clear_host_errors...), carried out as ansible-core 2.14's linear strategy does.
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
  const once = () => first !== undefined && applies(first);
  switch (action) {
    case 'flush_handlers': {
      const held = hosts.filter((h) => !applies(h));
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
          h.errorsCleared = (h.errorsCleared ?? 0) + 1;
        }
      }
      break;
    default:
      // noop; refresh_inventory (imgplay reads the inventory once: see docs/language.md); reset_connection
      // (local and chroot connections hold nothing to reset).
      break;
  }
}
