// Waiting in a run: pauses an interruption cuts short, a module's deadline, and hosts run a few at a time.
import type { ModuleContext, ModuleResult } from '../modules/types.js';

/** Waits `ms`, or less when the run is interrupted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** Runs a module with a deadline (the task keyword `timeout`): past it the module's commands are stopped through
 *  its signal and the answer is undefined. */
export async function withTimeout(ctx: ModuleContext<Record<string, unknown>>, seconds: number, run: (ctx: ModuleContext<Record<string, unknown>>) => Promise<ModuleResult>): Promise<ModuleResult | undefined> {
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

/** Runs fn over items with at most `limit` at a time, in order of start. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
