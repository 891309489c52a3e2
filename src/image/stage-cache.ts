// The stage cache's store on disk: artifacts as content-addressed files, and per stage the entries that say
// what a build of it depended on (its inputs and their digests), what it produced and which facts it set.
// Layout under the cache folder (default /var/cache/imgplay):
//   objects/<2 hex>/<sha256>             artifact bytes, named by their sha256 (verified on every restore)
//   stages/<stage>/<entry id>.json       one entry per build kept (several versions per stage)
// Every file is written under a temporary name and renamed when complete, so a killed run never leaves a
// half-written object or entry that a later run could trust; objects are verified by sha256 when stored and
// when restored.
import { constants } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, readdir, readFile, rename, rm, rmdir, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ImgplayError } from '../errors.js';
import { atomicWrite } from '../host/atomic-write.js';
import { checksumFile, noteVerified } from '../host/checksum.js';

// An object has the mode a freshly built artifact has: a restored artifact (a hard link to it) is then the
// same file as a built one in every way a later stage can see (its inputs digest counts modes).
const ARTIFACT_MODE = 0o644;

/** Bumped whenever an entry's meaning changes, so old entries are never read as new ones. */
export const STAGE_CACHE_FORMAT = 'imgplay-stage-cache/1';

/** One input of a stage and its digest when the stage was built ('absent': it did not exist). */
export interface FileDep {
  path: string;
  digest: string;
  /** A directory's entries as inputsDigest saw them (memberLines), so a change can name the file. */
  members?: Record<string, string>;
}
export interface VarDep {
  host: string;
  name: string;
  digest: string;
}
export interface ArchiveDep {
  uri: string;
  suite: string;
  digest: string;
  proxy?: string | undefined;
}

/** An artifact a stage recorded in a builds folder: where (location-independent), and its manifest entry. */
export interface StoredArtifact {
  /** The recording host's builds folder, written with location placeholders (e.g. `${artifact_dir}`). */
  dir: string;
  host: string;
  entry: { name: string; sha256: string; size: number } & Record<string, unknown>;
}

/** A fact or registered variable a stage left on a host, replayed when the stage is reused. */
export interface StoredFact {
  host: string;
  /** facts: survives plays (set_fact cacheable, module facts); vars: a host variable (set_fact, register). */
  layer: 'facts' | 'vars';
  name: string;
  value: unknown;
  /** Registered results are unsafe (never templated again); set_fact values are not. */
  unsafe: boolean;
}

/** One build of one stage, as kept in the store. */
export interface StageEntry {
  format: typeof STAGE_CACHE_FORMAT;
  stage: string;
  /** What every entry of this stage must share: the stage's name and imgplay's code. */
  primary: string;
  /** The digest of `primary` and every dependency with its digest: the stage's full key. */
  key: string;
  createdAt: string;
  /** How long the stage took to build, for `cache list` and the recap. */
  buildSeconds: number;
  deps: { files: FileDep[]; vars: VarDep[]; archives: ArchiveDep[] };
  artifacts: StoredArtifact[];
  facts: StoredFact[];
}

/** The entries a stage has in the store, newest first; unreadable or foreign entries are passed over. */
export async function stageEntries(cacheDir: string, stage: string, primary?: string): Promise<StageEntry[]> {
  const dir = join(cacheDir, 'stages', stageDirName(stage));
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Array<{ e: StageEntry; mtime: number }> = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const path = join(dir, name);
    try {
      const e = JSON.parse(await readFile(path, 'utf8')) as StageEntry;
      if (e.format !== STAGE_CACHE_FORMAT || e.stage !== stage || (primary !== undefined && e.primary !== primary)) continue;
      out.push({ e, mtime: (await stat(path)).mtimeMs });
    } catch {
      // A damaged entry is no entry: the stage is built again and the entry replaced.
    }
  }
  return out.sort((a, b) => b.mtime - a.mtime).map((x) => x.e);
}

/** Every stage the store has entries for. */
export async function storedStages(cacheDir: string): Promise<string[]> {
  const names = await readdir(join(cacheDir, 'stages')).catch(() => [] as string[]);
  return names.map(stageFromDirName).sort();
}

/** Stores a stage's entry and its artifacts' bytes (taken from `files`: artifact name -> path). */
export async function storeEntry(cacheDir: string, entry: StageEntry, files: ReadonlyMap<string, string>): Promise<void> {
  for (const a of entry.artifacts) {
    const src = files.get(a.entry.name);
    if (src === undefined) throw new ImgplayError(`stage cache: no file for artifact ${a.entry.name}`);
    await storeObject(cacheDir, src, a.entry.sha256);
  }
  const dir = join(cacheDir, 'stages', stageDirName(entry.stage));
  await mkdir(dir, { recursive: true });
  await atomicWrite(join(dir, `${entry.key.replace(/^sha256:/, '')}.json`), { data: `${JSON.stringify(entry, null, 2)}\n` });
}

/** Marks an entry used now (its mtime), so pruning keeps what builds reuse. */
export async function touchEntry(cacheDir: string, entry: StageEntry): Promise<void> {
  const now = new Date();
  await utimes(join(cacheDir, 'stages', stageDirName(entry.stage), `${entry.key.replace(/^sha256:/, '')}.json`), now, now).catch(() => undefined);
}

/** The path of an object in the store. */
export function objectPath(cacheDir: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ImgplayError(`stage cache: not a sha256: ${sha256}`);
  return join(cacheDir, 'objects', sha256.slice(0, 2), sha256);
}

/**
 * Copies (or hard-links) an object out of the store to `dest`, verified by sha256, written under a temporary
 * name first. The sha256 is noted for `dest` (noteVerified), so what reads it next in this run need not hash it again.
 */
export async function restoreObject(cacheDir: string, sha256: string, dest: string): Promise<'linked' | 'copied'> {
  const src = objectPath(cacheDir, sha256);
  const tmp = join(dirname(dest), `.${Date.now()}.${process.pid}.restoring`);
  try {
    let how: 'linked' | 'copied' = 'linked';
    // A hard link costs nothing; artifact writers replace files (a temporary name renamed), never write into
    // them, and the sha256 is checked on every restore. Across file systems it is copied.
    await link(src, tmp).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EXDEV' && err.code !== 'EPERM' && err.code !== 'EMLINK') throw err;
      how = 'copied';
      await copyFile(src, tmp, constants.COPYFILE_FICLONE);
      await chmod(tmp, ARTIFACT_MODE);
    });
    const got = await checksumFile(tmp, 'sha256');
    if (got !== sha256) throw new ImgplayError(`stage cache: object ${sha256} is damaged (its bytes hash to ${got})`, { hint: `remove it: rm ${src}` });
    await rename(tmp, dest);
    // Renaming a link over another link of the same file does nothing: the name left behind goes before
    // the stamp is taken, as unlinking it changes the file's ctime.
    await rm(tmp, { force: true });
    await noteVerified(dest, sha256);
    return how;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Whether the store holds an object. */
export async function hasObject(cacheDir: string, sha256: string): Promise<boolean> {
  return (await lstat(objectPath(cacheDir, sha256)).catch(() => undefined))?.isFile() ?? false;
}

async function storeObject(cacheDir: string, src: string, sha256: string): Promise<void> {
  const dest = objectPath(cacheDir, sha256);
  // An object already there is kept only if its bytes are still right (a damaged one is replaced).
  if ((await hasObject(cacheDir, sha256)) && (await checksumFile(dest, 'sha256').catch(() => '')) === sha256) {
    // Also its ctime: a prune running beside this build sees it as just stored (PRUNE_GRACE_MS).
    await chmod(dest, ARTIFACT_MODE);
    return;
  }
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    await link(src, tmp).catch(async () => copyFile(src, tmp));
    const got = await checksumFile(tmp, 'sha256');
    if (got !== sha256) throw new ImgplayError(`stage cache: ${src} changed while it was stored (sha256 ${got}, recorded ${sha256})`);
    await chmod(tmp, ARTIFACT_MODE);
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}

// Stage names hold slashes (overlay/discovery): a folder name keeps them readable and unambiguous.
function stageDirName(stage: string): string {
  return encodeURIComponent(stage);
}

function stageFromDirName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** What `imgplay cache list` shows: each stage's entries with their size and age. */
export interface CacheListing {
  stage: string;
  entries: Array<{ key: string; createdAt: string; lastUsed: string; buildSeconds: number; artifacts: Array<{ name: string; size: number }> }>;
}

/** The store's contents, stage by stage, newest entry first. */
export async function listCache(cacheDir: string): Promise<CacheListing[]> {
  const out: CacheListing[] = [];
  for (const stage of await storedStages(cacheDir)) {
    const dir = join(cacheDir, 'stages', stageDirName(stage));
    const entries = await stageEntries(cacheDir, stage);
    out.push({
      stage,
      entries: await Promise.all(
        entries.map(async (e) => ({
          key: e.key,
          createdAt: e.createdAt,
          lastUsed: new Date((await stat(join(dir, `${e.key.replace(/^sha256:/, '')}.json`))).mtimeMs).toISOString(),
          buildSeconds: e.buildSeconds,
          artifacts: e.artifacts.map((a) => ({ name: a.entry.name, size: a.entry.size })),
        })),
      ),
    });
  }
  return out;
}

/** How recently stored an object no entry names must be for prune to leave it (a build may be storing its entry). */
export const PRUNE_GRACE_MS = 15 * 60_000;

/**
 * Removes entries beyond the `keep` most recently used per stage, then (with `maxSize`) the least recently
 * used entries until the objects they still need fit, then every object no entry names. Returns what went.
 */
export async function pruneCache(
  cacheDir: string,
  opts: { keep?: number; maxSize?: number; graceMs?: number },
): Promise<{ entries: number; objects: number; bytes: number; young: number }> {
  const removed = { entries: 0, objects: 0, bytes: 0, young: 0 };
  const grace = opts.graceMs ?? PRUNE_GRACE_MS;
  const all: Array<{ stage: string; entry: StageEntry; file: string; mtime: number }> = [];
  for (const stage of await storedStages(cacheDir)) {
    const dir = join(cacheDir, 'stages', stageDirName(stage));
    const entries = await stageEntries(cacheDir, stage);
    for (const [i, entry] of entries.entries()) {
      const file = join(dir, `${entry.key.replace(/^sha256:/, '')}.json`);
      if (opts.keep !== undefined && i >= opts.keep) {
        await rm(file, { force: true });
        removed.entries++;
      } else all.push({ stage, entry, file, mtime: (await stat(file)).mtimeMs });
    }
  }
  const dropEmpty = async () => {
    for (const stage of await storedStages(cacheDir)) await rmdir(join(cacheDir, 'stages', stageDirName(stage))).catch(() => undefined);
  };
  if (opts.maxSize !== undefined) {
    all.sort((a, b) => a.mtime - b.mtime);
    const size = () => {
      const shas = new Map<string, number>();
      for (const x of all) for (const a of x.entry.artifacts) shas.set(a.entry.sha256, a.entry.size);
      return [...shas.values()].reduce((s, n) => s + n, 0);
    };
    while (all.length > 0 && size() > opts.maxSize) {
      const oldest = all.shift()!;
      await rm(oldest.file, { force: true });
      removed.entries++;
    }
  }
  await dropEmpty();
  const wanted = new Set(all.flatMap((x) => x.entry.artifacts.map((a) => a.entry.sha256)));
  for (const prefix of await readdir(join(cacheDir, 'objects')).catch(() => [] as string[])) {
    for (const name of await readdir(join(cacheDir, 'objects', prefix)).catch(() => [] as string[])) {
      if (wanted.has(name)) continue;
      const path = join(cacheDir, 'objects', prefix, name);
      const st = await stat(path).catch(() => undefined);
      // A build stores a stage's objects moments before the entry that names them (and re-marks one it finds
      // already there, which sets its ctime): an object that recent may be about to be named.
      if (st && Date.now() - st.ctimeMs < grace) {
        removed.young++;
        continue;
      }
      removed.bytes += st?.size ?? 0;
      await rm(path, { force: true });
      removed.objects++;
    }
  }
  return removed;
}
