// The stage cache at run time. A play names its stage with the play variable `imgplay_stage` (rendered per
// host, so `overlay/{{ inventory_hostname }}` makes one stage per overlay host). Before a stage's first play
// does any work, its earlier builds are looked up: an entry whose recorded inputs all still have the same
// digests is a hit, and its artifacts and facts are put back instead of running the stage's plays for those
// hosts. Otherwise the stage runs and everything it reads is recorded (variables its templates look up, files
// its plays and roles read, archive suites it installs from, the artifacts it writes), and it is stored when
// its last play ends with none of its hosts failed. Inputs are recorded, not listed by hand.
import { mkdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checksumData } from '../host/checksum.js';
import { runtimeIdentity } from '../host/version.js';
import { suiteDigest } from '../image/archive-state.js';
import { canonicalJson, firstMemberChange, inputsDigest, memberLines } from '../image/inputs-digest.js';
import { type ArtifactEntry, recordArtifact } from '../image/manifest.js';
import { activeLock } from '../image/lock-honour.js';
import { LOCK_FILE } from '../image/lock-file.js';
import {
  type ArchiveDep,
  type FileDep,
  STAGE_CACHE_FORMAT,
  type StageEntry,
  type StoredArtifact,
  type StoredFact,
  type VarDep,
  hasObject,
  restoreObject,
  stageEntries,
  storeEntry,
  storedStages,
  touchEntry,
} from '../image/stage-cache.js';
import type { RunEvent } from '../report/events.js';
import type { ReadEvent } from '../host/reads.js';
import { isUnsafe } from '../jinja/values.js';

/** Where stages are kept unless --cache-dir or the `cache_dir` variable say otherwise. */
export const DEFAULT_CACHE_DIR = '/var/cache/imgplay';

/** The play variable that names a play's stage. */
export const STAGE_VAR = 'imgplay_stage';

/**
 * Variables that say where things are, not what they are made of: their values never count towards a key,
 * and paths inside them are recorded relative to them, so a checkout or builds folder elsewhere reuses the cache.
 */
export const LOCATION_VARS = ['artifact_dir', 'build_dir', 'cache_dir'] as const;

/** Variables that say how packages travel, not which: an apt proxy and the .deb cache serve the same archive's bytes
 * (apt checks every cached .deb against the index before it uses it). */
export const TRANSPORT_VARS = ['apt_proxy', 'imgplay_deb_cache'] as const;

/** What a stage outcome says, for the reporters. */
export type StageEvent = Extract<RunEvent, { type: 'stage' }>;

/** What the stage cache needs from the executor. */
export interface StageHost {
  /** A host's variables as they stand (inventory, facts, host variables, extra vars), unrendered. */
  rawVars(host: string): Record<string, unknown> | undefined;
  /** Every inventory host's name. */
  hostNames(): string[];
  /** The host whose variables a scope object is (hostvars[x] or a task's variables), if any. */
  scopeOwner(scope: object): string | undefined;
  /** Sets a fact or host variable a reused stage had left. */
  setFact(fact: StoredFact): void;
  /** A host's facts and host variables as they stand, for what a stage changes. */
  factState(host: string): { facts: Record<string, unknown>; vars: Record<string, unknown> };
  /** Whether a host failed or became unreachable. */
  hostFailed(host: string): boolean;
  emit(ev: StageEvent): void;
}

interface Building {
  stage: string;
  primary: string;
  started: number;
  hosts: Set<string>;
  files: Set<string>;
  vars: Set<string>;
  archives: Map<string, { uri: string; suite: string; proxy?: string | undefined }>;
  artifacts: Map<string, StoredArtifact>;
  /** Every host's variables when the stage started, for the digests of those it read. */
  startVars: Map<string, Record<string, unknown>>;
  /** Facts and host variables (as canonical JSON) when the stage started, to find what it set. */
  startFacts: Map<string, { facts: Map<string, string>; vars: Map<string, string> }>;
  /** Set when something the stage did cannot be recorded faithfully: it is not stored. */
  spoiled?: string;
}

/** What one stage of a run was made of: the archive suites it installed from and its artifacts (for `imgplay lock`). */
export interface StageSummary {
  stage: string;
  archives: Array<{ uri: string; suite: string; proxy?: string | undefined }>;
  /** The manifest entries of its artifacts. */
  artifacts: ArtifactEntry[];
  /** Put back from the cache rather than built. */
  cached: boolean;
}

// How many of a stage's newest kept builds name the archives read ahead (builds of older imgplays name the same).
const PREFETCH_ENTRIES = 3;

/** The stage cache for one run. */
export class StageCache {
  private readonly building = new Map<string, Building>();
  /** Each stage this run built or put back, in the order they ended. */
  private readonly ended = new Map<string, StageSummary>();
  private readonly cached = new Set<string>();
  /** Stages not found in the cache for hosts --limit leaves out: never looked up again, never kept. */
  private readonly limitedMiss = new Set<string>();
  /** Which stage each host works on in the current play. */
  private current = new Map<string, string>();
  private readonly codeDigest: Promise<string>;
  private readonly fileDigests = new Map<string, Promise<string>>();
  private readonly suiteDigests = new Map<string, Promise<string>>();
  /** Each stage's kept builds, read once: by the read-ahead of archives, then by the stage's lookup. */
  private readonly entryLists = new Map<string, Promise<StageEntry[]>>();
  private locations: Array<[string, string]> = [];
  /** Stops the archive reads still under way when the run ends (those started ahead of need). */
  private readonly reads = new AbortController();
  private prefetched: string | undefined;

  private cacheDir = DEFAULT_CACHE_DIR;
  private buildDir: string | undefined;

  constructor(
    /** The project's root (on-imagebuilder's layout: the folder holding playbooks/ and roles/). */
    private readonly root: string,
    private readonly host: StageHost,
    /** False with --no-cache: no stage is looked up or kept, but each is still keyed, so manifest.json's
     *  inputsDigest is the same as in a build through the cache. */
    private readonly reuse = true,
    /** The cache's folder when the command line names it: its kept builds' archives are read at once. */
    cacheDir?: string,
  ) {
    // imgplay's own digest does not depend on the run: taken while the first plays run.
    this.codeDigest = codeDigest();
    this.codeDigest.catch(() => undefined);
    if (cacheDir !== undefined) this.prefetch(resolve(cacheDir));
  }

  /** The listener of reads: attributes each to the stage its host is working on. */
  readonly onRead = (workHost: string | undefined, ev: ReadEvent): void => {
    const stage = workHost === undefined ? undefined : this.current.get(workHost);
    const b = stage === undefined ? undefined : this.building.get(stage);
    if (!b) return;
    switch (ev.kind) {
      case 'file': {
        const path = resolve(ev.path);
        // What a stage reads from build_dir it made itself (a .deb built from the role's files): no input.
        if (this.buildDir !== undefined && (path === this.buildDir || path.startsWith(`${this.buildDir}/`))) break;
        b.files.add(path);
        break;
      }
      case 'var': {
        const owner = ev.owner === undefined ? undefined : this.host.scopeOwner(ev.owner);
        b.vars.add(`${owner ?? workHost}\0${ev.name}`);
        break;
      }
      case 'archive':
        b.archives.set(`${ev.uri} ${ev.suite}`, { uri: ev.uri, suite: ev.suite, proxy: ev.proxy });
        break;
      case 'artifact':
        b.artifacts.set(ev.entry.name, { dir: resolve(ev.dir), host: workHost!, entry: ev.entry as StoredArtifact['entry'] });
        break;
    }
  };

  /** Sets where builds happen (the location variables' values), for location-independent records, and the cache's folder. */
  setLocations(values: Record<string, string>, cacheDir: string): void {
    this.cacheDir = resolve(cacheDir);
    this.buildDir = values.build_dir !== undefined && isAbsolute(values.build_dir) ? resolve(values.build_dir) : undefined;
    const pairs: Array<[string, string]> = Object.entries(values)
      .filter(([, v]) => typeof v === 'string' && isAbsolute(v) && v !== '/')
      .map(([k, v]) => [`\${${k}}`, resolve(v)]);
    pairs.push(['${root}', resolve(this.root)]);
    // The longest path first: a builds folder inside the checkout is named by its own variable.
    this.locations = pairs.sort((a, b) => b[1].length - a[1].length);
    this.prefetch(this.cacheDir);
  }

  // Starts reading the state of every archive the newest kept builds of each stage depend on, all at once and
  // while imgplay's own digest is still being taken, so a run that reuses its stages waits for the slowest
  // suite once rather than for each suite in turn.
  private prefetch(cacheDir: string): void {
    if (!this.reuse || this.prefetched === cacheDir) return;
    this.prefetched = cacheDir;
    const start = async () => {
      for (const stage of await storedStages(cacheDir)) {
        for (const e of (await this.entries(cacheDir, stage)).slice(0, PREFETCH_ENTRIES)) {
          for (const a of e.deps.archives) this.archiveDigest(stage, a).catch(() => undefined);
        }
      }
    };
    start().catch(() => undefined);
  }

  /**
   * Called as a play starts, with each selected host's stage (undefined: not in a stage). Ends the stages this
   * play does not continue, looks up the ones it starts, and returns the hosts whose stage was reused (they
   * sit the play out).
   */
  async beginPlay(stages: ReadonlyMap<string, string | undefined>, playFiles: readonly string[], limitedOut: ReadonlyMap<string, string> = new Map()): Promise<Set<string>> {
    const inPlay = new Set([...stages.values(), ...limitedOut.values()].filter((s): s is string => s !== undefined));
    for (const stage of [...this.building.keys()]) if (!inPlay.has(stage)) await this.finish(stage);
    const skip = new Set<string>();
    this.current = new Map();
    // Hosts --limit leaves out: their stage is still looked up (a cached one is put back, so what later
    // stages read of it is there), but never built; one that builds without some of its hosts is not kept.
    for (const [hostName, stage] of limitedOut) {
      if (this.cached.has(stage)) continue;
      const b = this.building.get(stage);
      if (b) {
        b.spoiled ??= `--limit leaves out ${hostName}, so it was built without it`;
        continue;
      }
      if (this.limitedMiss.has(stage)) continue;
      if (!(await this.lookup(stage, false))) {
        this.limitedMiss.add(stage);
        const why = this.reuse ? 'no build of it in the cache matches' : '--no-cache reuses no build';
        this.host.emit({ type: 'stage', stage, status: 'limited', reason: `--limit leaves out ${hostName}, and ${why}` });
      }
    }
    for (const [hostName, stage] of stages) {
      if (stage === undefined) continue;
      if (this.cached.has(stage)) {
        skip.add(hostName);
        continue;
      }
      if (!this.building.has(stage)) {
        if (!this.limitedMiss.has(stage) && (await this.lookup(stage, true))) {
          skip.add(hostName);
          continue;
        }
        if (this.limitedMiss.has(stage)) {
          this.startBuilding(stage, await this.primaryKey(stage));
          this.building.get(stage)!.spoiled = '--limit left out some of its hosts in an earlier play';
        }
      }
      const b = this.building.get(stage)!;
      b.hosts.add(hostName);
      for (const f of playFiles) b.files.add(resolve(f));
      this.current.set(hostName, stage);
    }
    return skip;
  }

  /** The cache's folder. */
  folder(): string {
    return this.cacheDir;
  }

  /** The stages this run built or put back from the cache, in the order they ended. */
  summaries(): StageSummary[] {
    return [...this.ended.values()];
  }

  /** Ends every stage still building (the run is over): stores those that succeeded. */
  async finishAll(interrupted: boolean): Promise<void> {
    try {
      for (const stage of [...this.building.keys()]) {
        if (interrupted) this.building.get(stage)!.spoiled = 'the run was interrupted';
        await this.finish(stage);
      }
    } finally {
      // An archive read ahead of need and still waiting (a mirror gone quiet) must not hold the process.
      this.reads.abort();
    }
  }

  // ---- lookup ----

  // Finds a kept build of the stage whose inputs all match and puts it back; on a miss with `build`, starts
  // recording the stage's build.
  private async lookup(stage: string, build: boolean): Promise<boolean> {
    const primary = await this.primaryKey(stage);
    const entries = this.reuse ? await this.entries(this.cacheDir, stage) : [];
    let reason = !this.reuse ? '--no-cache' : entries.length === 0 ? 'no earlier build' : 'imgplay itself changed';
    let first = true;
    for (const e of entries.filter((x) => x.primary === primary)) {
      const differs = await this.firstDifference(e);
      if (differs === undefined) {
        try {
          await this.restore(e);
          return true;
        } catch (err) {
          // A damaged object or a builds folder that cannot be written: build instead, and say why.
          if (first) reason = `restoring the cached build failed: ${(err as Error).message}`;
          first = false;
          continue;
        }
      }
      if (first) reason = differs;
      first = false;
    }
    if (build) {
      this.startBuilding(stage, primary);
      this.host.emit({ type: 'stage', stage, status: 'build', reason });
    }
    return false;
  }

  private startBuilding(stage: string, primary: string): void {
    const startVars = new Map<string, Record<string, unknown>>();
    const startFacts = new Map<string, { facts: Map<string, string>; vars: Map<string, string> }>();
    for (const h of this.host.hostNames()) {
      const raw = this.host.rawVars(h);
      if (raw) startVars.set(h, raw);
      const st = this.host.factState(h);
      startFacts.set(h, { facts: jsonMap(st.facts), vars: jsonMap(st.vars) });
    }
    this.building.set(stage, { stage, primary, started: performance.now(), hosts: new Set(), files: new Set(), vars: new Set(), archives: new Map(), artifacts: new Map(), startVars, startFacts });
  }

  // The first recorded input whose digest is no longer the same, said for a person; undefined if none.
  private async firstDifference(e: StageEntry): Promise<string | undefined> {
    for (const a of e.artifacts) if (!(await hasObject(this.cacheDir, a.entry.sha256))) return `${a.entry.name} is no longer in the cache`;
    // A build kept under a location variable this run leaves unset (or relative) has nowhere to be put back:
    // restored as it is, `${artifact_dir}` would become a folder of that name in the working directory.
    for (const a of e.artifacts) {
      const unset = /^\$\{(\w+)\}/.exec(this.expand(a.dir));
      if (unset) return `${a.entry.name} was kept under ${unset[1]}, which this run does not set to an absolute path`;
    }
    for (const f of e.deps.files) {
      const now = await this.fileDigest(this.expand(f.path));
      const shown = f.path.replace(/^\$\{root\}\//, '');
      if (now !== f.digest && now !== 'absent' && f.members) {
        const member = firstMemberChange(f.members, await memberLines(this.expand(f.path)).catch(() => ({})));
        if (member !== undefined) return `${shown}/${member}`;
      }
      if (now !== f.digest) return now === 'absent' ? `${shown} was removed` : f.digest === 'absent' ? `${shown} appeared` : `${shown} changed`;
    }
    const vars = new Map<string, Record<string, unknown> | undefined>();
    for (const v of e.deps.vars) {
      if (!vars.has(v.host)) vars.set(v.host, this.host.rawVars(v.host));
      const raw = vars.get(v.host);
      if (raw === undefined) return `host ${v.host} is no longer in the inventory`;
      if (this.varDigest(v.name, raw) !== v.digest) return `variable ${v.name} of ${v.host} changed`;
    }
    for (const a of e.deps.archives) {
      let now: string;
      try {
        now = await this.archiveDigest(e.stage, a);
      } catch (err) {
        return `the archive's state is unknown (${(err as Error).message})`;
      }
      if (now !== a.digest) return now.startsWith('lock:') || a.digest.startsWith('lock:') ? `the stage's packages in ${LOCK_FILE} changed` : `archive ${a.uri} ${a.suite} changed`;
    }
    return undefined;
  }

  private async restore(e: StageEntry): Promise<void> {
    const names: string[] = [];
    for (const a of e.artifacts) {
      const dir = this.expand(a.dir);
      await mkdir(dir, { recursive: true });
      await restoreObject(this.cacheDir, a.entry.sha256, join(dir, a.entry.name));
      await recordArtifact(dir, a.entry as unknown as Parameters<typeof recordArtifact>[1]);
      names.push(a.entry.name);
    }
    for (const f of e.facts) this.host.setFact({ ...f, value: this.expandValue(f.value) });
    await touchEntry(this.cacheDir, e);
    this.cached.add(e.stage);
    this.ended.set(e.stage, { stage: e.stage, archives: e.deps.archives.map((a) => ({ uri: a.uri, suite: a.suite, proxy: a.proxy })), artifacts: e.artifacts.map((a) => a.entry as unknown as ArtifactEntry), cached: true });
    this.host.emit({ type: 'stage', stage: e.stage, status: 'cached', seconds: e.buildSeconds, artifacts: names, reason: `built ${e.createdAt}` });
  }

  // ---- store ----

  private async finish(stage: string): Promise<void> {
    const b = this.building.get(stage)!;
    this.building.delete(stage);
    for (const [h, s] of this.current) if (s === stage) this.current.delete(h);
    const failed = [...b.hosts].filter((h) => this.host.hostFailed(h));
    const why = b.spoiled ?? (failed.length > 0 ? `${failed.join(', ')} failed` : undefined);
    if (why !== undefined) {
      this.host.emit({ type: 'stage', stage, status: 'not_stored', reason: why });
      return;
    }
    const files: FileDep[] = [];
    for (const path of [...b.files].sort()) {
      const digest = await this.fileDigest(path);
      const dir = digest !== 'absent' && (await stat(path).catch(() => undefined))?.isDirectory();
      files.push({ path: this.shorten(path), digest, ...(dir ? { members: await memberLines(path) } : {}) });
    }
    const vars: VarDep[] = [];
    for (const key of [...b.vars].sort()) {
      const [host = '', name = ''] = key.split('\0');
      const raw = b.startVars.get(host);
      // A variable of a host outside the inventory (delegate_to an address) has no inventory value to key on.
      if (raw === undefined) continue;
      vars.push({ host, name, digest: this.varDigest(name, raw) });
    }
    const archives: ArchiveDep[] = [];
    try {
      for (const a of [...b.archives.values()].sort((x, y) => `${x.uri} ${x.suite}`.localeCompare(`${y.uri} ${y.suite}`))) {
        archives.push({ uri: a.uri, suite: a.suite, digest: await this.archiveDigest(stage, a), ...(a.proxy ? { proxy: a.proxy } : {}) });
      }
    } catch (err) {
      this.host.emit({ type: 'stage', stage, status: 'not_stored', reason: `the archive's state is unknown (${(err as Error).message})` });
      return;
    }
    const facts: StoredFact[] = [];
    for (const h of b.hosts) {
      const before = b.startFacts.get(h);
      const now = this.host.factState(h);
      for (const layer of ['facts', 'vars'] as const) {
        for (const [name, value] of Object.entries(now[layer])) {
          const json = canonicalJson(value);
          if (before?.[layer].get(name) === json) continue;
          facts.push({ host: h, layer, name, value: this.shortenValue(JSON.parse(JSON.stringify(value ?? null))), unsafe: isUnsafe(value) });
        }
      }
    }
    const deps = { files, vars, archives };
    // The stage's inputs digest: what it was built from, nothing of what it made. manifest.json records it
    // for each artifact (`inputsDigest`), so the manifest says which inputs made which file.
    const key = `sha256:${checksumData(canonicalJson({ primary: b.primary, deps }), 'sha256')}`;
    for (const a of b.artifacts.values()) {
      a.entry = { ...a.entry, inputsDigest: key };
      try {
        await recordArtifact(a.dir, a.entry as unknown as Parameters<typeof recordArtifact>[1]);
      } catch (err) {
        this.host.emit({ type: 'stage', stage, status: 'not_stored', reason: `its manifest entry could not be updated: ${(err as Error).message}` });
        return;
      }
    }
    const artifacts = [...b.artifacts.values()].map((a) => ({ ...a, dir: this.shorten(a.dir) }));
    this.ended.set(stage, { stage, archives: [...b.archives.values()], artifacts: artifacts.map((a) => a.entry as unknown as ArtifactEntry), cached: false });
    const entry: StageEntry = { format: STAGE_CACHE_FORMAT, stage, primary: b.primary, key, createdAt: new Date().toISOString(), buildSeconds: Math.round((performance.now() - b.started) / 100) / 10, deps, artifacts, facts };
    if (!this.reuse) {
      this.host.emit({ type: 'stage', stage, status: 'built', seconds: entry.buildSeconds, artifacts: artifacts.map((a) => a.entry.name), reason: '--no-cache' });
      return;
    }
    const paths = new Map([...b.artifacts.values()].map((a) => [a.entry.name, join(a.dir, a.entry.name)]));
    try {
      await storeEntry(this.cacheDir, entry, paths);
    } catch (err) {
      this.host.emit({ type: 'stage', stage, status: 'not_stored', reason: `the cache could not keep it: ${(err as Error).message}` });
      return;
    }
    this.host.emit({ type: 'stage', stage, status: 'built', seconds: entry.buildSeconds, artifacts: artifacts.map((a) => a.entry.name) });
  }

  // ---- digests ----

  private entries(cacheDir: string, stage: string): Promise<StageEntry[]> {
    const id = `${cacheDir}\0${stage}`;
    let p = this.entryLists.get(id);
    if (!p) {
      p = stageEntries(cacheDir, stage);
      this.entryLists.set(id, p);
    }
    return p;
  }

  private primaryKey(stage: string): Promise<string> {
    return this.codeDigest.then((code) => `sha256:${checksumData(`${STAGE_CACHE_FORMAT}\n${stage}\n${code}\n`, 'sha256')}`);
  }

  private fileDigest(path: string): Promise<string> {
    let p = this.fileDigests.get(path);
    if (!p) {
      p = stat(path).then(
        () => inputsDigest({ files: [path] }),
        () => 'absent',
      );
      this.fileDigests.set(path, p);
    }
    return p;
  }

  // In a build that honours imgplay.lock, what a stage installs is its locked package set, whatever else the
  // archive has published since: the key counts that set, not the suite's InRelease.
  private archiveDigest(stage: string, a: { uri: string; suite: string; proxy?: string | undefined }): Promise<string> {
    const locked = activeLock()?.lock.stages[stage];
    if (locked !== undefined) return Promise.resolve(`lock:${checksumData(canonicalJson(locked), 'sha256')}`);
    return this.suite(a);
  }

  private suite(a: { uri: string; suite: string; proxy?: string | undefined }): Promise<string> {
    const id = `${a.uri} ${a.suite}`;
    let p = this.suiteDigests.get(id);
    if (!p) {
      // Through the proxy the stage used, else straight to the archive (a proxy gone since is no reason to rebuild).
      const signal = this.reads.signal;
      p = a.proxy ? suiteDigest(a.uri, a.suite, a.proxy, signal).catch(() => suiteDigest(a.uri, a.suite, undefined, signal)) : suiteDigest(a.uri, a.suite, undefined, signal);
      this.suiteDigests.set(id, p);
    }
    return p;
  }

  private varDigest(name: string, raw: Record<string, unknown>): string {
    if ((LOCATION_VARS as readonly string[]).includes(name) || (TRANSPORT_VARS as readonly string[]).includes(name)) return 'location';
    if (!Object.hasOwn(raw, name)) return 'absent';
    return `sha256:${checksumData(canonicalJson(this.shortenValue(raw[name])), 'sha256')}`;
  }

  // ---- location independence ----

  private shorten(path: string): string {
    for (const [name, at] of this.locations) {
      if (path === at) return name;
      if (path.startsWith(`${at}/`)) return `${name}/${relative(at, path)}`;
    }
    return path;
  }

  private expand(path: string): string {
    for (const [name, at] of this.locations) {
      if (path === name) return at;
      if (path.startsWith(`${name}/`)) return join(at, path.slice(name.length + 1));
    }
    return path;
  }

  private shortenValue(v: unknown): unknown {
    return mapStrings(v, (s) => {
      let out = s;
      for (const [name, at] of this.locations) out = out.split(at).join(name);
      return out;
    });
  }

  private expandValue(v: unknown): unknown {
    return mapStrings(v, (s) => {
      let out = s;
      for (const [name, at] of this.locations) out = out.split(name).join(at);
      return out;
    });
  }
}

function mapStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, f)]));
  return v;
}

function jsonMap(o: Record<string, unknown>): Map<string, string> {
  return new Map(Object.entries(o).map(([k, v]) => [k, canonicalJson(v)]));
}

// imgplay's own code: every file of the running build (dist/, or src/ under tsx), its version and its
// runtime dependencies' installed versions. A new imgplay may build differently, so its stages are never
// taken for an older one's; an edit to package.json's scripts changes no build.
function codeDigest(): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  return inputsDigest({ vars: runtimeIdentity(), files: [resolve(here, '..')] });
}
