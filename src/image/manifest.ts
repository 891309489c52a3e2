// The builds folder's record of its artifacts: manifest.json (what each file is and what made it) and
// SHA256SUMS, rewritten whole for every artifact so stages can finish separately and in parallel.
import { lstat, open, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ajv, type ErrorObject } from 'ajv';
import { execa } from 'execa';
import { ImgplayError, InternalError } from '../errors.js';
import { atomicWrite } from '../host/atomic-write.js';
import { checksumFile, verifiedSha256 } from '../host/checksum.js';
import { isAlive } from '../host/process-group.js';
import type { InstalledPackage, PackageDelta } from './dpkg-status.js';
import { noteRead } from '../host/reads.js';
import { imgplayVersion as readVersion } from '../host/version.js';
import type { ArtifactKindName } from './artifact-kinds.js';
import { manifestSchema } from './manifest-schema.js';

/** One artifact in a builds folder, as manifest.json records it. */
export interface ArtifactEntry {
  /** The file's name in the builds folder, e.g. base.bookworm.6.1.0-28-amd64.squashfs.img. */
  name: string;
  kind: ArtifactKindName;
  size: number;
  /** Hex sha256 of the file. */
  sha256: string;
  release?: string;
  arch?: string;
  kernelVersion?: string;
  packages?: InstalledPackage[];
  /** Overlays: their packages against their base's. */
  packageDelta?: PackageDelta;
  /** inputsDigest() of what the stage was built from. */
  inputsDigest: string;
  /** Overlays: the base artifact they were built over. */
  base?: { name: string; sha256: string };
  /** Wall-clock seconds; only without a SOURCE_DATE_EPOCH (it differs from build to build). */
  buildSeconds?: number;
  /** ISO 8601 UTC: SOURCE_DATE_EPOCH when the build had one, else when the artifact was finished. */
  builtAt: string;
  /** The SOURCE_DATE_EPOCH every time in the artifact is pinned to. */
  sourceDateEpoch?: number;
  /** What in this artifact may differ between two builds of the same inputs, and why; absent when nothing known does. */
  varies?: string[];
  imgplayVersion: string;
  /** HEAD of the playbooks' git repository, when they are in one (see gitStateOf). */
  gitCommit?: string;
  /** Set when the playbooks' repository had uncommitted changes. */
  dirty?: true;
}

/** The whole of manifest.json. */
export interface Manifest {
  schemaVersion: 1;
  artifacts: ArtifactEntry[];
}

export const MANIFEST_FILE = 'manifest.json';
export const SUMS_FILE = 'SHA256SUMS';
const LOCK_FILE = '.manifest.lock';
const LOCK_TIMEOUT_MS = 120_000;
// A lock file still empty after this long lost its holder between creating it and writing its pid.
const EMPTY_LOCK_GRACE_MS = 10_000;

/** imgplay's version (host/version.ts reads package.json), as a promise for the callers that await it. */
export function imgplayVersion(): Promise<string> {
  return Promise.resolve(readVersion());
}

/**
 * The commit the playbooks in `dir` come from, and whether their repository has uncommitted changes,
 * ready to spread into an ArtifactEntry; undefined when `dir` is not in a git repository (or git cannot
 * read it). `exclude` names paths that do not count as changes, such as a builds folder inside the repository.
 */
export async function gitStateOf(dir: string, opts: { exclude?: readonly string[] } = {}): Promise<Pick<ArtifactEntry, 'gitCommit' | 'dirty'> | undefined> {
  // Reading status must not take the index lock from under a git command the user is running.
  const env = { GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' };
  const head = await execa('git', ['-C', dir, 'rev-parse', '--verify', '--quiet', 'HEAD'], { reject: false, stdin: 'ignore', env });
  const commit = head.stdout.trim();
  if (head.exitCode !== 0 || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) return undefined;
  // Only paths inside the repository can be excluded (git refuses others; they cannot make it dirty anyway).
  const top = (await execa('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { reject: false, stdin: 'ignore', env })).stdout.trim();
  const inside = (opts.exclude ?? []).map((p) => resolve(dir, p)).filter((p) => top !== '' && (p === top || p.startsWith(`${top}/`)));
  const pathspec = inside.map((p) => `:(exclude)${p}`);
  const status = await execa('git', ['-C', dir, 'status', '--porcelain', ...(pathspec.length > 0 ? ['--', ':/', ...pathspec] : [])], {
    reject: false,
    stdin: 'ignore',
    env,
  });
  if (status.exitCode !== 0) {
    throw new ImgplayError(
      `cannot tell whether the playbooks in ${dir} have uncommitted changes: git exited ${status.exitCode}\n  git -C ${dir} status --porcelain\n${status.stderr.trim()}`,
    );
  }
  return status.stdout.trim() === '' ? { gitCommit: commit } : { gitCommit: commit, dirty: true };
}

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(manifestSchema);

/** Everything wrong with a parsed manifest.json, each as "<instance path> <problem>"; empty when it is valid. */
export function validateManifest(json: unknown): string[] {
  if (validate(json)) {
    const errors: string[] = [];
    const seen = new Set<string>();
    (json as Manifest).artifacts.forEach((a, i) => {
      if (seen.has(a.name)) errors.push(`/artifacts/${i}/name '${a.name}' appears more than once`);
      seen.add(a.name);
    });
    return errors;
  }
  return (validate.errors ?? []).filter((e) => e.keyword !== 'if').map(describe);
}

function describe(e: ErrorObject): string {
  const at = e.instancePath === '' ? '/' : e.instancePath;
  if (e.keyword === 'additionalProperties') return `${at} has unknown property '${String((e.params as { additionalProperty: string }).additionalProperty)}'`;
  if (e.keyword === 'false schema') return `${at} is not allowed here`;
  if (e.keyword === 'enum') return `${at} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${at} ${e.message ?? e.keyword}`;
}

/** manifest.json of the builds folder `dir`; an empty manifest when there is none yet. */
export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 1, artifacts: [] };
    throw new ImgplayError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ImgplayError(`${path} is not JSON (${(err as Error).message}); move it aside to start a new manifest`, { cause: err });
  }
  const errors = validateManifest(json);
  if (errors.length > 0) {
    throw new ImgplayError(`${path} is not an imgplay manifest; move it aside to start a new manifest\n  ${errors.slice(0, 10).join('\n  ')}`);
  }
  return json as Manifest;
}

// One chain per builds folder: overlays finish in parallel within a process.
const chains = new Map<string, Promise<unknown>>();

/**
 * Records `entry` for the file of that name in the builds folder `dir`: checks the file's size and sha256,
 * replaces any entry of the same name, and rewrites manifest.json and SHA256SUMS atomically, one writer at
 * a time within this process and across processes.
 */
export async function recordArtifact(dir: string, entry: ArtifactEntry): Promise<void> {
  assertPlainName(entry.name, dir);
  const clean = JSON.parse(JSON.stringify(entry)) as ArtifactEntry;
  const problems = validateManifest({ schemaVersion: 1, artifacts: [clean] });
  if (problems.length > 0) throw new InternalError(`artifact entry for ${entry.name} does not fit the manifest schema:\n  ${problems.join('\n  ')}`);
  const real = await realpath(dir).catch((err: unknown) => {
    throw new ImgplayError(`cannot record ${entry.name}: builds folder ${dir} is not there (${(err as Error).message})`, { cause: err });
  });
  await checkFile(join(real, entry.name), clean);
  const previous = chains.get(real) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(() => withDirLock(real, () => rewrite(real, clean)));
  chains.set(real, mine);
  try {
    await mine;
  } finally {
    if (chains.get(real) === mine) chains.delete(real);
  }
  // The stage cache keeps what a stage recorded, to put it back when the stage is reused.
  noteRead({ kind: 'artifact', dir, entry: clean });
}

// sha256sum -c reads "<hex>  <name>" and escapes names holding a backslash or newline: refuse those,
// and anything that is not a single name inside the folder, or is the folder's own bookkeeping.
function assertPlainName(name: string, dir: string): void {
  const reserved = name === MANIFEST_FILE || name === SUMS_FILE || name.startsWith('.manifest') || name.startsWith(`.${MANIFEST_FILE}`) || name.startsWith(`.${SUMS_FILE}`);
  if (name === '' || name === '.' || name === '..' || /[/\\\n\r\0]/.test(name) || reserved) {
    throw new ImgplayError(`refusing to record artifact ${JSON.stringify(name)} in ${dir}: not a plain file name in the builds folder`);
  }
}

async function checkFile(path: string, entry: ArtifactEntry): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    throw new ImgplayError(`cannot record ${entry.name}: ${err.code === 'ENOENT' ? `${path} does not exist` : err.message}`, { cause: err });
  });
  if (!st.isFile()) throw new ImgplayError(`cannot record ${entry.name}: ${path} is not a regular file`);
  if (st.size !== entry.size) throw new ImgplayError(`cannot record ${entry.name}: the entry says ${entry.size} bytes, ${path} has ${st.size}`);
  // A file just put back from the stage cache was verified there; hashing it again would only cost time.
  const actual = (await verifiedSha256(path)) ?? (await checksumFile(path, 'sha256'));
  if (actual !== entry.sha256) throw new ImgplayError(`cannot record ${entry.name}: the entry's sha256 ${entry.sha256} is not that of ${path} (${actual})`);
}

async function rewrite(dir: string, entry: ArtifactEntry): Promise<void> {
  const manifest = await readManifest(dir);
  const artifacts = [...manifest.artifacts.filter((a) => a.name !== entry.name), entry].sort(byName);
  const next: Manifest = { schemaVersion: 1, artifacts };
  const problems = validateManifest(next);
  if (problems.length > 0) throw new InternalError(`the manifest for ${dir} would not be valid:\n  ${problems.join('\n  ')}`);
  await atomicWrite(join(dir, MANIFEST_FILE), { data: `${JSON.stringify(next, null, 2)}\n` });
  await atomicWrite(join(dir, SUMS_FILE), { data: artifacts.map((a) => `${a.sha256}  ${a.name}\n`).join('') });
}

// Code-point order: the order `LC_ALL=C sort` gives, the same on every machine.
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// A lock file made with O_EXCL holding the holder's pid; a lock whose holder is gone is broken.
async function withDirLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const path = join(dir, LOCK_FILE);
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ImgplayError(`cannot lock ${dir} to update its manifest: ${(err as Error).message}`, { cause: err });
    }
    if (await breakIfStale(path)) continue;
    if (Date.now() > deadline) {
      const holder = (await readFile(path, 'utf8').catch(() => '')).trim();
      throw new ImgplayError(`timed out after ${LOCK_TIMEOUT_MS / 1000} s waiting for ${path} (held by pid ${holder || 'unknown'}) to update the manifest`);
    }
    await sleep(10 + Math.random() * 40);
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

// Two waiters may both find the same dead holder; the one holding PATH.break re-reads the lock before
// removing it, so a lock freshly taken by the other is never removed.
async function breakIfStale(path: string): Promise<boolean> {
  const seen = await staleContent(path);
  if (seen === undefined) return false;
  const breaker = `${path}.break`;
  let fh;
  try {
    fh = await open(breaker, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // A breaker that died holding PATH.break would otherwise block everyone.
    if ((await staleContent(breaker)) !== undefined) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    await fh.writeFile(`${process.pid}\n`).finally(() => fh.close());
    if ((await staleContent(path)) === seen) {
      await unlink(path).catch(() => undefined);
      return true;
    }
    return false;
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

// The lock file's content when its holder is gone, undefined while it is held (or already gone).
async function staleContent(path: string): Promise<string | undefined> {
  const [text, st] = await Promise.all([readFile(path, 'utf8').catch(() => undefined), stat(path).catch(() => undefined)]);
  if (text === undefined || st === undefined) return undefined;
  const pid = Number(text.trim());
  if (Number.isInteger(pid) && pid > 0) return isAlive(pid) ? undefined : text;
  return Date.now() - st.mtimeMs > EMPTY_LOCK_GRACE_MS ? text : undefined;
}
