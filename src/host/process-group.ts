// Long child tools (mmdebstrap, mksquashfs, cpio, the chroot's command runner) run in process groups
// of their own, so stopping one stops everything it started: a tool's helpers hold its output pipes
// open and would keep imgplay waiting long after the tool itself died. The groups are also what a
// terminal's Ctrl-C does not reach (only imgplay's own group gets it), so imgplay stops them itself.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { toolOutput, toolOutputWanted } from './activity.js';

/** Whether a process with this pid exists (EPERM: it does, and belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A process group imgplay started and has not seen end: its leader's pid, the tool, the leader's start time. */
export interface LiveGroup {
  pgid: number;
  tool: string;
  /** Field 22 of /proc/PID/stat: tells a live leader from a later process that reused its pid. */
  start: string;
}

const live = new Map<number, LiveGroup>();
let observer: ((groups: readonly LiveGroup[]) => void) | undefined;
let exitHookInstalled = false;

/** How long a group gets between SIGTERM and SIGKILL. */
export const GRACE_MS = 3000;

/** Called with every live group whenever one starts or ends (the run file records them). */
export function observeGroups(fn: ((groups: readonly LiveGroup[]) => void) | undefined): void {
  observer = fn;
}

/** The groups started and not yet ended. */
export function liveGroups(): readonly LiveGroup[] {
  return [...live.values()];
}

/** A process's start time from /proc, or undefined when there is no such process. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether any process is still in group `pgid`. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // already gone
  }
}

/**
 * Watches a child started with execa's `detached: true` (so it leads a group of its own): on abort
 * the whole group gets SIGTERM, then SIGKILL after `graceMs`; whatever of the group outlives its
 * leader is killed too. Returns whether the abort stopped it.
 */
export function superviseGroup(child: { pid?: number | undefined; then: PromiseLike<unknown>['then'] }, tool: string, signal?: AbortSignal, graceMs = GRACE_MS): () => boolean {
  const pgid = child.pid;
  if (pgid === undefined) return () => false;
  live.set(pgid, { pgid, tool, start: processStart(pgid) ?? '' });
  installExitHook();
  observer?.(liveGroups());
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    stopped = true;
    signalGroup(pgid, 'SIGTERM');
    timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), graceMs);
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  const done = () => {
    signal?.removeEventListener('abort', stop);
    if (timer !== undefined) clearTimeout(timer);
    // A helper that outlived its tool (it closed its copy of the pipes) is not left running.
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    live.delete(pgid);
    observer?.(liveGroups());
  };
  child.then(done, done);
  return () => stopped;
}

/** Starts tracking a group whose end the caller reports with the returned function (for the runner shells). */
export function trackGroup(pgid: number | undefined, tool: string): () => void {
  if (pgid === undefined) return () => undefined;
  live.set(pgid, { pgid, tool, start: processStart(pgid) ?? '' });
  installExitHook();
  observer?.(liveGroups());
  return () => {
    if (live.delete(pgid)) observer?.(liveGroups());
  };
}

/** SIGTERM to a tracked group now, SIGKILL after the grace if any of it is left. */
export function stopGroup(pgid: number, graceMs = GRACE_MS): void {
  signalGroup(pgid, 'SIGTERM');
  setTimeout(() => {
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
  }, graceMs).unref();
}

/** SIGKILL to every live group at once: a second Ctrl-C, or the process exiting. */
export function killAllGroups(): void {
  for (const g of live.values()) signalGroup(g.pgid, 'SIGKILL');
}

/**
 * Kills (SIGKILL) every process whose root directory is `root` or below it: daemons a package
 * script started inside a chroot leave the runner's group, and would keep its /dev/pts busy.
 * Returns how many were killed.
 */
export function killProcessesRootedIn(root: string): number {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let r: string;
    try {
      r = readlinkSync(`/proc/${name}/root`);
    } catch {
      continue;
    }
    if (r !== root && !r.startsWith(prefix)) continue;
    try {
      process.kill(Number(name), 'SIGKILL');
      n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Detached children are not killed by execa when imgplay exits: they would run on, orphaned.
  process.on('exit', killAllGroups);
}

/** Awaits a child started with `detached: true` under superviseGroup; a stopped one reads as canceled. */
export async function inGroup<R extends { isCanceled: boolean }>(child: PromiseLike<R> & { pid?: number | undefined; all?: Readable | undefined | null }, tool: string, signal?: AbortSignal): Promise<R> {
  // The live view shows what the tool prints as it works (execa still collects all of it).
  if (toolOutputWanted()) child.all?.on('data', (chunk: Buffer | string) => toolOutput(tool, String(chunk)));
  const stopped = superviseGroup({ pid: child.pid, then: child.then.bind(child) as PromiseLike<unknown>['then'] }, tool, signal);
  const r = await child;
  return stopped() ? { ...r, isCanceled: true } : r;
}
