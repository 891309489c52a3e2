// `imgplay run PLAYBOOK` (the default command): plans a playbook, then runs it with the reporters the output
// wants, the lock honoured, signals turned into a clean interrupt; `imgplay lock` builds through it too.
import { isTrueWord } from '../jinja/values.js';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { EXIT, OptionsError } from '../errors.js';
import { killAllGroups } from '../host/process-group.js';
import { honourLock } from '../image/lock-honour.js';
import { pinSourceDate } from '../image/source-date.js';
import { buildsArtifacts } from '../playbook/builds-artifacts.js';
import { loadInventory } from '../inventory/inventory.js';
import { listTags, listTasks } from '../playbook/listing.js';
import { planDynamicIncludes } from '../playbook/preflight.js';
import { checkStrategy, loadPlaybook, type Strategy } from '../playbook/resolve.js';
import { reportError } from '../report/error-text.js';
import { Fanout, type Reporter } from '../report/events.js';
import { JsonLinesReporter } from '../report/json-lines.js';
import { PlainReporter, type PlainOptions } from '../report/plain.js';
import { parseKv } from '../yaml/kv.js';
import { loadYamlFile, parseYaml } from '../yaml/load.js';
import { Executor } from './executor.js';
import { type LockMode, beginLockedRun, endLockedRun } from './lock.js';

/** The options of a playbook run, as the run command parses them. */
export interface RunCliOptions {
  inventory?: string[];
  extraVars?: string[];
  check?: boolean;
  diff?: boolean;
  tags?: string[];
  skipTags?: string[];
  startAtTask?: string;
  listTasks?: boolean;
  listTags?: boolean;
  syntaxCheck?: boolean;
  limit?: string;
  verbose: number;
  forks: string;
  json?: boolean;
  forceHandlers?: boolean;
  /** false with --no-cache. */
  cache: boolean;
  cacheDir?: string;
  /** --locked: a missing lock, or a build that differs from it, is an error. */
  locked?: boolean;
  /** false with --no-timings. */
  timings?: boolean;
  /** -c: the connection of hosts that name none (neither ansible_connection nor the play's `connection:`). */
  connection?: string;
}

const CONNECTIONS = ['local', 'chroot'];

/** Adds `imgplay run` (the default command) to the CLI. */
export function registerRunCommand(program: Command, io: { out: (s: string) => void; err: (s: string) => void; setCode: (n: number) => void }): void {
  program
    .command('run', { isDefault: true })
    .description('run a playbook (the default command)')
    .argument('<playbook>', 'the playbook file (a name is also looked up in playbooks/)')
    .option('-i, --inventory <path>', 'inventory file (default: hosts.yaml beside the playbook or here; none: localhost)', collect)
    .option('-e, --extra-vars <vars>', 'key=value, YAML/JSON, or @file; repeatable', collect)
    .option('-C, --check', "don't make any changes; predict what would change")
    .option('-D, --diff', 'show the differences in changed files')
    .option('-t, --tags <tags>', 'only run tasks with these tags (comma-separated, repeatable)', collectList)
    .option('--skip-tags <tags>', 'skip tasks with these tags (comma-separated, repeatable)', collectList)
    .option('--start-at-task <name>', 'start at the task with this name')
    .option('--list-tasks', 'list the tasks that would run, and exit')
    .option('--list-tags', 'list all tags, and exit')
    .option('--syntax-check', 'check the playbook and exit without running anything')
    .option('-l, --limit <pattern>', 'limit the run to hosts matching this pattern')
    .option('-c, --connection <type>', 'connection for hosts that set none (ansible_connection, the play\'s connection:): local or chroot')
    .option('-v, --verbose', 'more output: commands, stdout and stderr (repeat for more)', (_v, prev: number) => prev + 1, 0)
    .addOption(new Option('-f, --forks <n>', 'hosts to run in parallel').default('5'))
    .option('--json', 'one JSON event per line on stdout, for CI tools')
    .option('--force-handlers', 'run handlers even on hosts that failed (a play\'s force_handlers keyword wins)')
    .option('--no-cache', 'build every stage afresh: reuse nothing from the stage cache and store nothing in it')
    .option('--cache-dir <dir>', 'the stage cache\'s folder, and the cache_dir variable (default: the cache_dir variable, else /var/cache/imgplay)')
    .option('--locked', 'a missing imgplay.lock, or a build that differs from it, is an error (for CI)')
    .option('--no-timings', "plain output without profile_tasks' time lines and the closing slowest-tasks and stages tables")
    .action(async (playbook: string, opts: RunCliOptions) => {
      io.setCode(await runCommand(playbook, opts, io.out, io.err));
    });
}

function collect(value: string, prev: string[] = []): string[] {
  return [...prev, value];
}

function collectList(value: string, prev: string[] = []): string[] {
  return [...prev, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** Finds the playbook: the path given, or the same name under playbooks/ (on-imagebuilder's layout). */
export function findPlaybook(name: string, cwd = process.cwd()): string {
  const direct = resolve(cwd, name);
  if (existsSync(direct)) return direct;
  const inPlaybooks = resolve(cwd, 'playbooks', name);
  if (existsSync(inPlaybooks)) return inPlaybooks;
  throw new OptionsError(`the playbook ${name} could not be found (looked at ${direct} and ${inPlaybooks})`);
}

/** The inventory used when none is given: hosts.yaml beside the playbook, else in the working directory. */
export function defaultInventory(playbook: string, cwd = process.cwd()): string[] {
  for (const dir of [dirname(playbook), dirname(dirname(playbook)), cwd]) {
    for (const name of ['hosts.yaml', 'hosts.yml']) {
      const f = join(dir, name);
      if (existsSync(f)) return [f];
    }
  }
  return [];
}

/** Parses -e values: key=value pairs, inline YAML/JSON, or @file. */
export async function parseExtraVars(values: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const v of values) {
    let data: unknown;
    if (v.startsWith('@')) data = await loadYamlFile(resolve(v.slice(1)));
    else if (/^\s*[{[]/.test(v)) data = parseYaml(v, '<extra vars>');
    else {
      try {
        data = parseKv(v);
      } catch (e) {
        throw new OptionsError(`-e ${v}: ${(e as Error).message}`);
      }
    }
    if (data === null || data === undefined) continue;
    if (typeof data !== 'object' || Array.isArray(data)) throw new OptionsError(`-e ${v}: extra vars must be key=value pairs or a mapping`);
    Object.assign(out, data);
  }
  return out;
}

/** What another command (`imgplay lock`) adds to a playbook run. */
export interface RunHooks {
  /** Variables over every -e (the lock's throwaway builds folder). */
  extraVars?: Record<string, unknown>;
  /** How the run treats imgplay.lock (default: strict, as any build). */
  lockMode?: LockMode;
  /** Called with the finished run; returns the command's exit code. */
  after?: (executor: Executor, exitCode: number) => Promise<number>;
}

// ansible.cfg's default strategy as its environment variable sets it (imgplay reads no ansible.cfg).
function envStrategy(): Strategy | undefined {
  const v = process.env.ANSIBLE_STRATEGY;
  if (v === undefined || v === '') return undefined;
  try {
    return checkStrategy(v, undefined);
  } catch (err) {
    throw new OptionsError(`ANSIBLE_STRATEGY: ${(err as Error).message}`);
  }
}

/** Runs a playbook as `imgplay run` does (the other commands that build go through here too); returns the exit code. */
export async function runCommand(playbookArg: string, opts: RunCliOptions, out: (s: string) => void, err: (s: string) => void, hooks: RunHooks = {}): Promise<number> {
  try {
    const forks = Number(opts.forks);
    if (!Number.isInteger(forks) || forks < 1) throw new OptionsError(`--forks must be a positive whole number, got '${opts.forks}'`);
    const strategy = envStrategy();
    if (opts.connection !== undefined && !CONNECTIONS.includes(opts.connection)) {
      throw new OptionsError(`--connection ${opts.connection}: imgplay connects with ${CONNECTIONS.join(' and ')} only (no ssh: it builds images on this host)`);
    }
    const file = findPlaybook(playbookArg);
    const extraVars = { ...(await parseExtraVars(opts.extraVars ?? [])), ...hooks.extraVars };
    // The folder is the cache_dir variable too, so what lives under it (the .deb cache) follows the flag.
    if (opts.cacheDir !== undefined) extraVars.cache_dir = resolve(opts.cacheDir);
    const playbook = await loadPlaybook(file, { extraVars });
    // `-i web1,web2,` names hosts (Ansible's host list): a source that is no path but holds a comma.
    const invSources = opts.inventory?.map((p) => (!existsSync(resolve(p)) && p.includes(',') ? p : resolve(p))) ?? defaultInventory(file);
    for (const s of invSources) if (!s.includes(',') && !existsSync(s)) throw new OptionsError(`the inventory ${s} does not exist`);
    const inventory = await loadInventory(invSources, { playbookDir: dirname(file) });
    if (opts.syntaxCheck || opts.listTasks || opts.listTags) for (const w of playbook.warnings) if (ansibleBool(process.env.ANSIBLE_DEPRECATION_WARNINGS) !== false) err(`[DEPRECATION WARNING]: ${w} Deprecation warnings can be disabled by setting deprecation_warnings=False in ansible.cfg.\n`);
    // Roles named by inventory or extra vars in include_role are loaded now, so their mistakes end the run
    // before any stage (ansible-playbook only loads them when it reaches them).
    await planDynamicIncludes(playbook, inventory, { extraVars, limit: opts.limit, tags: opts.tags, skipTags: opts.skipTags });
    if (opts.syntaxCheck) {
      out(`\nplaybook: ${playbookArg}\n`);
      return EXIT.ok;
    }
    if (opts.listTasks || opts.listTags) {
      const listOpts = { tags: opts.tags ?? [], skipTags: opts.skipTags ?? [], inventory, extraVars };
      out(opts.listTasks ? listTasks(playbook, playbookArg, listOpts) : listTags(playbook, playbookArg, listOpts));
      return EXIT.ok;
    }
    // The project's lock, checked against the archive before any stage (a stale one stops the run here).
    const lockMode = hooks.lockMode ?? 'strict';
    const held = await beginLockedRun(playbook, { mode: lockMode, locked: opts.locked ?? false, cacheDir: opts.cacheDir === undefined ? undefined : resolve(opts.cacheDir), extraVars });
    const ac = new AbortController();
    // Kept for the whole run (not `once`): execa's exit hook re-raises a signal nobody else listens to.
    const onSignal = interruptHandler(ac, err);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const tty = !opts.json && process.stdout.isTTY === true && !process.env.NO_COLOR && !process.env.CI;
    // The live view is for people at a terminal; -v asks for every line, so it gets Ansible's text.
    // A terminal that reports no width (a zero-width pty, some CI log viewers) cannot hold it either.
    const live = tty && opts.verbose === 0 && (process.stdout.columns ?? 0) > 0 ? new (await import('../report/listr.js')).ListrReporter({ write: out, verbosity: opts.verbose, diff: opts.diff ?? false }) : undefined;
    const reporters: Reporter[] = [
      opts.json ? new JsonLinesReporter(out) : (live ?? new PlainReporter({ write: out, verbosity: opts.verbose, color: tty, diff: opts.diff ?? false, patch: await loadPatch(opts.diff), timings: opts.timings !== false, columns: process.stdout.columns || 80 })),
    ];
    const reporter = new Fanout(reporters);
    // An image build stamps one stable time on everything it makes (src/image/source-date.ts), and
    // package scripts create files with the same modes on every host whatever the user's umask.
    if (buildsArtifacts(playbook)) {
      process.umask(0o022);
      const { warning } = await pinSourceDate(process.env, dirname(file));
      if (warning !== undefined) reporter.emit({ type: 'warning', message: warning });
    }
    // Node's own warning printer would interleave raw lines with the run's output: warnings (a lazy
    // unmount, say) become run warnings instead, minus undici's notice that its proxy agent is new.
    const nodeWarningListeners = process.listeners('warning');
    process.removeAllListeners('warning');
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code !== 'UNDICI-EHPA') reporter.emit({ type: 'warning', message: w.message });
    };
    process.on('warning', onWarning);
    try {
      const executor = new Executor(playbook, inventory, {
        check: opts.check ?? false,
        diff: opts.diff ?? false,
        tags: opts.tags ?? [],
        skipTags: opts.skipTags ?? [],
        startAtTask: opts.startAtTask,
        limit: opts.limit,
        verbosity: opts.verbose,
        forks,
        inventorySources: invSources,
        playbookPath: playbookArg,
        extraVars,
        signal: ac.signal,
        // ansible.cfg's force_handlers as its environment variable sets it (imgplay reads no ansible.cfg).
        forceHandlers: opts.forceHandlers ?? ansibleBool(process.env.ANSIBLE_FORCE_HANDLERS) ?? false,
        strategy,
        errorOnMissingHandler: ansibleBool(process.env.ANSIBLE_ERROR_ON_MISSING_HANDLER),
        deprecationWarnings: ansibleBool(process.env.ANSIBLE_DEPRECATION_WARNINGS),
        noCache: opts.cache === false,
        cacheDir: opts.cacheDir === undefined ? undefined : resolve(opts.cacheDir),
        connection: opts.connection,
      }, reporter);
      const outcome = live ? await live.wrap(`imgplay ${playbookArg}`, () => executor.run()) : await executor.run();
      const lockCode = outcome.exitCode === EXIT.ok ? endLockedRun(held, executor.stageSummaries()?.stages ?? [], { locked: opts.locked ?? false, mode: lockMode }, reporter) : undefined;
      await reporter.close();
      if (lockCode !== undefined) return lockCode;
      return hooks.after ? await hooks.after(executor, outcome.exitCode) : outcome.exitCode;
    } finally {
      honourLock(undefined);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('warning', onWarning);
      for (const l of nodeWarningListeners) process.on('warning', l);
    }
  } catch (e) {
    return reportError(e, err);
  }
}

// How long an interrupted run may take to stop its tools and undo its mounts before it is cut short.
const INTERRUPT_DEADLINE_MS = 8000;

// SIGINT and SIGTERM both interrupt (exit 99, as ansible-playbook on Ctrl-C): said at once, the
// running task's tools stopped (their whole process groups, SIGTERM then SIGKILL), mounts undone on
// the way out. A second signal kills the tools at once. A run that still has not ended by the
// deadline exits anyway: the exit hooks kill the tool groups and unmount lazily.
function interruptHandler(ac: AbortController, err: (s: string) => void): (sig: NodeJS.Signals) => void {
  let count = 0;
  return (sig) => {
    count++;
    if (count === 1) {
      err(`\n${sig === 'SIGINT' ? 'Ctrl-C' : sig}: interrupting... stopping child tools and undoing mounts (${sig === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to hurry)\n`);
      ac.abort(new Error(`interrupted by ${sig}`));
      setTimeout(() => {
        err(`interrupting took longer than ${INTERRUPT_DEADLINE_MS / 1000} s: killing child tools and unmounting lazily\n`);
        process.exit(EXIT.interrupted);
      }, INTERRUPT_DEADLINE_MS).unref();
      return;
    }
    err(`${sig} again: killing child tools now\n`);
    killAllGroups();
  };
}

// The diff library is only needed to show --diff output.
async function loadPatch(wanted: boolean | undefined): Promise<PlainOptions['patch']> {
  if (!wanted) return undefined;
  const { createTwoFilesPatch } = await import('diff');
  return (a, b, before, after) => createTwoFilesPatch(a, b, before, after, undefined, undefined, { context: 3 });
}

// A boolean Ansible setting from the environment as Ansible reads one; undefined when unset or empty.
function ansibleBool(value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return isTrueWord(value.trim());
}
