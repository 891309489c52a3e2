// A persistent command runner: one small /bin/sh per connection that forks each command itself.
// Node's own spawn costs several milliseconds per command (it forks a large process); a shell
// forks in about one. For a chroot the runner lives inside the root, so commands need no chroot
// exec of their own. Each job is one line of shell sent over the runner's stdin; the command's
// stdin, stdout and stderr are files in a private job directory, and the runner answers with the
// exit code.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { toolOutput, toolOutputWanted } from '../host/activity.js';
import { removeTree } from '../host/mount-table.js';
import { stopGroup, trackGroup } from '../host/process-group.js';
import type { ExecOptions, ExecResult } from './types.js';

/** How to start a runner and where its job files live. */
export interface RunnerSpec {
  /** argv that starts a POSIX shell, to which `-c SCRIPT` is appended (e.g. ['chroot', root, '/bin/sh']). */
  shell: string[];
  /** The runner's whole environment (commands inherit it; ExecOptions.env adds to it). */
  env: Record<string, string | undefined>;
  /** The job directory's parent: as a host path, and as the runner sees it (differs inside a chroot). */
  jobParentHost: string;
  jobParentInside: string;
  /** Keep the environment exactly `env` (+ ExecOptions.env): drop the PWD the runner shell exports. */
  exactEnv?: boolean;
}

// Reads one job per line and evals it, answering its exit code; each job names its own stdin (never the
// runner's, which carries the jobs). Jobs are single lines: a newline inside a quoted word travels as "$NL"
// (see shq), so any argument survives. Nothing here may need /dev/null: a bare chroot has no /dev, and dash
// leaves at a failed redirection of eval.
const RUNNER_SCRIPT = `NL=$(printf '\\n_'); NL=\${NL%_}; while IFS= read -r job; do eval "$job"; printf '%s\\n' "$?"; done`;

/** Quotes a word for the runner's shell, on one line (newlines become the runner's "$NL"). */
export function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`).replace(/\n/g, `'"$NL"'`)}'`;
}

interface Pending {
  resolve: (rc: number) => void;
  reject: (err: Error) => void;
}

class Runner {
  private readonly child: ResultPromise;
  /** Each runner runs one job at a time, so its job files can be reused: `<id>.run`, `.in`, `.out`, `.err`. */
  readonly id: number;
  private pending: Pending | undefined;
  dead = false;

  constructor(spec: RunnerSpec, id: number) {
    this.id = id;
    const [file, ...args] = spec.shell;
    // Its own process group, so a cancelled command and everything it started can be killed together.
    this.child = execa(file!, [...args, '-c', RUNNER_SCRIPT], {
      env: spec.env,
      extendEnv: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'inherit',
      detached: true,
      buffer: false,
      reject: false,
    });
    const untrack = trackGroup(this.child.pid, `command runner (${spec.shell.join(' ')})`);
    void this.child.then(() => {
      untrack();
      this.fail(new Error('the command runner exited'));
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const job = this.pending;
      this.pending = undefined;
      job?.resolve(Number(line));
    });
  }

  private fail(err: Error): void {
    this.dead = true;
    this.pending?.reject(err);
    this.pending = undefined;
  }

  /** Runs one job line (a runner runs one job at a time) and resolves with its exit code. */
  run(job: string): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(new Error('the command runner is not running'));
      this.pending = { resolve, reject };
      this.child.stdin!.write(`${job}\n`);
    });
  }

  /** Stops the runner and whatever its job started: SIGTERM to its group, SIGKILL after a grace. */
  kill(): void {
    this.dead = true;
    if (this.child.pid !== undefined) stopGroup(this.child.pid);
  }

  close(): void {
    if (!this.dead) this.child.stdin!.end();
    this.dead = true;
  }
}

// Job directories not yet closed: removed when the process exits, so a pool nobody closed (a crash,
// a test that drops its connection) leaves no files behind.
const openJobDirs = new Set<string>();
/** Removes the job directories of pools never closed (also done when the process exits normally). */
export function removeOpenJobDirs(): void {
  for (const dir of openJobDirs) rmSync(dir, { recursive: true, force: true });
  openJobDirs.clear();
}

// A job directory's name holds the pid of the imgplay that made it, so one left by a process killed outright
// (SIGKILL, a test worker torn down) is known as stale and removed by the next pool made in that folder.
const JOB_DIR_PREFIX = '.imgplay-run-';
const JOB_DIR = /^\.imgplay-run-(\d+)-[A-Za-z0-9]{6}$/;

/** Removes the job directories in `parent` whose imgplay process is gone; returns their names. */
export async function removeStaleJobDirs(parent: string): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(JOB_DIR.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid === process.pid || existsSync(`/proc/${pid}`)) continue;
    // Only plain folders, never across a mount point (removeTree refuses one; such a folder is left as it is).
    const st = await lstat(join(parent, name)).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    if (await removeTree(join(parent, name)).then(() => true, () => false)) removed.push(name);
  }
  return removed;
}

/** Runners for one connection: one per command running at the same time, reused when idle. */
export class RunnerPool {
  private readonly idle: Runner[] = [];
  private readonly all = new Set<Runner>();
  private jobRoot: { host: string; inside: string } | undefined;
  private counter = 0;

  constructor(private readonly spec: RunnerSpec) {}

  private async jobs(): Promise<{ host: string; inside: string }> {
    if (!this.jobRoot) {
      await removeStaleJobDirs(this.spec.jobParentHost);
      const host = await mkdtemp(join(this.spec.jobParentHost, `${JOB_DIR_PREFIX}${process.pid}-`));
      // The stdin of a command given none: an empty file, as /dev/null may be missing (a bare chroot).
      writeFileSync(join(host, 'empty'), '');
      if (openJobDirs.size === 0) process.once('exit', removeOpenJobDirs);
      openJobDirs.add(host);
      const inside = join(this.spec.jobParentInside, host.slice(host.lastIndexOf('/') + 1));
      this.jobRoot = { host, inside };
    }
    return this.jobRoot;
  }

  /** Runs argv directly, or a string through `executable -c`; same result shape as a direct spawn. */
  async exec(command: string | readonly string[], display: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const root = await this.jobs();
    const runner = this.idle.pop() ?? this.start();
    const host = join(root.host, String(runner.id));
    const inside = join(root.inside, String(runner.id));
    const argv = typeof command === 'string' ? [opts.executable ?? '/bin/sh', '-c', command] : [...command];
    const parts: string[] = [];
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) parts.push(`export ${k}=${shq(v)}`);
    }
    if (opts.cwd !== undefined) parts.push(`cd -- ${shq(opts.cwd)} || exit 1`);
    if (this.spec.exactEnv) parts.push('unset PWD OLDPWD');
    parts.push(`exec ${argv.map(shq).join(' ')}`);
    const withStdin = opts.stdin !== undefined && opts.stdin !== '';
    // Small files, written and read synchronously: a thread-pool round trip costs more than the I/O.
    if (withStdin) writeFileSync(`${host}.in`, opts.stdin!);
    const job = `( ${parts.join('; ')} ) <${shq(withStdin ? `${inside}.in` : join(root.inside, 'empty'))} >${shq(`${inside}.out`)} 2>${shq(`${inside}.err`)}`;

    let timer: NodeJS.Timeout | undefined;
    let why: string | undefined;
    const stop = (reason: string) => {
      why = reason;
      runner.kill();
    };
    const onAbort = () => stop('interrupted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs !== undefined) timer = setTimeout(() => stop(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs);
    // The live view shows the command's latest output line: its output files are read back as it works.
    const watch = toolOutputWanted() ? setInterval(() => showLatest(display, [`${host}.out`, `${host}.err`]), 500) : undefined;
    let rc: number;
    try {
      rc = opts.signal?.aborted ? (stop('interrupted'), 130) : await runner.run(job);
    } catch (err) {
      rc = why === 'interrupted' ? 130 : why ? 124 : 1;
      // A runner that dies on its own (killed from outside, out of memory) must not look like a silent failure.
      why ??= `lost (${(err as Error).message})`;
    } finally {
      if (timer) clearTimeout(timer);
      if (watch) clearInterval(watch);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (runner.dead) this.all.delete(runner);
    else this.idle.push(runner);
    const stdout = readIfThere(`${host}.out`);
    let stderr = readIfThere(`${host}.err`);
    if (why) stderr = `${stderr}${stderr ? '\n' : ''}Command was ${why === 'interrupted' ? 'canceled' : why}: ${display}`;
    // The next job truncates these files; only stdin (possibly a secret) is removed at once.
    if (withStdin) rmSync(`${host}.in`, { force: true });
    if (opts.keepFinalNewline) return { command: display, rc, stdout, stderr };
    return { command: display, rc, stdout: stripFinalNewline(stdout), stderr: stripFinalNewline(stderr) };
  }

  private start(): Runner {
    const r = new Runner(this.spec, ++this.counter);
    this.all.add(r);
    return r;
  }

  /** Stops every runner and removes the job directory. */
  async close(): Promise<void> {
    for (const r of this.all) r.close();
    this.all.clear();
    this.idle.length = 0;
    if (this.jobRoot) {
      await rm(this.jobRoot.host, { recursive: true, force: true });
      openJobDirs.delete(this.jobRoot.host);
      if (openJobDirs.size === 0) process.removeListener('exit', removeOpenJobDirs);
    }
    this.jobRoot = undefined;
  }
}

function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function stripFinalNewline(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}

// The tail of whichever output file changed last, as the command's latest line (`apt-get: Unpacking ...`).
function showLatest(display: string, files: readonly string[]): void {
  let newest: { mtime: number; text: string } | undefined;
  for (const f of files) {
    let fd: number | undefined;
    try {
      fd = openSync(f, 'r');
      const st = fstatSync(fd);
      if (st.size === 0 || (newest && st.mtimeMs < newest.mtime)) continue;
      const len = Math.min(st.size, 2048);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, st.size - len);
      newest = { mtime: st.mtimeMs, text: buf.toString('utf8') };
    } catch {
      // not written yet
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  if (newest) toolOutput(toolName(display), newest.text);
}

// `apt-get` for "'/usr/bin/apt-get' install ...", `sh` for a script that starts with a shell keyword.
function toolName(display: string): string {
  const first = (display.trim().split(/\s+/)[0] ?? '').replace(/^'|'$/g, '');
  const base = first.split('/').pop() ?? '';
  return /^[\w.+-]+$/.test(base) && !SHELL_WORDS.has(base) ? base : 'sh';
}

const SHELL_WORDS = new Set(['for', 'while', 'until', 'if', 'case', 'set', 'cd', 'export', 'exec', 'eval', 'true', 'false']);
