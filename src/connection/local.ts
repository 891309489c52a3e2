// The build host itself as a target: commands run directly, paths are host paths.
import { copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { MountGuard } from '../host/mount-guard.js';
import { RunnerPool } from './runner.js';
import type { Connection, ExecOptions, ExecResult } from './types.js';

/** Renders argv as a shell-quoted line, for messages and -v output. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The controller itself (Ansible's `connection: local`). */
export class LocalConnection implements Connection {
  readonly kind = 'local' as const;
  readonly root = '/';
  readonly mounts = new MountGuard('local');

  describe(): string {
    return 'local';
  }

  private pool: RunnerPool | undefined;

  async exec(command: string | readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (typeof command !== 'string' && command.length === 0) throw new TypeError('exec: empty argv');
    this.pool ??= new RunnerPool({ shell: ['/bin/sh'], env: { ...process.env }, jobParentHost: tmpdir(), jobParentInside: tmpdir() });
    return this.pool.exec(command, typeof command === 'string' ? command : shellQuote(command), opts);
  }

  async putFile(localPath: string, remotePath: string): Promise<void> {
    await mkdir(dirname(resolve(remotePath)), { recursive: true });
    await copyFile(localPath, resolve(remotePath));
  }

  async fetchFile(remotePath: string, localPath: string): Promise<void> {
    await mkdir(dirname(resolve(localPath)), { recursive: true });
    await copyFile(resolve(remotePath), resolve(localPath));
  }

  async hostPath(remotePath: string): Promise<string> {
    return resolve(remotePath);
  }

  /** Stops the runner shell and undoes the mounts tasks made on the host. */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
    await this.mounts.release();
  }
}
