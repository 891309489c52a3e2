// The one way imgplay mounts anything: every mount is recorded and undone in reverse order on
// success, on failure, on signals and at exit, so no build tree is ever deleted with the host inside it.
import { lstat, realpath } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, execaSync } from 'execa';
import { ImgplayError } from '../errors.js';
import { killAllGroups } from './process-group.js';
import { isMountPoint, mountTable, mountTableSync } from './mount-table.js';

/** What to mount where: a file system by type, a device or image file, or a directory to bind. */
export interface MountRequest {
  /** A device, an image file (with `loop` in options), a directory (with bind), or a name for proc/tmpfs. */
  source: string;
  /** An existing directory (or file, for a file bind) reached without symlinks. */
  target: string;
  fstype?: string | undefined;
  /** mount -o options, e.g. ['ro', 'loop'] or ['size=2G', 'mode=0755']. */
  options?: readonly string[] | undefined;
  bind?: boolean | undefined;
}

/** A mount or unmount that failed: the reason, the command, then mount's own words. */
export class MountError extends ImgplayError {}

interface Record {
  target: string;
  what: string;
}

const active = new Set<MountGuard>();
let handlersInstalled = false;
// Mounts about to be made: recorded before mount(8) runs, so a run killed in between still names them.
const pending = new Set<string>();
let observer: ((targets: readonly string[]) => void) | undefined;

/** Called with every mount point any guard holds (or is about to make) whenever that changes; the run file records them. */
export function observeMounts(fn: ((targets: readonly string[]) => void) | undefined): void {
  observer = fn;
}

function notify(): void {
  observer?.([...[...active].flatMap((g) => g.mounts), ...pending]);
}

/** Records mounts and undoes them, innermost first. One guard per build stage (or per chroot session). */
export class MountGuard {
  readonly #stack: Record[] = [];
  // Set once the process is exiting: nothing may be mounted after the last-resort clean-up.
  #closed = false;

  constructor(readonly label: string) {}

  /** The mount points this guard holds, in the order they were made. */
  get mounts(): readonly string[] {
    return this.#stack.map((r) => r.target);
  }

  /** Mounts, records and makes the new mount private (so its unmount cannot propagate to the host's mounts). */
  async mount(req: MountRequest): Promise<void> {
    if (this.#closed) throw new MountError(`imgplay is exiting; refusing to mount ${req.target}`);
    await assertPlainTarget(req.target);
    const argv = [
      ...(req.fstype !== undefined ? ['-t', req.fstype] : []),
      ...(req.bind ? ['--bind'] : []),
      ...(req.options !== undefined && req.options.length > 0 ? ['-o', req.options.join(',')] : []),
      '--',
      req.source,
      req.target,
    ];
    pending.add(req.target);
    notify();
    const r = await execa('mount', argv, { reject: false, stdin: 'ignore', all: true });
    pending.delete(req.target);
    const what = `${req.bind ? 'bind ' : ''}${req.source} on ${req.target}`;
    if (r.exitCode !== 0) {
      notify();
      throw new MountError(`could not mount ${what}: mount exited ${r.exitCode}\n  mount ${argv.join(' ')}\n${r.all ?? ''}`.trimEnd());
    }
    this.#stack.push({ target: req.target, what });
    track(this);
    notify();
    // A bind of /dev joins /dev's peer group when / is shared (systemd hosts): unmounting it or
    // anything under it would then propagate to the host. Private mounts propagate nothing.
    const p = await execa('mount', ['--make-private', '--', req.target], { reject: false, stdin: 'ignore', all: true });
    if (p.exitCode !== 0) {
      await this.unmount(req.target).catch(() => undefined);
      throw new MountError(`could not make ${req.target} private after mounting it\n${p.all ?? ''}`.trimEnd());
    }
  }

  /** Unmounts what this guard mounted at or below `target`, innermost first. */
  async unmount(target: string): Promise<void> {
    const prefix = target.endsWith('/') ? target : `${target}/`;
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      const rec = this.#stack[i] as Record;
      if (rec.target !== target && !rec.target.startsWith(prefix)) continue;
      await unmountOne(rec);
      this.#stack.splice(i, 1);
      notify();
    }
    if (this.#stack.length === 0) active.delete(this);
  }

  /** Unmounts everything, newest first; throws listing whatever could not be unmounted even lazily. */
  async release(): Promise<void> {
    const failures: string[] = [];
    while (this.#stack.length > 0) {
      const rec = this.#stack.pop() as Record;
      try {
        await unmountOne(rec);
        notify();
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
    active.delete(this);
    if (failures.length > 0) throw new MountError(`mount guard '${this.label}' could not undo every mount:\n${failures.join('\n')}`);
  }

  /** The last resort at process exit: lazy unmounts, synchronously, newest first. */
  releaseSync(): void {
    this.#closed = true;
    while (this.#stack.length > 0) {
      const rec = this.#stack.pop() as Record;
      if (!mountTableSync().some((e) => e.mountPoint === rec.target)) continue;
      execaSync('umount', ['--lazy', '--', rec.target], { reject: false, stdin: 'ignore' });
    }
    active.delete(this);
  }
}

/** Guards that still hold mounts (for tests and for exit-time clean-up). */
export function activeGuards(): readonly MountGuard[] {
  return [...active];
}

/** Runs `work` with a fresh guard and releases it afterwards, whether the work succeeded or not. */
export async function withMountGuard<T>(label: string, work: (guard: MountGuard) => Promise<T>): Promise<T> {
  const guard = new MountGuard(label);
  let result: T;
  try {
    result = await work(guard);
  } catch (err) {
    // The work's own error is the one worth reporting; a failed release is added to it, not swapped in.
    await guard.release().catch((releaseErr: unknown) => {
      if (err instanceof Error) err.message += `\n${releaseErr instanceof Error ? releaseErr.message : String(releaseErr)}`;
    });
    throw err;
  }
  await guard.release();
  return result;
}

// A mount on a path through a symlink lands wherever the link points: inside a build tree an
// absolute link such as dev -> /dev would put the mount on the host's own /dev.
async function assertPlainTarget(target: string): Promise<void> {
  if (!target.startsWith('/')) throw new MountError(`mount target must be an absolute path, got '${target}'`);
  const st = await lstat(target).catch(() => undefined);
  if (st === undefined) throw new MountError(`cannot mount on ${target}: it does not exist`);
  if (st.isSymbolicLink()) throw new MountError(`refusing to mount on ${target}: it is a symlink (a mount would land on whatever it points to)`);
  const real = await realpath(target);
  if (real !== target.replace(/\/+$/, '')) {
    throw new MountError(`refusing to mount on ${target}: the path passes through a symlink (it resolves to ${real})`);
  }
}

/** Undoes one mount the guard's way (retries while busy, then lazily): for mounts a dead run left behind. */
export async function undoMount(target: string): Promise<void> {
  await unmountOne({ target, what: target });
}

async function unmountOne(rec: Record): Promise<void> {
  // Already gone (someone unmounted it by hand): nothing to undo.
  if (!isMountPoint(await mountTable(), rec.target)) return;
  let last = '';
  // Busy mounts usually free up within moments (a process that just exited, udev settling).
  for (const delay of [0, 100, 250, 500, 1000]) {
    if (delay > 0) await sleep(delay);
    const r = await execa('umount', ['--', rec.target], { reject: false, stdin: 'ignore', all: true });
    if (r.exitCode === 0) return;
    last = r.all ?? '';
  }
  // Detached from the tree, so deleting the tree can no longer reach through it.
  const lazy = await execa('umount', ['--lazy', '--', rec.target], { reject: false, stdin: 'ignore', all: true });
  if (lazy.exitCode === 0) {
    process.emitWarning(`${rec.what} was busy; unmounted lazily (${last.trim()})`, { code: 'IMGPLAY_LAZY_UNMOUNT' });
    return;
  }
  throw new MountError(`could not unmount ${rec.what}: ${last.trim()}\n  umount --lazy: ${(lazy.all ?? '').trim()}`);
}

function track(guard: MountGuard): void {
  active.add(guard);
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', releaseAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // When nobody else handles the signal (a library user, not the CLI, which unwinds gracefully and
    // then exits), release here and die of the signal as the process would have.
    const onSignal = (): void => {
      if (process.listenerCount(sig) > 1) return;
      releaseAllSync();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Kills the child tool groups, then lazily unmounts every guard's mounts, synchronously (exit-time clean-up). */
export function releaseAllSync(): void {
  // A tool still running inside a mount would keep it busy; it must not outlive imgplay anyway.
  killAllGroups();
  for (const guard of [...active].reverse()) guard.releaseSync();
}
