// A directory tree as a target: commands run under chroot(8), file paths are confined to the tree.
import { constants } from 'node:fs';
import { access, copyFile, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UnreachableError } from '../errors.js';
import { lendResolvConf, mountSystemDirs } from '../host/chroot-mounts.js';
import { DebCacheSession } from '../host/deb-cache.js';
import { MountGuard } from '../host/mount-guard.js';
import { resolveInRoot } from './confine.js';
import { killProcessesRootedIn } from '../host/process-group.js';
import { shellQuote } from './local.js';
import { RunnerPool } from './runner.js';
import type { Connection, ExecOptions, ExecResult } from './types.js';

/** The whole environment a chrooted command sees (plus ExecOptions.env, and SOURCE_DATE_EPOCH when imgplay's is set): nothing else leaks in from the host. */
export const CHROOT_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  DEBIAN_FRONTEND: 'noninteractive',
  HOME: '/root',
};

/** How a chroot session is set up. */
export interface ChrootOptions {
  /**
   * Mount /proc, /sys, /dev and /dev/pts inside (through a mount guard) and lend the host's
   * resolv.conf for the session, as package scripts and apt need; all undone by close().
   */
  systemMounts?: boolean;
  /** A host folder of .debs shared by every tree (var imgplay_deb_cache): apt in the tree finds what any earlier
   * session downloaded and adds what it downloads; the tree itself keeps none of them. */
  debCache?: string | undefined;
}

/** A debootstrapped (or otherwise complete) Debian tree entered with chroot, as Ansible's chroot connection does. */
export class ChrootConnection implements Connection {
  readonly kind = 'chroot' as const;
  #restoreResolvConf: (() => Promise<void>) | undefined;
  #debs: DebCacheSession | undefined;

  readonly mounts: MountGuard;

  private constructor(
    readonly root: string,
    private readonly chrootBin: string,
  ) {
    this.mounts = new MountGuard(`chroot ${root}`);
  }

  /** Checks the tree can be entered (root privileges, a directory, a shell inside) and opens it. */
  static async open(root: string, opts: ChrootOptions = {}): Promise<ChrootConnection> {
    const abs = resolve(root);
    const refuse = (why: string, hint?: string) => new UnreachableError(`cannot open chroot ${abs}: ${why}`, { hint });
    const uid = process.getuid?.();
    if (uid !== 0) {
      throw refuse(`chroot needs root privileges, but imgplay runs as uid ${uid ?? 'unknown'}`, 'run imgplay as root (e.g. with sudo)');
    }
    const st = await stat(abs).catch(() => undefined);
    if (st === undefined) throw refuse('the directory does not exist');
    if (!st.isDirectory()) throw refuse('it is not a directory');
    const shell = await resolveInRoot(abs, '/bin/sh');
    if (!(await isExecutable(shell))) {
      throw refuse('there is no /bin/sh inside it', 'the tree should be a complete system, e.g. made by debootstrap');
    }
    const chrootBin = await findHostChroot();
    if (chrootBin === undefined) throw refuse('the chroot command is not installed on this host', 'install coreutils');
    const conn = new ChrootConnection(abs, chrootBin);
    if (opts.systemMounts) {
      try {
        await mountSystemDirs(conn.mounts, abs);
        conn.#restoreResolvConf = await lendResolvConf(abs);
      } catch (err) {
        await conn.close().catch(() => undefined);
        throw refuse(`could not prepare it: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (opts.debCache) {
      try {
        conn.#debs = await DebCacheSession.open(opts.debCache, abs, conn.mounts);
      } catch (err) {
        await conn.close().catch(() => undefined);
        throw refuse(`could not share the .deb cache with it: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return conn;
  }

  describe(): string {
    return `chroot ${this.root}`;
  }

  async exec(command: string | readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (typeof command !== 'string' && command.length === 0) throw new TypeError('exec: empty argv');
    this.pool ??= new RunnerPool({
      // The runner shell lives inside the root with the clean environment; commands inherit both.
      shell: [this.chrootBin, this.root, '/bin/sh'],
      env: { ...CHROOT_ENV, ...sourceDateEnv() },
      exactEnv: true,
      ...(await this.jobDirs()),
    });
    const result = await this.pool.exec(command, typeof command === 'string' ? command : shellQuote(command), opts);
    // Published after every command, so a later `apt-get clean` in the same session cannot take new downloads along.
    await this.#debs?.publish();
    return result;
  }

  private pool: RunnerPool | undefined;

  // Job files must be visible inside the root: its /tmp when it has one, else its top directory.
  private async jobDirs(): Promise<{ jobParentHost: string; jobParentInside: string }> {
    const tmp = await resolveInRoot(this.root, '/tmp');
    const st = await stat(tmp).catch(() => undefined);
    return st?.isDirectory() ? { jobParentHost: tmp, jobParentInside: '/tmp' } : { jobParentHost: this.root, jobParentInside: '/' };
  }

  async putFile(localPath: string, remotePath: string): Promise<void> {
    const dest = await this.hostPath(remotePath);
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(localPath, dest);
  }

  async fetchFile(remotePath: string, localPath: string): Promise<void> {
    const src = await this.hostPath(remotePath);
    await mkdir(dirname(resolve(localPath)), { recursive: true });
    await copyFile(src, resolve(localPath));
  }

  async hostPath(remotePath: string, opts: { followLast?: boolean } = {}): Promise<string> {
    return resolveInRoot(this.root, remotePath, opts);
  }

  /** Stops the runner shell, then puts resolv.conf back and undoes every mount made for this tree. */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
    const debs = this.#debs;
    this.#debs = undefined;
    await debs?.publish().catch(() => 0);
    // Daemons a package script started (and commands of an interrupted run) would keep /dev/pts busy.
    if (this.mounts.mounts.length > 0) await stopProcessesRootedIn(this.root);
    const restore = this.#restoreResolvConf;
    this.#restoreResolvConf = undefined;
    try {
      await restore?.();
    } finally {
      // The mounts go even when restoring the file failed: a leaked /dev bind is the dangerous part.
      await this.mounts.release();
      // Only once the bind over the tree's archives is gone, so nothing but the session's own folder is removed.
      if (debs && this.mounts.mounts.length === 0) await debs.remove();
    }
  }
}

// The one host variable a tree gets: image builds pin it (src/image/source-date.ts) so that package
// scripts stamp the same times on every build (useradd's password dates, for one).
function sourceDateEnv(): Record<string, string> {
  const v = process.env.SOURCE_DATE_EPOCH;
  return v !== undefined && /^\d+$/.test(v) ? { SOURCE_DATE_EPOCH: v } : {};
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

// An absolute path, so neither the host's PATH nor the command's env decides which chroot runs.
async function findHostChroot(): Promise<string | undefined> {
  for (const candidate of ['/usr/sbin/chroot', '/usr/bin/chroot', '/sbin/chroot', '/bin/chroot']) {
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

// Waits (briefly) for the killed processes to be gone, so the unmounts that follow are not busy.
async function stopProcessesRootedIn(root: string): Promise<void> {
  for (let i = 0; i < 30 && killProcessesRootedIn(root) > 0; i++) await new Promise((r) => setTimeout(r, 50));
}
