// A playbook run and the project's imgplay.lock: before any stage, the lock is read and checked against the
// archive (a locked version it no longer offers, or offers with other bytes, stops the run there); during the
// run the package-installing modules honour it (src/lock/honour.ts); after it, the stages built are compared
// with the lock (an error under --locked, a warning otherwise).
import { basename, dirname, join } from 'node:path';
import { EXIT, ImgplayError } from '../errors.js';
import type { Playbook } from '../playbook/model.js';
import type { Reporter } from '../report/events.js';
import { DEFAULT_CACHE_DIR, STAGE_VAR, type StageSummary } from './stages.js';
import { checkLockAgainstArchive, describeProblems, honourLock } from '../image/lock-honour.js';
import { LOCK_FILE, type Lock, type LockedPackage, readLock } from '../image/lock-file.js';
import { stagePackages } from '../image/lock-resolve.js';

/** How a run treats the lock: `strict` (a build: only locked packages), `pins` (`imgplay lock`: locked versions, new packages resolved), `ignore` (`imgplay lock --update`). */
export type LockMode = 'strict' | 'pins' | 'ignore';

/** The project a playbook belongs to: the folder holding playbooks/ (on-imagebuilder's layout), else the playbook's own. */
export function projectRoot(playbookFile: string): string {
  const dir = dirname(playbookFile);
  return basename(dir) === 'playbooks' ? dirname(dir) : dir;
}

/**
 * Reads and checks the project's lock before a run that builds stages, and makes the run honour it; returns it
 * (undefined: no lock, or a run it does not apply to). `locked` (--locked) makes a missing lock an error.
 */
export async function beginLockedRun(
  playbook: Playbook,
  o: { mode: LockMode; locked: boolean; cacheDir?: string | undefined; extraVars: Record<string, unknown> },
): Promise<{ path: string; lock: Lock } | undefined> {
  honourLock(undefined);
  if (o.mode === 'ignore' || !playbook.plays.some((p) => Object.hasOwn(p.vars, STAGE_VAR))) return undefined;
  const path = join(projectRoot(playbook.file), LOCK_FILE);
  const lock = await readLock(path);
  if (lock === undefined) {
    if (o.locked) throw new ImgplayError(`--locked: there is no ${path}`, { hint: 'run imgplay lock to write it, and commit it' });
    return undefined;
  }
  const cacheDir = o.cacheDir ?? (typeof o.extraVars.cache_dir === 'string' ? o.extraVars.cache_dir : DEFAULT_CACHE_DIR);
  const proxyVar = typeof o.extraVars.apt_proxy === 'string' && o.extraVars.apt_proxy !== '' ? `http://${o.extraVars.apt_proxy}` : undefined;
  const proxy = proxyVar ?? (process.env.http_proxy || process.env.HTTP_PROXY || undefined);
  const problems = await checkLockAgainstArchive(lock, join(cacheDir, 'lock'), proxy);
  if (problems.length > 0) throw new ImgplayError(`${describeProblems(problems, path)}\nno stage was built`, { hint: 'run imgplay lock --update to lock what the archive offers now' });
  honourLock(path, lock, o.mode === 'strict');
  return { path, lock };
}

/** Ends the run's lock; compares what its stages installed with the lock (an error under --locked: exit 1). */
export function endLockedRun(held: { path: string; lock: Lock } | undefined, stages: readonly StageSummary[], o: { locked: boolean; mode: LockMode }, reporter: Reporter): number | undefined {
  honourLock(undefined);
  if (held === undefined || o.mode !== 'strict') return undefined;
  const differences = stageDifferences(held.lock, stages);
  if (differences.length === 0) return undefined;
  const message = `the build differs from ${held.path}:\n  ${differences.join('\n  ')}\nrun imgplay lock to lock what the playbook installs now`;
  if (o.locked) {
    reporter.emit({ type: 'error', message: `--locked: ${message}` });
    return EXIT.error;
  }
  reporter.emit({ type: 'warning', message });
  return undefined;
}

// Each stage's packages (name, version, arch) against the lock's; local packages count by version only.
function stageDifferences(lock: Lock, stages: readonly StageSummary[]): string[] {
  const out: string[] = [];
  for (const s of stages) {
    const locked = lock.stages[s.stage];
    if (locked === undefined) {
      out.push(`stage ${s.stage} is not in the lock`);
      continue;
    }
    const key = (p: { name: string; arch: string }) => `${p.name}:${p.arch}`;
    const want = new Map<string, LockedPackage>(locked.map((p) => [key(p), p]));
    const got = new Map(stagePackages(s.artifacts).map((p) => [key(p), p]));
    for (const [k, p] of got) {
      const l = want.get(k);
      if (l === undefined) out.push(`stage ${s.stage} installed ${p.name} ${p.version}, which the lock does not have`);
      else if (l.version !== p.version) out.push(`stage ${s.stage} installed ${p.name} ${p.version}, the lock has ${l.version}`);
    }
    for (const [k, p] of want) if (!got.has(k)) out.push(`stage ${s.stage} did not install ${p.name} ${p.version}, which the lock has`);
  }
  return out;
}
