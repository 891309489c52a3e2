// imgplay.lock: the exact package versions each stage of a playbook installs, with each .deb's sha256, and
// the archive suites they come from. Written in a stable order, one package a line, so a change reads as a
// small diff in a pull request; read back strictly (a hand-edited or damaged lock is refused, located).
import { readFile } from 'node:fs/promises';
import { ImgplayError } from '../errors.js';
import { atomicWrite } from '../host/atomic-write.js';
import { parseYaml } from '../yaml/load.js';

/** The lock file's name, at the project's root (the folder holding playbooks/ and roles/). */
export const LOCK_FILE = 'imgplay.lock';

/** Bumped when the format's meaning changes. */
export const LOCK_FORMAT = 1;

/** One archive suite packages were locked from. */
export interface LockedSuite {
  /** How packages name it: the suite, or `suite@n` when two archives have suites of one name. */
  id: string;
  /** The archive's URI as the build used it (credentials left out). Informative: a mirror of the same archive serves the same files. */
  uri: string;
  suite: string;
  /** The Release file's Date. */
  date?: string | undefined;
  /** sha256:<hex> of the suite's InRelease (else Release) when the lock was made. */
  release: string;
  /** The Packages indexes read (relative to the suite's folder). */
  indexes: string[];
}

/** One locked package. A package from no locked suite (a .deb the playbook supplies) has `local: true` and no sha256. */
export interface LockedPackage {
  name: string;
  version: string;
  arch: string;
  sha256?: string | undefined;
  /** The .deb's path relative to its suite's archive URI (pool/...). */
  filename?: string | undefined;
  /** The LockedSuite id it comes from. */
  suite?: string | undefined;
  local?: true | undefined;
}

/** The whole lock. */
export interface Lock {
  lock: typeof LOCK_FORMAT;
  /** The playbook it was made from, relative to the project's root. */
  playbook: string;
  suites: LockedSuite[];
  /** Per stage (base, initrd, overlay/<host>), the packages it installs, sorted by name then arch. */
  stages: Record<string, LockedPackage[]>;
}

const HEADER = [
  '# imgplay.lock: the exact packages each stage installs, and the sha256 of every .deb. Written by',
  '# `imgplay lock`; builds install exactly these (see docs/artifacts.md#lock-file). Review changes',
  '# like code; `imgplay lock --check` says whether it is current, `imgplay lock --update` refreshes it.',
];

/** The lock as the text of imgplay.lock: stable order, one package a line. */
export function formatLock(lock: Lock): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [...HEADER, `lock: ${LOCK_FORMAT}`, `playbook: ${q(lock.playbook)}`, 'suites:'];
  for (const s of [...lock.suites].sort((a, b) => cmp(a.id, b.id))) {
    lines.push(`  - id: ${q(s.id)}`, `    uri: ${q(s.uri)}`, `    suite: ${q(s.suite)}`);
    if (s.date !== undefined) lines.push(`    date: ${q(s.date)}`);
    lines.push(`    release: ${q(s.release)}`, `    indexes: [${[...s.indexes].sort(cmp).map(q).join(', ')}]`);
  }
  if (lock.suites.length === 0) lines[lines.length - 1] += ' []';
  lines.push('stages:');
  const names = Object.keys(lock.stages).sort(cmp);
  if (names.length === 0) lines[lines.length - 1] += ' {}';
  for (const stage of names) {
    const pkgs = sortPackages(lock.stages[stage]!);
    lines.push(`  ${q(stage)}:${pkgs.length === 0 ? ' []' : ''}`);
    for (const p of pkgs) {
      const fields = [`name: ${q(p.name)}`, `version: ${q(p.version)}`, `arch: ${q(p.arch)}`];
      if (p.local) fields.push('local: true');
      else fields.push(`sha256: ${q(p.sha256 ?? '')}`, `suite: ${q(p.suite ?? '')}`, `filename: ${q(p.filename ?? '')}`);
      lines.push(`    - { ${fields.join(', ')} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the lock to `path` atomically. */
export async function writeLock(path: string, lock: Lock): Promise<void> {
  await atomicWrite(path, { data: formatLock(lock) });
}

/** The lock at `path`, or undefined when there is none; a file that is not a lock is refused, naming what is wrong. */
export async function readLock(path: string): Promise<Lock | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImgplayError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseLock(text, path);
}

/** Parses and checks the text of a lock file. */
export function parseLock(text: string, path: string): Lock {
  const data = parseYaml(text, path) as unknown;
  const bad = (what: string): never => {
    throw new ImgplayError(`${path} is not an imgplay lock: ${what}`, { hint: 'write it again with `imgplay lock --update`' });
  };
  if (!isRecord(data)) return bad('it is not a mapping');
  if (data.lock !== LOCK_FORMAT) return bad(`its format is ${JSON.stringify(data.lock)}, this imgplay reads ${LOCK_FORMAT}`);
  if (typeof data.playbook !== 'string') return bad('playbook is not a string');
  const str = (v: unknown, where: string): string => (typeof v === 'string' && v !== '' ? v : bad(`${where} is not a non-empty string`));
  if (!Array.isArray(data.suites)) return bad('suites is not a list');
  const suites: LockedSuite[] = data.suites.map((s: unknown, i: number) => {
    if (!isRecord(s)) return bad(`suites[${i}] is not a mapping`);
    if (!Array.isArray(s.indexes) || !s.indexes.every((x) => typeof x === 'string')) return bad(`suites[${i}].indexes is not a list of strings`);
    const release = str(s.release, `suites[${i}].release`);
    if (!/^sha256:[0-9a-f]{64}$/.test(release)) bad(`suites[${i}].release is not sha256:<64 hex digits>`);
    return { id: str(s.id, `suites[${i}].id`), uri: str(s.uri, `suites[${i}].uri`), suite: str(s.suite, `suites[${i}].suite`), date: s.date === undefined ? undefined : str(s.date, `suites[${i}].date`), release, indexes: s.indexes as string[] };
  });
  const ids = new Set(suites.map((s) => s.id));
  if (!isRecord(data.stages)) return bad('stages is not a mapping');
  const entries: Array<[string, LockedPackage[]]> = [];
  for (const [stage, list] of Object.entries(data.stages)) {
    if (!Array.isArray(list)) return bad(`stage ${stage} is not a list of packages`);
    entries.push([stage, list.map((p: unknown, i: number) => {
      const where = `stages.${stage}[${i}]`;
      if (!isRecord(p)) return bad(`${where} is not a mapping`);
      const pkg: LockedPackage = { name: str(p.name, `${where}.name`), version: str(p.version, `${where}.version`), arch: str(p.arch, `${where}.arch`) };
      if (p.local === true) return { ...pkg, local: true };
      const sum = str(p.sha256, `${where}.sha256`);
      if (!/^[0-9a-f]{64}$/.test(sum)) bad(`${where}.sha256 is not 64 hex digits`);
      const suite = str(p.suite, `${where}.suite`);
      if (!ids.has(suite)) bad(`${where}.suite ${suite} is not one of the suites`);
      const filename = str(p.filename, `${where}.filename`);
      if (filename.startsWith('/') || filename.split('/').includes('..')) bad(`${where}.filename must be a path inside the archive`);
      return { ...pkg, sha256: sum, suite, filename };
    })]);
  }
  // Own properties whatever the stage is called (a stage named __proto__ stays a stage).
  const stages = Object.fromEntries(entries);
  return { lock: LOCK_FORMAT, playbook: data.playbook, suites, stages };
}

/** A stage's packages in the lock's order: by name, then arch. */
export function sortPackages(pkgs: readonly LockedPackage[]): LockedPackage[] {
  return [...pkgs].sort((a, b) => cmp(a.name, b.name) || cmp(a.arch, b.arch));
}

/** How two locks' packages differ, one line per change (empty when every stage installs the same .debs). */
export function lockDifferences(old: Lock, now: Lock): string[] {
  const out: string[] = [];
  const stages = [...new Set([...Object.keys(old.stages), ...Object.keys(now.stages)])].sort(cmp);
  for (const stage of stages) {
    const a = old.stages[stage];
    const b = now.stages[stage];
    if (a === undefined) {
      out.push(`stage ${stage} is new (${b!.length} packages)`);
      continue;
    }
    if (b === undefined) {
      out.push(`stage ${stage} is no longer built`);
      continue;
    }
    const key = (p: LockedPackage) => `${p.name}:${p.arch}`;
    const before = new Map(a.map((p) => [key(p), p]));
    const after = new Map(b.map((p) => [key(p), p]));
    for (const [k, p] of after) {
      const o = before.get(k);
      if (o === undefined) out.push(`stage ${stage}: adds ${p.name} ${p.version} (${p.arch})`);
      else if (o.version !== p.version) out.push(`stage ${stage}: ${p.name} ${o.version} -> ${p.version}`);
      else if (o.sha256 !== p.sha256 || Boolean(o.local) !== Boolean(p.local)) out.push(`stage ${stage}: ${p.name} ${p.version} is another .deb now (sha256 ${o.sha256 ?? 'local'} -> ${p.sha256 ?? 'local'})`);
    }
    for (const [k, p] of before) if (!after.has(k)) out.push(`stage ${stage}: no longer installs ${p.name} ${p.version} (${p.arch})`);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Code-point order, the same on every machine.
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
