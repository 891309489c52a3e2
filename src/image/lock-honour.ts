// A build that honours imgplay.lock: before any stage, every locked .deb is checked against what the archive
// offers now (the same version, the same sha256), and while the image trees are provisioned apt is pinned to
// the locked versions and every .deb it is about to download must be a locked one, with the locked sha256, which
// apt then verifies the downloaded bytes against before dpkg unpacks anything.
import { ImgplayError } from '../errors.js';
import { type IndexEntry, entryKey, fetchPackages, fetchRelease } from './apt-index.js';
import type { Lock, LockedPackage } from './lock-file.js';

/** Where a locked build's apt pins live in an image tree while packages are installed (apt reads files without an extension; the name sorts last). */
export const LOCK_PINS = '/etc/apt/preferences.d/zz-imgplay-lock';

/** The lock a run honours, as the package-installing modules need it. */
export interface ActiveLock {
  /** The lock file, for messages. */
  path: string;
  lock: Lock;
  /** Every locked archive package by `name version arch`. */
  packages: Map<string, LockedPackage & { stages: string[] }>;
  /** A build: only locked packages may be installed. Otherwise (`imgplay lock`) locked versions are pinned and new packages resolved. */
  strict: boolean;
}

// The run's lock: one run per process (the CLI), set before the first play and cleared when it ends.
let active: ActiveLock | undefined;

/** Sets (or, with undefined, clears) the lock this process's build honours. */
export function honourLock(path: string | undefined, lock?: Lock, strict = true): void {
  if (path === undefined || lock === undefined) {
    active = undefined;
    return;
  }
  const packages = new Map<string, LockedPackage & { stages: string[] }>();
  for (const [stage, pkgs] of Object.entries(lock.stages)) {
    for (const p of pkgs) {
      if (p.local) continue;
      const k = entryKey(p);
      const seen = packages.get(k);
      if (seen) seen.stages.push(stage);
      else packages.set(k, { ...p, stages: [stage] });
    }
  }
  active = { path, lock, packages, strict };
}

/** The lock this build honours, if any. */
export function activeLock(): ActiveLock | undefined {
  return active;
}

/**
 * apt preferences pinning each locked package to its locked version (priority 1001: installed even as a
 * downgrade). A package locked at two versions (two stages that differ) is not pinned: either is accepted.
 */
export function pinPreferences(lock: ActiveLock): string {
  const versions = new Map<string, Set<string>>();
  for (const p of lock.packages.values()) {
    // apt matches an arch:all package by its name alone.
    const k = p.arch === 'all' ? p.name : `${p.name}:${p.arch}`;
    versions.set(k, (versions.get(k) ?? new Set()).add(p.version));
  }
  const out = ['# Written by imgplay while apt runs in a locked build (imgplay.lock); removed afterwards.'];
  for (const [k, vs] of [...versions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (vs.size !== 1) continue;
    out.push('', `Package: ${k}`, `Pin: version ${[...vs][0]!}`, 'Pin-Priority: 1001');
  }
  return `${out.join('\n')}\n`;
}

/** The .debs `apt-get --print-uris` says it would download: name, version, arch and sha256 (from its hash list). */
export function plannedDownloads(printUris: string): Array<{ name: string; version: string; arch: string; sha256?: string | undefined; file: string }> {
  const out: Array<{ name: string; version: string; arch: string; sha256?: string | undefined; file: string }> = [];
  for (const line of printUris.split('\n')) {
    const m = /^'[^']*'\s+(\S+\.deb)\s+\d+\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!;
    const [name = '', version = '', arch = ''] = file.replace(/\.deb$/, '').split('_').map((s) => decodeURIComponent(s));
    // apt prints one hash (MD5Sum on bookworm); the sha256 comes from its index (downloadsOutsideLock).
    const sum = /(?:^|\s)SHA256:([0-9a-f]{64})(?:\s|$)/.exec(m[2] ?? '')?.[1];
    out.push({ name, version, arch, sha256: sum, file });
  }
  return out;
}

/**
 * Why apt's planned downloads break the lock, one sentence each (empty: every .deb is a locked one). `indexed`
 * is what apt's own index says of each (`apt-cache show name=version`): apt verifies the download against it.
 */
export function downloadsOutsideLock(lock: ActiveLock, planned: ReturnType<typeof plannedDownloads>, indexed: readonly IndexEntry[]): string[] {
  const problems: string[] = [];
  for (const p of planned) {
    const sums = [...new Set(indexed.filter((e) => e.name === p.name && e.version === p.version && e.arch === p.arch).map((e) => e.sha256))];
    p.sha256 = sums.length === 1 ? sums[0] : sums.length === 0 ? undefined : sums.join(' or ');
  }
  for (const d of planned) {
    const locked = lock.packages.get(entryKey(d));
    if (locked === undefined) {
      if (!lock.strict) continue;
      const others = [...lock.packages.values()].filter((p) => p.name === d.name).map((p) => p.version);
      problems.push(`${d.name} ${d.version} (${d.arch}) is not in ${lock.path}${others.length > 0 ? ` (it locks ${others.join(', ')})` : ''}`);
    } else if (d.sha256 !== locked.sha256) {
      problems.push(`${d.name} ${d.version}: the archive's .deb has sha256 ${d.sha256 ?? '(none given)'}, ${lock.path} locks ${locked.sha256}`);
    }
  }
  return problems;
}

/** A locked package the archive no longer offers as locked. */
export interface LockProblem {
  stage: string;
  pkg: LockedPackage;
  /** The versions of it the archive offers now. */
  available: string[];
  /** Set when the archive has the locked version with other bytes. */
  otherSha256?: string | undefined;
}

/**
 * Checks, before any stage, that every locked .deb is still offered by its suite with the locked sha256 (the
 * suite's Release file and Packages indexes fetched from the lock's URI, through `proxy` when given).
 */
export async function checkLockAgainstArchive(lock: Lock, cacheDir: string, proxy?: string): Promise<LockProblem[]> {
  const problems: LockProblem[] = [];
  const offered = new Map<string, Map<string, IndexEntry>>();
  for (const s of lock.suites) {
    const ref = { uri: s.uri, suite: s.suite };
    const release = await fetchRelease(ref, proxy).catch(() => fetchRelease(ref));
    const archs = [...new Set(s.indexes.map((i) => /binary-([^/]+)\//.exec(i)?.[1]).filter((a): a is string => a !== undefined))];
    const got = await fetchPackages(ref, release, archs, cacheDir, proxy).catch(() => fetchPackages(ref, release, archs, cacheDir));
    offered.set(s.id, got.entries);
  }
  for (const [stage, pkgs] of Object.entries(lock.stages)) {
    for (const p of pkgs) {
      if (p.local) continue;
      const entries = offered.get(p.suite!);
      if (entries === undefined) throw new ImgplayError(`the lock's stage ${stage} names suite ${p.suite}, which it does not list`);
      const now = entries.get(entryKey(p));
      if (now !== undefined && now.sha256 === p.sha256) continue;
      const available = [...entries.values()].filter((e) => e.name === p.name && e.arch === p.arch).map((e) => e.version);
      problems.push({ stage, pkg: p, available, ...(now !== undefined ? { otherSha256: now.sha256 } : {}) });
    }
  }
  return problems;
}

/** The problems as one message, each naming the package, the locked and the available version. */
export function describeProblems(problems: readonly LockProblem[], lockPath: string): string {
  const lines = problems.slice(0, 20).map((p) =>
    p.otherSha256 !== undefined
      ? `${p.pkg.name} ${p.pkg.version} (stage ${p.stage}): the archive's .deb is not the locked one (sha256 ${p.otherSha256}, locked ${p.pkg.sha256})`
      : `${p.pkg.name} (stage ${p.stage}): locked ${p.pkg.version}, the archive has ${p.available.length > 0 ? p.available.join(', ') : 'no version of it'}`,
  );
  if (problems.length > 20) lines.push(`... and ${problems.length - 20} more`);
  return `${lockPath} is stale: the archive no longer offers ${problems.length === 1 ? 'a locked package' : `${problems.length} locked packages`} as locked\n  ${lines.join('\n  ')}`;
}
