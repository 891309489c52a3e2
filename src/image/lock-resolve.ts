// From a build to a lock: each stage's packages (from the manifest entries of the artifacts it made: a base's or
// initrd's whole package set, an overlay's packages added or changed over its base), each found in the Packages
// index of the archive suites the stage installed from, which gives the .deb's sha256 and pool path.
import { ImgplayError } from '../errors.js';
import { type IndexEntry, type ReleaseInfo, entryKey, fetchPackages, fetchRelease } from './apt-index.js';
import type { InstalledPackage } from './dpkg-status.js';
import type { ArtifactEntry } from './manifest.js';
import { LOCK_FORMAT, type Lock, type LockedPackage, type LockedSuite, sortPackages } from './lock-file.js';

/** What resolving needs of one stage of a build: the suites it installed from and its artifacts' manifest entries (the stage cache's summary). */
export interface StageSummary {
  stage: string;
  archives: Array<{ uri: string; suite: string; proxy?: string | undefined }>;
  artifacts: ArtifactEntry[];
}

/** What resolving needs besides the build's stages and manifest. */
export interface ResolveOptions {
  /** The playbook, relative to the project's root, as the lock names it. */
  playbook: string;
  /** Where verified Packages indexes are kept between runs (cache_dir/lock). */
  cacheDir: string;
}

/** The packages a stage's artifacts say it installed: a whole tree's for a base or initrd, an overlay's delta. */
export function stagePackages(entries: readonly ArtifactEntry[]): InstalledPackage[] {
  const found = new Map<string, InstalledPackage>();
  const add = (p: InstalledPackage) => {
    const k = `${p.name}:${p.arch}`;
    if (!found.has(k)) found.set(k, p);
  };
  for (const e of entries) {
    if (e.packageDelta !== undefined) {
      for (const p of e.packageDelta.added) add(p);
      for (const c of e.packageDelta.changed) add({ name: c.name, arch: c.arch, version: c.to });
    } else for (const p of e.packages ?? []) add(p);
  }
  return [...found.values()];
}

/** The lock of a finished build, from its stages (the stage cache's summaries, with their artifacts' manifest entries). */
export async function resolveLock(stages: readonly StageSummary[], o: ResolveOptions): Promise<Lock> {
  // Every suite once, with the proxy a stage reached it through.
  const refs = new Map<string, { uri: string; suite: string; proxy?: string | undefined }>();
  for (const s of stages) for (const a of s.archives) refs.set(refKey(a), refs.get(refKey(a)) ?? { ...a, uri: a.uri.replace(/\/+$/, '') });
  const ids = suiteIds([...refs.values()]);
  const releases = new Map<string, ReleaseInfo>();
  for (const [k, r] of refs) releases.set(k, await fetchRelease(r, r.proxy).catch(() => fetchRelease(r)));

  // The architectures each suite's indexes are needed for: those of the packages of the stages using it.
  const archs = new Map<string, Set<string>>();
  const perStage = new Map<string, { pkgs: InstalledPackage[]; suites: string[] }>();
  for (const s of stages) {
    const entries = s.artifacts;
    const pkgs = stagePackages(entries);
    const suites = [...new Set(s.archives.map(refKey))];
    perStage.set(s.stage, { pkgs, suites });
    for (const k of suites) {
      const set = archs.get(k) ?? new Set<string>();
      for (const p of pkgs) if (p.arch !== 'all') set.add(p.arch);
      for (const e of entries) if (e.arch !== undefined) set.add(e.arch);
      archs.set(k, set);
    }
  }
  const indexes = new Map<string, { entries: Map<string, IndexEntry>; indexes: string[]; names: Set<string> }>();
  for (const [k, r] of refs) {
    const rel = releases.get(k)!;
    let wanted = [...(archs.get(k) ?? [])];
    if (wanted.length === 0) wanted = rel.architectures.filter((a) => a !== 'all').slice(0, 1);
    const got = await fetchPackages(r, rel, wanted, o.cacheDir, r.proxy).catch(() => fetchPackages(r, rel, wanted, o.cacheDir));
    indexes.set(k, { ...got, names: new Set([...got.entries.values()].map((e) => e.name)) });
  }

  const lockStages: Record<string, LockedPackage[]> = {};
  const used = new Set<string>();
  for (const [stage, { pkgs, suites }] of perStage) {
    const locked: LockedPackage[] = [];
    for (const p of pkgs) {
      let hit: { e: IndexEntry; suite: string } | undefined;
      for (const k of suites) {
        const e = indexes.get(k)!.entries.get(entryKey(p));
        if (e !== undefined) {
          hit = { e, suite: k };
          break;
        }
      }
      if (hit !== undefined) {
        used.add(hit.suite);
        locked.push({ name: p.name, version: p.version, arch: p.arch, sha256: hit.e.sha256, suite: ids.get(hit.suite)!, filename: hit.e.filename });
        continue;
      }
      // A name the archive knows, at a version it does not have: the archive moved on while the build ran.
      const known = suites.find((k) => indexes.get(k)!.names.has(p.name));
      if (known !== undefined) {
        const offered = [...indexes.get(known)!.entries.values()].filter((e) => e.name === p.name).map((e) => e.version);
        throw new ImgplayError(
          `stage ${stage} installed ${p.name} ${p.version} (${p.arch}), but ${describe(refs.get(known)!)} now offers ${offered.join(', ')}: the archive changed during the build`,
          { hint: 'run imgplay lock again' },
        );
      }
      // A .deb the playbook supplies (built by a role, or shipped in its files): no archive has it.
      locked.push({ name: p.name, version: p.version, arch: p.arch, local: true });
    }
    lockStages[stage] = sortPackages(locked);
  }
  const suites: LockedSuite[] = [...refs.entries()]
    .filter(([k]) => used.has(k))
    .map(([k, r]) => {
      const rel = releases.get(k)!;
      return { id: ids.get(k)!, uri: withoutCredentials(r.uri), suite: r.suite, date: rel.date, release: rel.digest, indexes: indexes.get(k)!.indexes };
    });
  return { lock: LOCK_FORMAT, playbook: o.playbook, suites, stages: lockStages };
}

function refKey(a: { uri: string; suite: string }): string {
  return `${a.uri.replace(/\/+$/, '')} ${a.suite}`;
}

// A suite's id is its name (`bookworm`; a flat repository's `./` is `flat`), numbered when two archives share one.
function suiteIds(refs: Array<{ uri: string; suite: string }>): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Map<string, number>();
  for (const r of [...refs].sort((a, b) => (refKey(a) < refKey(b) ? -1 : 1))) {
    const name = r.suite.replace(/\/+$/, '').replace(/^\.\/?/, '') || 'flat';
    const n = (taken.get(name) ?? 0) + 1;
    taken.set(name, n);
    ids.set(refKey(r), n === 1 ? name : `${name}@${n}`);
  }
  return ids;
}

function describe(r: { uri: string; suite: string }): string {
  return `${withoutCredentials(r.uri)} ${r.suite}`;
}

/** A URI without a user or password in it: the lock is committed and read by everyone. */
export function withoutCredentials(uri: string): string {
  try {
    const u = new URL(uri);
    if (u.username === '' && u.password === '') return uri;
    u.username = '';
    u.password = '';
    return u.href.replace(/\/+$/, '');
  } catch {
    return uri;
  }
}
