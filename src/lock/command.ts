// `imgplay lock`: resolves each stage's complete package set from a build (through the stage cache, so stages
// already built cost nothing) into a throwaway builds folder, finds every package in the archive suites the
// stage installed from, and writes imgplay.lock at the project's root; `--check` compares instead of writing.
import { mkdtemp, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type Command, Option } from 'commander';
import type { LockMode } from '../run/lock.js';
import { EXIT, ImgplayError } from '../errors.js';
import type { Executor } from '../run/executor.js';
import { LOCK_FILE, type Lock, lockDifferences, readLock, writeLock } from '../image/lock-file.js';
import { resolveLock } from '../image/lock-resolve.js';
import { projectRoot } from '../run/lock.js';

interface LockCliOptions {
  inventory?: string[];
  extraVars?: string[];
  update?: boolean;
  check?: boolean;
  cacheDir?: string;
  verbose: number;
  forks: string;
}

/** The run options `imgplay lock` sets (the run command's own, src/cli.ts, which passes its runner in: no import cycle). */
interface LockRunOptions {
  inventory?: string[] | undefined;
  extraVars?: string[] | undefined;
  verbose: number;
  forks: string;
  cache: boolean;
  cacheDir?: string;
}

/** What `imgplay lock` adds to the run (src/cli.ts RunHooks). */
interface LockRunHooks {
  extraVars: Record<string, unknown>;
  lockMode: LockMode;
  after: (executor: Executor, exitCode: number) => Promise<number>;
}

type RunPlaybook = (playbook: string, opts: LockRunOptions, out: (s: string) => void, err: (s: string) => void, hooks: LockRunHooks) => Promise<number>;

/** Adds `imgplay lock` to the CLI. */
export function registerLockCommand(program: Command, io: { out: (s: string) => void; err: (s: string) => void; setCode: (n: number) => void; runPlaybook: RunPlaybook }): void {
  program
    .command('lock')
    .description('write imgplay.lock: every package each stage installs, with the sha256 of its .deb (see docs/artifacts.md)')
    .argument('[playbook]', 'the playbook to lock (a name is also looked up in playbooks/)', 'all.yml')
    .option('-i, --inventory <path>', 'inventory file (default: hosts.yaml beside the playbook or here)', collect)
    .option('-e, --extra-vars <vars>', 'key=value, YAML/JSON, or @file; repeatable', collect)
    .option('--update', 'resolve every package afresh from the archive (the newest versions it offers)')
    .option('--check', 'write nothing: exit 0 when imgplay.lock is current, 1 when it is stale or missing, saying why')
    .option('--cache-dir <dir>', "the stage cache's folder (default: the cache_dir variable, else /var/cache/imgplay)")
    .option('-v, --verbose', 'more of the build\'s output: commands, stdout and stderr (repeat for more)', (_v, prev: number) => prev + 1, 0)
    .addOption(new Option('-f, --forks <n>', 'hosts to run in parallel').default('5'))
    .addHelpText(
      'after',
      `
The packages are resolved from a build: the playbook runs with the stage cache (stages already built are put
back, so only a changed or new stage costs a build) into a throwaway builds folder, and each stage's packages
(its manifest.json entries: a base's or initrd's whole set, an overlay's packages over its base) are found in
the Packages indexes of the archive suites that stage installed from. The build's own output goes to stderr.
With an imgplay.lock in place, the build keeps its versions (pinned) and resolves only packages it lacks;
--update resolves every package afresh.

Exit codes: 0 written (or, with --check, current); 1 stale or missing (--check) or an error; other codes are
the build's (ansible-playbook's).`,
    )
    .action(async (playbook: string, opts: LockCliOptions) => {
      io.setCode(await lockCommand(playbook, opts, io));
    });
}

async function lockCommand(playbookArg: string, opts: LockCliOptions, io: { out: (s: string) => void; err: (s: string) => void; runPlaybook: RunPlaybook }): Promise<number> {
  if (opts.update && opts.check) {
    io.err('ERROR! --update and --check cannot be used together: --check writes nothing\n');
    return EXIT.badOptions;
  }
  const scratch = await mkdtemp('/var/tmp/imgplay-lock-');
  try {
    const runOpts: LockRunOptions = {
      inventory: opts.inventory,
      extraVars: opts.extraVars,
      verbose: opts.verbose,
      forks: opts.forks,
      cache: true,
      ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    };
    return await io.runPlaybook(playbookArg, runOpts, io.err, io.err, {
      extraVars: { artifact_dir: join(scratch, 'builds') },
      // The current lock's versions stay (new packages are resolved); --update resolves everything afresh.
      lockMode: opts.update ? 'ignore' : 'pins',
      after: (executor, code) => afterBuild(executor, code, scratch, opts, io),
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function afterBuild(executor: Executor, code: number, _scratch: string, opts: LockCliOptions, io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  if (code !== EXIT.ok) {
    io.err(`ERROR! the build failed (exit ${code}): ${LOCK_FILE} ${opts.check ? 'was not checked' : 'was not written'}\n`);
    return code;
  }
  const summary = executor.stageSummaries();
  if (summary === undefined || summary.stages.length === 0) {
    throw new ImgplayError(`the playbook names no stage (plays with imgplay_stage): there is nothing to lock`);
  }
  const file = executor.playbookFile();
  const root = projectRoot(file);
  const lockPath = join(root, LOCK_FILE);
  const lock = await resolveLock(summary.stages, { playbook: relative(root, file), cacheDir: join(summary.cacheDir, 'lock') });
  const old = await readLock(lockPath);
  const changes = old === undefined ? [] : lockDifferences(old, lock);
  if (opts.check) {
    if (old === undefined) {
      io.out(`${LOCK_FILE} is missing: run imgplay lock to write it\n`);
      return EXIT.error;
    }
    if (changes.length === 0 && old.playbook === lock.playbook) {
      io.out(`${LOCK_FILE} is current: ${counts(lock)}\n`);
      return EXIT.ok;
    }
    io.out(`${LOCK_FILE} is stale:\n${[...(old.playbook !== lock.playbook ? [`it locks ${old.playbook}, not ${lock.playbook}`] : []), ...changes].map((l) => `  ${l}\n`).join('')}run imgplay lock --update to refresh it\n`);
    return EXIT.error;
  }
  await writeLock(lockPath, lock);
  const what = old === undefined ? 'wrote' : changes.length === 0 ? 'unchanged:' : 'updated';
  io.out(`${what} ${lockPath}${what === 'unchanged:' ? '' : ':'} ${counts(lock)}\n${changes.map((l) => `  ${l}\n`).join('')}`);
  return EXIT.ok;
}

function counts(lock: Lock): string {
  const stages = Object.values(lock.stages);
  const pkgs = stages.reduce((n, s) => n + s.length, 0);
  const local = stages.reduce((n, s) => n + s.filter((p) => p.local).length, 0);
  return `${stages.length} stage${stages.length === 1 ? '' : 's'}, ${pkgs} package${pkgs === 1 ? '' : 's'}${local > 0 ? ` (${local} from the playbook itself)` : ''} from ${lock.suites.length} suite${lock.suites.length === 1 ? '' : 's'}`;
}

function collect(value: string, prev: string[] = []): string[] {
  return [...prev, value];
}
