// The one interface every connection implements: run commands, move files, map target paths.
import type { MountGuard } from '../host/mount-guard.js';

/** How to run a command on the target. */
export interface ExecOptions {
  /** Working directory on the target. */
  cwd?: string | undefined;
  /** Extra environment variables, on top of the connection's own. */
  env?: Record<string, string> | undefined;
  /** Bytes fed to standard input. */
  stdin?: string | undefined;
  /** The shell used when the command is a string (default /bin/sh). */
  executable?: string | undefined;
  /** Abort the command after this many milliseconds. */
  timeoutMs?: number | undefined;
  /** Kills the command when the run is interrupted. */
  signal?: AbortSignal | undefined;
  /** Keep the output exactly as written (by default one final newline is dropped, as from a shell's `$(...)`). */
  keepFinalNewline?: boolean | undefined;
}

/** One result shape for success and failure: the caller decides what a non-zero rc means. */
export interface ExecResult {
  /** The command as a user would type it, for messages and -v output. */
  command: string;
  rc: number;
  stdout: string;
  stderr: string;
}

/** A target for tasks: the build host itself, or a directory tree entered with chroot. */
export interface Connection {
  readonly kind: 'local' | 'chroot';
  /** The target's root as a path on the controller: '/' for local. */
  readonly root: string;
  /** A short label for messages, e.g. "chroot /var/lib/imgplay/base". */
  describe(): string;
  /** Runs argv directly, or a string through the shell (`/bin/sh -c`). Never throws for a non-zero exit. */
  exec(command: string | readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Copies a controller file to a target path (confined to the target's root). */
  putFile(localPath: string, remotePath: string): Promise<void>;
  /** Copies a target file (confined to the target's root) to a controller path. */
  fetchFile(remotePath: string, localPath: string): Promise<void>;
  /**
   * Maps a target path to the controller path that holds it. For a chroot every symlink and `..`
   * is resolved inside the root, so the result never lies outside it. `followLast: false` leaves a
   * final symlink unresolved (for lstat, link creation and removal).
   */
  hostPath(remotePath: string, opts?: { followLast?: boolean }): Promise<string>;
  /** Mounts made for this target (by the connection itself or the mount module); close() undoes them. */
  readonly mounts: MountGuard;
  close(): Promise<void>;
}
