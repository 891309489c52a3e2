// The build host itself as a target: commands run directly, paths are host paths.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { execa } from 'execa';
import type { Connection, ExecOptions, ExecResult } from './types.js';

/** Renders argv as a shell-quoted line, for messages and -v output. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs a command with execa and folds success and failure into one ExecResult. */
export async function run(
  file: string,
  args: readonly string[],
  display: string,
  opts: ExecOptions & { extendEnv?: boolean; baseEnv?: Record<string, string> } = {},
): Promise<ExecResult> {
  const r = await execa(file, args, {
    reject: false,
    cwd: opts.cwd,
    env: { ...opts.baseEnv, ...opts.env },
    extendEnv: opts.extendEnv ?? true,
    input: opts.stdin ?? '',
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    stripFinalNewline: true,
    encoding: 'utf8',
  });
  // A command that could not be started (ENOENT) gets the shell's conventional code.
  const rc = r.exitCode ?? (r.failed && r.code === 'ENOENT' ? 127 : r.signal ? 128 + signalNumber(r.signal) : 1);
  const stderr = r.exitCode === undefined && !r.stderr ? (r.shortMessage ?? "") : (r.stderr ?? "");
  return { command: display, rc, stdout: r.stdout ?? "", stderr };
}

function signalNumber(sig: string): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return table[sig] ?? 0;
}

/** The controller itself (Ansible's `connection: local`). */
export class LocalConnection implements Connection {
  readonly kind = 'local' as const;
  readonly root = '/';

  describe(): string {
    return 'local';
  }

  async exec(command: string | readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (typeof command === 'string') {
      const sh = opts.executable ?? '/bin/sh';
      return run(sh, ['-c', command], command, opts);
    }
    const [file, ...args] = command;
    if (file === undefined) throw new TypeError('exec: empty argv');
    return run(file, args, shellQuote(command), opts);
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

  async close(): Promise<void> {}
}
