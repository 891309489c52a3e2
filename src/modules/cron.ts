// Manages cron jobs and crontab variables on the target, marked `#Ansible: NAME` as ansible.builtin.cron writes them.
import { chmod, readFile, unlink } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { atomicWrite } from '../host/atomic-write.js';
import { findTargetProgram } from './support/bin-path.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { splitLines } from './support/lines.js';
import { compilePyRegex, PyRegexError, toBytes } from './support/py-regex.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { makeTargetTemp } from './support/target-temp.js';
import { ModuleFailure } from './support/module-failure.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const MARK = '#Ansible: ';

const args = {
  name: { required: true, description: 'The job\'s name: the `#Ansible: NAME` line above it. With `env`, the variable\'s name.' },
  user: { description: 'Whose crontab (default: the user running the module, root). With `cron_file`, the user the job runs as (required there).' },
  job: { aliases: ['value'], description: 'The command (a job), or the value (a variable with `env`). Required with `state: present`.' },
  cron_file: { type: 'path', description: 'Write to this file (relative: under `/etc/cron.d`) instead of a user\'s crontab. `/etc/crontab` is refused, as in Ansible.' },
  state: { default: 'present', choices: ['present', 'absent'], description: 'Whether the job or variable is there. Removing the last job of a `cron_file` removes the file.' },
  backup: { type: 'bool', default: false, description: 'Copy the crontab before changing it into a `crontabXXXXXXXX` file in the target\'s temp directory; its path is returned as `backup_file`.' },
  minute: { default: '*', description: 'Minute field.' },
  hour: { default: '*', description: 'Hour field.' },
  day: { default: '*', aliases: ['dom'], description: 'Day of the month field.' },
  month: { default: '*', description: 'Month field.' },
  weekday: { default: '*', aliases: ['dow'], description: 'Day of the week field.' },
  special_time: { choices: ['reboot', 'yearly', 'annually', 'monthly', 'weekly', 'daily', 'hourly'], description: '`@reboot`, `@daily`... instead of the five time fields (which must then stay `*`).' },
  disabled: { type: 'bool', default: false, description: 'Write the job commented out (`#` before it). Only with `state: present`.' },
  env: { type: 'bool', default: false, description: 'Manage a variable `NAME="job"` instead of a job.' },
  insertafter: { description: 'With `env`: put a new variable after the variable of this name (default: at the top).' },
  insertbefore: { description: 'With `env`: put a new variable before the variable of this name.' },
} as const satisfies Record<string, ArgSpec>;

export const cron = defineModule(
  {
    name: 'cron',
    doc: {
      short: 'Manages cron jobs and crontab variables on the target.',
      description: [
        'As ansible-core 2.14 does it, quirks kept, so a crontab written by imgplay is byte for byte the one Ansible writes: each job is the line `#Ansible: NAME` and the job line under it (`MIN HOUR DAY MONTH WEEKDAY [USER] JOB`, the user only in a `cron_file`); a job found by its exact line without a marker gets one; every job of the same name is replaced; a variable is `NAME="value"`, put at the top unless `insertafter`/`insertbefore` say otherwise. A `cron_file` is written directly (a new one mode 0644).',
        "A user's crontab (no `cron_file`) is read and installed by running the target's own `crontab -l` / `crontab [-u USER] FILE`, as Ansible does: in a chroot that is `/var/spool/cron/crontabs/USER`, with the header crontab(1) writes.",
        'As in Ansible, crontab(1) must be on the target even for a `cron_file` (the `cron` package): without it the task fails with `Failed to find required executable "crontab" in paths: ...`. A minbase tree has no cron: install it first.',
      ].join('\n\n'),
      returns: '`jobs` and `envs` (the names in the crontab after the change), `cron_file` (when given), `backup_file` (with `backup` and a change), `warnings`. Removing the last job of a `cron_file`: `changed`, `cron_file`, `state` only.',
      checkMode: "Reports the change and writes nothing; a user's crontab is still read with `crontab -l`.",
      differences: ['A crontab that is not UTF-8 is refused (Ansible keeps undecodable bytes as they are).'],
    },
    args,
    mutuallyExclusive: [['insertafter', 'insertbefore']],
    checkMode: 'full',
    diff: true,
  },
  run,
);

type CronArgs = ArgsOf<typeof args>;

/** A crontab as the module sees it: its lines, the text it was read from, where it lives. */
class Crontab {
  lines: string[] = [];
  existing = '';

  constructor(
    readonly ctx: ModuleContext<CronArgs>,
    readonly crontabCmd: string,
    readonly cronFile: string | undefined,
  ) {}

  get user(): string | undefined {
    return this.ctx.args.user;
  }

  async read(): Promise<void> {
    if (this.cronFile !== undefined) {
      // Any read error (missing file, a directory) counts as an empty crontab, as in Ansible.
      const bytes = await readFile(await hostPathFollow(this.ctx.conn, this.cronFile)).catch(() => undefined);
      if (bytes === undefined) return;
      this.existing = decode(bytes, this.cronFile);
      this.lines = splitLines(this.existing);
      return;
    }
    const r = await this.ctx.conn.exec([this.crontabCmd, ...this.userArgs(), '-l'], { env: this.ctx.environment, keepFinalNewline: true, signal: this.ctx.signal });
    if (r.rc !== 0 && r.rc !== 1) throw new ModuleFailure(`Unable to read crontab: ${r.stderr.trim()}`);
    this.existing = r.stdout;
    // crontab(1)'s own header lines (at most the first three) are not part of what the module manages.
    splitLines(r.stdout).forEach((line, count) => {
      const header = /^# DO NOT EDIT THIS FILE - edit the master and reinstall./.test(line) || /^# \(\/tmp\/.*installed on.*\)/.test(line) || /^# \(.*version.*\)/.test(line);
      if (count > 2 || !header) this.lines.push(line);
      else this.existing = this.existing.replace(new RegExp(`${escapeRegExp(line)}[\r\n]?`), '');
    });
  }

  // Ansible runs `crontab -u USER` only for another user than the one running the module.
  userArgs(): string[] {
    const self = this.ctx.conn.kind === 'local' ? userInfo().username : 'root';
    return this.user !== undefined && this.user !== self ? ['-u', this.user] : [];
  }

  render(): string {
    const text = this.lines.join('\n');
    return text === '' ? '' : `${text.replace(/[\r\n]+$/, '')}\n`;
  }

  async write(): Promise<void> {
    const { conn } = this.ctx;
    if (this.cronFile !== undefined) {
      const host = await hostPathFollow(conn, this.cronFile);
      const isNew = (await statOrUndefined(host)) === undefined;
      try {
        await atomicWrite(host, { data: this.render() });
      } catch (err) {
        if (isFsError(err)) throw new ModuleFailure(`MODULE FAILURE: ${describeFsError(err, this.cronFile)}`);
        throw err;
      }
      // Ansible writes under umask 022: a new cron file is 0644 whatever imgplay's umask.
      if (isNew) await chmod(host, 0o644);
      return;
    }
    const tmp = await makeTargetTemp(this.ctx, 'crontab', this.render());
    const tmpHost = await hostPathFollow(conn, tmp);
    try {
      await chmod(tmpHost, 0o644);
      const r = await conn.exec([this.crontabCmd, ...this.userArgs(), tmp], { env: this.ctx.environment, signal: this.ctx.signal });
      if (r.rc !== 0) throw new ModuleFailure(r.stderr);
    } finally {
      await unlink(tmpHost).catch(() => undefined);
    }
  }

  header(): string {
    if (this.cronFile !== undefined) return this.cronFile;
    return this.user !== undefined ? `crontab for user "${this.user}"` : 'crontab';
  }

  findJob(name: string, job?: string): string[] {
    let comment: string | undefined;
    for (const l of this.lines) {
      if (comment !== undefined) {
        if (comment === name) return [comment, l];
        comment = undefined;
      } else if (l.startsWith(MARK)) {
        comment = l.replaceAll(MARK, '');
      }
    }
    if (job === undefined) return [];
    // Failing that, the exact job line: it gets the marker it lacks (Ansible looks at the line before, the last for the first).
    for (let i = 0; i < this.lines.length; i++) {
      if (this.lines[i] !== job) continue;
      const before = this.lines.at(i - 1) as string;
      if (!before.startsWith(MARK)) {
        this.lines.splice(i, 0, `${MARK}${name}`);
        return [this.lines[i] as string, job, 'inserted'];
      }
      // A job written without a name once carried the marker "#Ansible: None".
      if (before === `${MARK}None`) {
        this.lines[i - 1] = `${MARK}${name}`;
        return [`${MARK}${name}`, job, 'renamed'];
      }
    }
    return [];
  }

  /** Replaces (or, without a job, drops) every job of this name; a marker on the last line goes too. */
  updateJob(name: string, job: string | undefined): void {
    const marker = `${MARK}${name}`;
    const out: string[] = [];
    let pending = false;
    for (const l of this.lines) {
      if (pending) {
        if (job !== undefined) out.push(marker, job);
        pending = false;
      } else if (l === marker) pending = true;
      else out.push(l);
    }
    this.lines = out;
  }

  findEnv(name: string): [number, string] | undefined {
    const re = envPattern(name);
    const i = this.lines.findIndex((l) => re.test(toBytes(l)));
    return i === -1 ? undefined : [i, this.lines[i] as string];
  }

  updateEnv(name: string, decl: string | undefined): void {
    const re = envPattern(name);
    this.lines = this.lines.flatMap((l) => (re.test(toBytes(l)) ? (decl === undefined ? [] : [decl]) : [l]));
  }

  addEnv(decl: string, insertafter: string | undefined, insertbefore: string | undefined): void {
    const other = insertafter ?? insertbefore;
    if (other === undefined) {
      this.lines.unshift(decl);
      return;
    }
    const found = this.findEnv(other);
    if (found === undefined) throw new ModuleFailure(`Variable named '${other}' not found.`);
    this.lines.splice(insertafter !== undefined ? found[0] + 1 : found[0], 0, decl);
  }

  jobNames(): string[] {
    return this.lines.filter((l) => l.startsWith(MARK)).map((l) => l.replaceAll(MARK, ''));
  }

  envNames(): string[] {
    return this.lines.filter((l) => /^\S+=/.test(l)).map((l) => l.split('=')[0] as string);
  }

  isEmpty(): boolean {
    return this.lines.every((l) => l.trim() === '');
  }
}

function decode(bytes: Buffer, where: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ModuleFailure(`${where} is not UTF-8: imgplay edits crontabs as UTF-8 text only`);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Python's str.strip('\r\n').
function stripNewlines(s: string): string {
  return s.replace(/^[\r\n]+|[\r\n]+$/g, '');
}

async function run(ctx: ModuleContext<CronArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  const install = args.state === 'present';
  const warnings: string[] = [];
  let cronFile: string | undefined;
  if (args.cron_file !== undefined) {
    if (args.cron_file === '/etc/crontab') return failed('Will not manage /etc/crontab via cron_file, see documentation.');
    const base = posix.basename(args.cron_file);
    if (!/^[A-Z0-9_-]+$/i.test(base)) {
      warnings.push(`Filename portion of cron_file ("${base}") should consist solely of upper- and lower-case letters, digits, underscores, and hyphens`);
    }
    cronFile = posix.isAbsolute(args.cron_file) ? args.cron_file : posix.join('/etc/cron.d', args.cron_file);
  }
  // Ansible needs crontab(1) even for a cron_file.
  const crontabCmd = await findTargetProgram(ctx, 'crontab');
  if ('missing' in crontabCmd) return failed(crontabCmd.missing);
  const crontab = new Crontab(ctx, crontabCmd.path, cronFile);
  await crontab.read();
  const diff: NonNullable<ModuleResult['diff']> = { before: crontab.existing, before_header: crontab.header() };

  const fields = [args.minute, args.hour, args.day, args.month, args.weekday];
  if (args.special_time !== undefined && fields.some((f) => f !== '*')) return failed('You must specify time and date fields or special time.');
  if (install) {
    if (args.cron_file !== undefined && args.user === undefined) return failed('To use cron_file=... parameter you must specify user=... as well');
    if (args.job === undefined) return failed("You must specify 'job' to install a new cron job or variable");
    if ((args.insertafter !== undefined || args.insertbefore !== undefined) && !args.env) return failed('Insertafter and insertbefore parameters are valid only with env=yes');
  }

  let backupFile: string | undefined;
  if (args.backup && !check) backupFile = await makeTargetTemp(ctx, 'crontab', crontab.render());

  let changed = false;
  if (args.env) {
    if (args.name.includes(' ')) return failed('Invalid name for environment variable');
    const decl = `${args.name}="${args.job}"`;
    const old = crontab.findEnv(args.name);
    if (install) {
      if (old === undefined) {
        crontab.addEnv(decl, args.insertafter, args.insertbefore);
        changed = true;
      } else if (old[1] !== decl) {
        crontab.updateEnv(args.name, decl);
        changed = true;
      }
    } else if (old !== undefined) {
      crontab.updateEnv(args.name, undefined);
      changed = true;
    }
  } else if (install) {
    const job = stripNewlines(args.job as string);
    if (/[\r\n]/.test(job)) warnings.push('Job should not contain line breaks');
    const line = jobLine(args, job, cronFile !== undefined);
    const old = crontab.findJob(args.name, line);
    if (old.length === 0) {
      crontab.lines.push(`${MARK}${args.name}`, line);
      changed = true;
    }
    if ((old.length > 0 && old[1] !== line) || old.length > 2) {
      crontab.updateJob(args.name, line);
      changed = true;
    }
  } else if (crontab.findJob(args.name).length > 0) {
    crontab.updateJob(args.name, undefined);
    changed = true;
    if (cronFile !== undefined && crontab.isEmpty()) {
      const host = await hostPathFollow(conn, cronFile);
      let removed: boolean;
      if (check) removed = (await statOrUndefined(host))?.isFile() ?? false;
      else removed = await unlink(host).then(() => true, () => false);
      const result: ModuleResult = { changed: removed, cron_file: args.cron_file, state: args.state };
      // Ansible returns an empty diff here without --diff.
      result.diff = ctx.diff ? { ...diff, after: '', after_header: '/dev/null' } : {};
      return result;
    }
  }

  // Nothing to change, but a crontab without its final newline gets one.
  if (!changed && crontab.existing !== '' && !/[\r\n]$/.test(crontab.existing)) changed = true;

  const result: ModuleResult = { jobs: crontab.jobNames(), envs: crontab.envNames(), changed };
  if (warnings.length > 0) result.warnings = warnings;
  if (changed) {
    if (!check) await crontab.write();
    if (ctx.diff) result.diff = { ...diff, after: crontab.render(), after_header: crontab.header() };
  }
  if (backupFile !== undefined) {
    if (changed) result.backup_file = backupFile;
    else await unlink(await hostPathFollow(conn, backupFile));
  }
  if (args.cron_file !== undefined) result.cron_file = args.cron_file;
  return result;
}

function jobLine(args: CronArgs, job: string, inFile: boolean): string {
  const prefix = args.disabled ? '#' : '';
  const user = inFile ? ` ${args.user}` : '';
  if (args.special_time !== undefined) return `${prefix}@${args.special_time}${user} ${job}`;
  return `${prefix}${args.minute} ${args.hour} ${args.day} ${args.month} ${args.weekday}${user} ${job}`;
}

// Ansible puts a variable's name into a pattern as it is: one Python cannot compile is its module's crash.
function envPattern(name: string): RegExp {
  try {
    return compilePyRegex(`^${name}=`);
  } catch (err) {
    if (err instanceof PyRegexError) throw new ModuleFailure(`MODULE FAILURE: ${err.message}`);
    throw err;
  }
}
