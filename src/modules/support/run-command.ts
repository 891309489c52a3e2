// The body shared by command and shell, a port of Ansible's command module (shell is command with a shell).
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { CHROOT_ENV } from '../../connection/chroot.js';
import { shellQuote } from '../../connection/local.js';
import type { Connection } from '../../connection/types.js';
import type { ArgSpec, ArgsOf } from '../spec.js';
import type { ModuleContext, ModuleResult } from '../types.js';
import { describeFsError, isFsError } from './fs-error.js';
import { globExists } from './glob.js';
import { splitLines } from './lines.js';
import { ShlexError, shlexSplit } from './shlex.js';
import { hostPathFollow, statOrUndefined } from './target-path.js';

/** The arguments command and shell share, as their specs declare them (argv is command's alone). */
export const commandArgs = {
  _raw_params: { description: 'The command line (free form: `command: ls -l`).', internal: true },
  cmd: { description: 'The command line, as an argument instead of free form.' },
  chdir: { type: 'path', description: 'Directory to run in (on the target). Relative `creates`/`removes` are taken from it.' },
  creates: { type: 'path', description: "A glob; when anything matches, the command is skipped (`changed: false`, msg `Did not run command since 'X' exists`)." },
  removes: { type: 'path', description: 'A glob; when nothing matches, the command is skipped.' },
  stdin: { description: 'Text fed to standard input.' },
  stdin_add_newline: { type: 'bool', default: true, description: 'Append a newline to `stdin`.' },
  strip_empty_ends: { type: 'bool', default: true, description: 'Strip trailing newlines from stdout and stderr.' },
  executable: { description: "shell: the shell to run the line with (default /bin/sh). command: ignored with Ansible's warning." },
} as const satisfies Record<string, ArgSpec>;

/** What runCommand reads: the shared arguments, and command's argv. */
export type CommandArgs = ArgsOf<typeof commandArgs> & { argv?: string[] };

/** Runs a command (argv, no shell) or a shell line on the target and reports it as Ansible's command module does. */
export async function runCommand(ctx: ModuleContext<CommandArgs>, useShell: boolean): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  const warnings: string[] = [];
  const fail = (r: ModuleResult, msg: string): ModuleResult => finish({ ...r, failed: true, msg }, warnings);
  let raw = args._raw_params;
  if (args.cmd !== undefined) {
    if (raw !== undefined && raw.trim() !== '') {
      return fail({}, "The 'cmd' argument cannot be used when other raw parameters are specified. Remove the 'cmd' keyword, if present, to re-enable the raw parameters.");
    }
    raw = args.cmd;
  }
  const argv = args.argv;
  // rc stays unset until known: ModuleResult has no null rc (Ansible reports None).
  const r: ModuleResult = { changed: false, stdout: '', stderr: '', cmd: null, start: null, end: null, delta: null, msg: '' };
  let executable = args.executable;
  if (!useShell && executable !== undefined) {
    warnings.push(`As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '${executable}'.`);
    executable = undefined;
  }
  if ((raw === undefined || raw.trim() === '') && (argv === undefined || argv.length === 0)) {
    return fail({ ...r, rc: 256 }, 'no command given');
  }
  if (raw !== undefined && raw !== '' && argv !== undefined && argv.length > 0) {
    return fail({ ...r, rc: 256 }, 'only command or argv can be given, not both');
  }
  let command: string | string[];
  if (raw !== undefined && raw !== '') {
    try {
      command = useShell ? raw : shlexSplit(raw);
    } catch (err) {
      if (!(err instanceof ShlexError)) throw err;
      return fail(r, `cannot split the command line into arguments (${err.message}): ${raw}`);
    }
  } else {
    command = argv ?? [];
  }
  r.cmd = command;

  const cwd = args.chdir === undefined ? defaultCwd(conn) : posix.resolve(defaultCwd(conn), args.chdir);
  if (args.chdir !== undefined) {
    const st = await statOrUndefined(await hostPathFollow(conn, cwd));
    if (st === undefined || !st.isDirectory()) {
      const why = st === undefined ? '[Errno 2] No such file or directory' : '[Errno 20] Not a directory';
      return fail(r, `Unable to change directory before execution: ${why}: b'${args.chdir}'`);
    }
  }

  const would = check ? 'Would' : 'Did';
  if (args.creates !== undefined && (await globExists(conn, args.creates, cwd))) {
    Object.assign(r, { msg: `${would} not run command since '${args.creates}' exists`, stdout: `skipped, since ${args.creates} exists`, rc: 0 });
  } else if (args.removes !== undefined && !(await globExists(conn, args.removes, cwd))) {
    Object.assign(r, { msg: `${would} not run command since '${args.removes}' does not exist`, stdout: `skipped, since ${args.removes} does not exist`, rc: 0 });
  }
  if (r.msg !== '') return finish(r, warnings);

  r.changed = true;
  if (check) {
    r.rc = 0;
    r.msg = 'Command would have run if not in check mode';
    // With nothing to decide it, Ansible cannot predict the command: it reports a skip, not a change.
    if (args.creates === undefined && args.removes === undefined) {
      r.skipped = true;
      r.changed = false;
    }
    return finish(r, warnings);
  }

  const stdin = args.stdin === undefined ? undefined : args.stdin + (args.stdin_add_newline === false ? '' : '\n');
  const started = now();
  const res = await conn.exec(command, {
    cwd: args.chdir === undefined ? undefined : cwd,
    env: ctx.environment,
    stdin,
    executable,
    signal: ctx.signal,
    // strip_empty_ends: false keeps every trailing newline, the last one too.
    keepFinalNewline: args.strip_empty_ends === false,
  });
  const ended = now();
  if (res.rc === 127 && Array.isArray(command)) {
    const missing = await missingExecutable(conn, command[0] as string, cwd, ctx.environment.PATH);
    if (missing !== undefined) {
      return finish({ changed: false, cmd: shellQuote(command), rc: missing.errno, stdout: '', stderr: '', failed: true, msg: missing.msg }, warnings);
    }
  }
  Object.assign(r, { rc: res.rc, stdout: res.stdout, stderr: res.stderr, start: formatTime(started), end: formatTime(ended), delta: formatDelta(ended - started) });
  if (args.strip_empty_ends !== false) {
    r.stdout = (r.stdout as string).replace(/[\r\n]+$/, '');
    r.stderr = (r.stderr as string).replace(/[\r\n]+$/, '');
  }
  if (r.rc !== 0) {
    r.msg = 'non-zero return code';
    r.failed = true;
  }
  return finish(r, warnings);
}

// Ansible's action plugin adds the *_lines lists to every result that has the text.
function finish(r: ModuleResult, warnings: string[]): ModuleResult {
  if (typeof r.stdout === 'string') r.stdout_lines = splitLines(r.stdout);
  if (typeof r.stderr === 'string') r.stderr_lines = splitLines(r.stderr);
  if (warnings.length > 0) r.warnings = warnings;
  return r;
}

// Where a command starts without chdir: the controller's cwd locally, the root inside a chroot.
function defaultCwd(conn: Connection): string {
  return conn.root === '/' ? process.cwd() : '/';
}

// Whether rc 127 meant "could not start" (Python's FileNotFoundError) rather than the command's own exit code.
async function missingExecutable(
  conn: Connection,
  file: string,
  cwd: string,
  envPath: string | undefined,
): Promise<{ errno: number; msg: string } | undefined> {
  const notFound = { errno: 2, msg: `[Errno 2] No such file or directory: b'${file}'` };
  const candidates = file.includes('/')
    ? [posix.resolve(cwd, file)]
    : (envPath ?? (conn.root === '/' ? process.env.PATH : CHROOT_ENV.PATH) ?? '').split(':').map((d) => posix.join(d || '.', file));
  for (const c of candidates) {
    try {
      const st = await stat(await hostPathFollow(conn, c));
      if (st.isFile()) return undefined;
    } catch (err) {
      if (!isFsError(err)) throw err;
      if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') return { errno: Math.abs(err.errno ?? 1), msg: describeFsError(err) };
    }
  }
  return notFound;
}

// Wall-clock milliseconds with sub-millisecond precision, so start/end carry microseconds as Python's do.
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Python's str(datetime.now()): local time, 'YYYY-MM-DD HH:MM:SS.ffffff'. */
export function formatTime(ms: number): string {
  const d = new Date(Math.floor(ms));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const micro = Math.floor((ms - Math.floor(ms / 1000) * 1000) * 1000);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(micro, 6)}`;
}

/** Python's str(timedelta): 'H:MM:SS.ffffff' (no fraction when it is zero, days spelled out). */
export function formatDelta(ms: number): string {
  const totalMicro = Math.max(0, Math.round(ms * 1000));
  const micro = totalMicro % 1_000_000;
  let secs = Math.floor(totalMicro / 1_000_000);
  const days = Math.floor(secs / 86400);
  secs %= 86400;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const clock = `${Math.floor(secs / 3600)}:${p(Math.floor(secs / 60) % 60)}:${p(secs % 60)}${micro === 0 ? '' : `.${p(micro, 6)}`}`;
  return days === 0 ? clock : `${days} day${days === 1 ? '' : 's'}, ${clock}`;
}
