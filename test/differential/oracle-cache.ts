// Remembers ansible-playbook's runs of a corpus case, keyed by everything those runs can depend on, so a test run
// pays for the oracle (about 80% of the corpus's time) only for the cases whose inputs changed. imgplay always runs.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, lstat, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, release, userInfo } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type CaseSpec, type RunResult, toolEnv } from './harness.js';

/** Where entries live unless DIFF_ORACLE_CACHE names another folder: outside the checkout, so a clean clone reuses them. */
export const defaultOracleDir = '/var/cache/imgplay-tests/differential-oracle';

/** How old an entry may be before the oracle runs again, so slow drift of the machine (a new kernel, a new day) is seen. */
const defaultMaxAgeDays = 7;

/** Bumped when the shape of an entry changes. */
const entryVersion = 2;

/** Files outside the case whose content a case's result can depend on: the installed packages (ansible, python,
 * jinja2, git, ...), the OS release, the users and groups getent and the user module read, and the time zone. */
const observedFiles = ['/var/lib/dpkg/status', '/etc/os-release', '/etc/passwd', '/etc/group', '/etc/hosts', '/etc/timezone', '/etc/localtime'];

/** The checkout this harness runs from: stored runs name it by a placeholder, so another clone (CI's) reads them
 * with its own path (a case may write its playbook_dir or role_path into its results). */
const checkout = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const CHECKOUT_TOKEN = '<<imgplay checkout>>';

/** The harness files whose code decides what a run records. */
const harnessFiles = ['harness.ts', 'oracle-cache.ts'].map((f) => fileURLToPath(new URL(`./${f}`, import.meta.url)));

/** A stored set of ansible-playbook runs for one case. */
interface Entry {
  version: number;
  key: string;
  case: string;
  storedAt: string;
  /** A short digest of each part of the key, so a later miss can say which part changed. */
  parts: Record<string, string>;
  runs: unknown[];
}

/** Counts of what the cache did in one test run, for the summary line. */
export interface OracleStats {
  hits: number;
  misses: number;
  live: number;
  stored: number;
  notStored: number;
  /** Why cases missed: the key parts that differ from the case's newest stored entry, or 'new case'. */
  missReasons: Record<string, number>;
}

/** An open oracle cache: `runs` answers from a stored entry or runs the oracle live and stores it. */
export interface OracleCache {
  dir: string;
  stats: OracleStats;
  runs(spec: CaseSpec, live: () => Promise<RunResult[]>): Promise<RunResult[]>;
  /** The same for runs of another shape (the chroot side-by-side cases): `extraKey` names what else they depend on
   * (the tree they ran in), `isRun` checks a stored run, `complete` says whether a live run may be stored. */
  runsOf<T>(spec: CaseSpec, extraKey: string, live: () => Promise<T[]>, isRun: (r: unknown) => boolean, complete: (r: T) => boolean): Promise<T[]>;
  summary(): string;
}

/** Opens the cache named by DIFF_ORACLE_CACHE (a folder, or 'off'), or the default folder; undefined when it is off. */
export async function openOracleCache(
  setting: string | undefined = process.env.DIFF_ORACLE_CACHE,
  maxAgeDays = Number(process.env.DIFF_ORACLE_MAX_AGE_DAYS || defaultMaxAgeDays),
): Promise<OracleCache | undefined> {
  if (setting === 'off' || setting === '0') return undefined;
  const dir = setting || defaultOracleDir;
  if (!Number.isFinite(maxAgeDays) || maxAgeDays < 0) throw new Error(`DIFF_ORACLE_MAX_AGE_DAYS must be a number of days, not '${process.env.DIFF_ORACLE_MAX_AGE_DAYS}'`);
  const maxAgeMs = maxAgeDays * 86_400_000;
  const environment = await environmentParts();
  await pruneOld(dir, maxAgeMs);
  const stats: OracleStats = { hits: 0, misses: 0, live: 0, stored: 0, notStored: 0, missReasons: {} };
  let previous: Map<string, Entry> | undefined;
  // Counts the key parts in which a missed case differs from its newest stored entry.
  async function noteMiss(spec: CaseSpec, parts: Record<string, string>): Promise<void> {
    previous ??= await newestEntries(dir);
    const before = previous.get(spec.name);
    const changed = before ? Object.keys({ ...parts, ...before.parts }).filter((p) => parts[p] !== before.parts[p]) : ['new case'];
    for (const reason of changed.length > 0 ? changed : ['expired or unreadable']) stats.missReasons[reason] = (stats.missReasons[reason] ?? 0) + 1;
  }
  // Reuses the stored runs of a case when its key matches, else runs the oracle and stores complete runs.
  async function runsOf<T>(spec: CaseSpec, extraKey: string, live: () => Promise<T[]>, isRun: (r: unknown) => boolean, complete: (r: T) => boolean, onHit?: (storedAt: string) => void): Promise<T[]> {
    if (spec.oracle === 'live') {
      stats.live++;
      return live();
    }
    const parts = { ...environment, extra: short(extraKey), case: await caseDigest(spec) };
    const key = digestOf(parts);
    const file = join(dir, `${key}.json`);
    const cached = await readEntry(file, key, spec, maxAgeMs);
    if (cached && cached.runs.every(isRun)) {
      stats.hits++;
      onHit?.(cached.storedAt);
      return JSON.parse(JSON.stringify(cached.runs).split(CHECKOUT_TOKEN).join(checkout)) as T[];
    }
    stats.misses++;
    await noteMiss(spec, parts);
    const runs = await live();
    // A run that was killed or timed out says nothing about Ansible; keep only complete runs.
    if (runs.length === spec.runs && runs.every(complete)) {
      const stored = JSON.parse(JSON.stringify(runs).split(checkout).join(CHECKOUT_TOKEN)) as unknown[];
      const entry: Entry = { version: entryVersion, key, case: spec.name, storedAt: new Date().toISOString(), parts, runs: stored };
      previous?.set(spec.name, entry);
      if (await writeEntry(dir, file, entry)) stats.stored++;
      else stats.notStored++;
    }
    return runs;
  }
  return {
    dir,
    stats,
    async runs(spec, live) {
      const isRun = (r: unknown) =>
        typeof r === 'object' &&
        r !== null &&
        (r as RunResult).tool === 'ansible' &&
        typeof (r as RunResult).exitCode === 'number' &&
        typeof (r as RunResult).stdout === 'string' &&
        typeof (r as RunResult).stderr === 'string' &&
        typeof (r as RunResult).command === 'string' &&
        Array.isArray((r as RunResult).tree);
      let storedAt: string | undefined;
      const runs = await runsOf(spec, '', live, isRun, (r) => r.exitCode >= 0, (at) => (storedAt = at));
      return storedAt === undefined ? runs : runs.map((r) => ({ ...r, command: `${r.command}  [from the oracle cache, recorded ${storedAt}]` }));
    },
    runsOf: (spec, extraKey, live, isRun, complete) => runsOf(spec, extraKey, live, isRun, complete),
    summary() {
      const reasons = Object.entries(stats.missReasons)
        .sort((a, b) => b[1] - a[1])
        .map(([part, n]) => `${part} (${n})`)
        .join(', ');
      const line =
        `ansible-playbook oracle cache (${dir}): ${stats.hits} cases from the cache, ${stats.misses} run and ` +
        `${stats.stored} stored${stats.notStored ? ` (${stats.notStored} could not be stored)` : ''}, ${stats.live} always live` +
        (reasons ? `; missed because of: ${reasons}` : '');
      // Kept beside the entries too: a CI run's output is not always kept, and this says why it paid for Ansible.
      try {
        appendFileSync(join(dir, 'runs.log'), `${new Date().toISOString()} ${line}\n`);
      } catch {
        // An unwritable folder already shows as 'could not be stored'.
      }
      return line;
    },
  };
}

/** What every case's oracle runs share, part by part (each a short digest): ansible and its Python, the machine, its
 * packages and files, the fixed environment both tools run in, and the harness's own code. */
export async function environmentParts(): Promise<Record<string, string>> {
  const parts: Record<string, string> = { entry: String(entryVersion) };
  // ansible-playbook --version names ansible-core, python and jinja2 even when they do not come from dpkg.
  const version = await execa('ansible-playbook', ['--version'], { reject: false, env: { ANSIBLE_CONFIG: '/dev/null' } });
  parts['ansible --version'] = short(`${version.exitCode} ${String(version.stdout)}`);
  parts.host = short(`${hostname()} ${release()} ${userInfo().uid}`);
  // The config file's path is a fresh temporary name per run; its content is always empty.
  const env = toolEnv('');
  for (const [name, value] of Object.entries(env)) parts[`env ${name}`] = short(value);
  for (const f of observedFiles) parts[`file ${f}`] = short(existsSync(f) ? await readFile(f) : '<missing>');
  // By name, not by path: a clean clone elsewhere (CI's) has the same harness at another path.
  for (const f of harnessFiles) parts[`harness ${basename(f)}`] = short(await readFile(f));
  return parts;
}

/** The digest of the parts of a key, in a stable order. */
function digestOf(parts: Record<string, string>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(parts).sort()) h.update(`${name}=${parts[name]}\n`);
  return h.digest('hex');
}

function short(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** The digest of one case: its settings and every file under its folder (names, modes, contents, link targets). */
export async function caseDigest(spec: CaseSpec): Promise<string> {
  const h = createHash('sha256');
  h.update(`${JSON.stringify({ args: spec.args, exit: spec.exit, runs: spec.runs, inventory: spec.inventory })}\n`);
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const st = await lstat(full);
      const path = relative(spec.dir, full);
      if (st.isSymbolicLink()) h.update(`link ${path} ${await readlink(full)}\n`);
      else if (st.isDirectory()) {
        h.update(`dir ${path} ${(st.mode & 0o7777).toString(8)}\n`);
        await walk(full);
      } else {
        h.update(`file ${path} ${(st.mode & 0o7777).toString(8)} ${st.size}\n`);
        h.update(await readFile(full));
      }
    }
  }
  await walk(spec.dir);
  return h.digest('hex').slice(0, 16);
}

/** The newest readable entry of each case in the folder, to explain a miss. */
async function newestEntries(dir: string): Promise<Map<string, Entry>> {
  const newest = new Map<string, Entry>();
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return newest;
  }
  for (const name of names) {
    try {
      const raw: unknown = JSON.parse(await readFile(join(dir, name), 'utf8'));
      if (!isEntry(raw) || typeof raw.parts !== 'object' || raw.parts === null) continue;
      const had = newest.get(raw.case);
      if (!had || had.storedAt < raw.storedAt) newest.set(raw.case, raw);
    } catch {
      // Removed or half-written by another run.
    }
  }
  return newest;
}

/** Reads an entry, or undefined when it is missing, too old, for another key or case, or not a well-formed entry. */
async function readEntry(file: string, key: string, spec: CaseSpec, maxAgeMs: number): Promise<Entry | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isEntry(raw) || raw.key !== key || raw.case !== spec.name || raw.version !== entryVersion) return undefined;
  const age = Date.now() - Date.parse(raw.storedAt);
  if (!(age >= 0 && age <= maxAgeMs)) return undefined;
  if (raw.runs.length !== spec.runs) return undefined;
  return raw;
}

function isEntry(v: unknown): v is Entry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.key === 'string' &&
    typeof e.case === 'string' &&
    typeof e.storedAt === 'string' &&
    typeof e.version === 'number' &&
    Array.isArray(e.runs)
  );
}

/** Writes an entry under a temporary name and renames it, so a concurrent or killed run never leaves half an entry;
 * false when the folder cannot be written (the run goes on uncached). */
async function writeEntry(dir: string, file: string, entry: Entry): Promise<boolean> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, file);
    return true;
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
    return false;
  }
}

/** Removes entries past their age, so the folder does not grow without bound as cases change. */
async function pruneOld(dir: string, maxAgeMs: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.endsWith('.json') && !name.endsWith('.tmp')) continue;
    const full = join(dir, name);
    try {
      if (now - (await stat(full)).mtimeMs > maxAgeMs) await rm(full, { force: true });
    } catch {
      // Another run removed it first.
    }
  }
}
