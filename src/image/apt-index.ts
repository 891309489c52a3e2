// A Debian archive suite's indexes, read the way apt reads them: the InRelease (else Release) file, then the
// Packages indexes it names, each checked against the sha256 the Release file gives before it is believed.
// They tell `imgplay lock` (and a locked build) which .deb, with which sha256, a package version is.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { ImgplayError } from '../errors.js';
import { atomicWrite } from '../host/atomic-write.js';
import { checksumData } from '../host/checksum.js';
import { deb822Fields } from './dpkg-status.js';
import { fetchBytes } from './archive-state.js';

// Debian's main Packages index is about 45 MB unpacked; anything far beyond is not one.
const MAX_INDEX_BYTES = 512 * 1024 * 1024;

/** One suite of one archive, as apt's sources name it (`deb URI SUITE`; a flat repository's suite ends in `/`). */
export interface SuiteRef {
  uri: string;
  suite: string;
}

/** What a suite's Release file says: its date, components, architectures and index files with their sha256. */
export interface ReleaseInfo {
  /** sha256:<hex> of the InRelease (or Release) file as fetched. */
  digest: string;
  date?: string | undefined;
  components: string[];
  architectures: string[];
  /** Index file path (relative to the suite's folder) to { sha256, size }. */
  files: Map<string, { sha256: string; size: number }>;
}

/** One package version an archive offers: the Packages index stanza's fields a lock needs. */
export interface IndexEntry {
  name: string;
  version: string;
  arch: string;
  /** Hex sha256 of the .deb. */
  sha256: string;
  size: number;
  /** The .deb's path relative to the archive's URI (the pool path). */
  filename: string;
}

/** The folder holding a suite's Release files and indexes. */
export function suiteBase(ref: SuiteRef): string {
  const uri = ref.uri.replace(/\/+$/, '');
  if (!ref.suite.endsWith('/')) return `${uri}/dists/${ref.suite}`;
  const sub = ref.suite.replace(/\/+$/, '').replace(/^\.\/?/, '');
  return sub === '' ? uri : `${uri}/${sub}`;
}

/** Fetches and reads a suite's InRelease (else Release) file. */
export async function fetchRelease(ref: SuiteRef, proxy?: string): Promise<ReleaseInfo> {
  const base = suiteBase(ref);
  let lastErr: unknown;
  for (const name of ['InRelease', 'Release']) {
    let bytes: Buffer;
    try {
      bytes = await fetchBytes(`${base}/${name}`, proxy);
    } catch (err) {
      lastErr = err;
      continue;
    }
    return { digest: `sha256:${checksumData(bytes, 'sha256')}`, ...parseRelease(bytes.toString('utf8')) };
  }
  throw new ImgplayError(`cannot read the Release file of ${base}: ${(lastErr as Error).message}`, { cause: lastErr });
}

/** The fields of a Release or InRelease file (an InRelease's signature armour is taken off, not checked). */
export function parseRelease(text: string): Omit<ReleaseInfo, 'digest'> {
  let body = text;
  const signed = /-----BEGIN PGP SIGNED MESSAGE-----\n(?:[^\n]+\n)*\n([\s\S]*?)\n-----BEGIN PGP SIGNATURE-----/.exec(text);
  if (signed?.[1] !== undefined) body = signed[1].replace(/^- /gm, '');
  const fields = deb822Fields(body.split(/\n\s*\n/)[0] ?? '');
  const files = new Map<string, { sha256: string; size: number }>();
  for (const line of (fields.get('sha256') ?? '').split('\n')) {
    const m = /^\s*([0-9a-f]{64})\s+(\d+)\s+(\S+)\s*$/.exec(line);
    if (m) files.set(m[3]!, { sha256: m[1]!, size: Number(m[2]) });
  }
  const words = (f: string) => (fields.get(f) ?? '').split(/\s+/).filter((w) => w !== '');
  return { date: fields.get('date'), components: words('components'), architectures: words('architectures'), files };
}

/**
 * The Packages indexes of `ref` for `archs` (binary-<arch> of every component, and binary-all when the suite
 * has one; a flat repository's own Packages file), each verified against the Release file's sha256 and kept
 * under `cacheDir/indexes/<sha256>` so the next lock reads it from there. Returns their entries by
 * `name version arch`, and which index files were read.
 */
export async function fetchPackages(ref: SuiteRef, release: ReleaseInfo, archs: readonly string[], cacheDir: string, proxy?: string): Promise<{ entries: Map<string, IndexEntry>; indexes: string[] }> {
  const flat = ref.suite.endsWith('/');
  const stems = flat
    ? ['Packages']
    : release.components.flatMap((c) => [...new Set([...archs.filter((a) => a !== 'all'), 'all'])].map((a) => `${c}/binary-${a}/Packages`));
  const entries = new Map<string, IndexEntry>();
  const indexes: string[] = [];
  for (const stem of stems) {
    const text = await fetchIndex(ref, release, stem, cacheDir, proxy);
    if (text === undefined) continue;
    indexes.push(stem);
    for (const e of parsePackages(text)) {
      const key = entryKey(e);
      if (!entries.has(key)) entries.set(key, e);
    }
  }
  if (indexes.length === 0) throw new ImgplayError(`${suiteBase(ref)} names no Packages index for ${archs.join(', ') || 'any architecture'} in its Release file`);
  return { entries, indexes };
}

/** The key an index entry is found by. */
export function entryKey(p: { name: string; version: string; arch: string }): string {
  return `${p.name} ${p.version} ${p.arch}`;
}

// One Packages index, in the first form the Release file lists (.gz, .xz, plain), verified by its sha256.
async function fetchIndex(ref: SuiteRef, release: ReleaseInfo, stem: string, cacheDir: string, proxy?: string): Promise<string | undefined> {
  for (const [suffix, unpack] of [
    ['.gz', async (b: Buffer) => gunzipSync(b, { maxOutputLength: MAX_INDEX_BYTES })],
    ['.xz', async (b: Buffer) => Buffer.from((await execa('xz', ['-dc'], { input: b, encoding: 'buffer', maxBuffer: MAX_INDEX_BYTES })).stdout)],
    ['', async (b: Buffer) => b],
  ] as const) {
    const listed = release.files.get(stem + suffix);
    if (listed === undefined) continue;
    const kept = join(cacheDir, 'indexes', listed.sha256);
    const cached: Buffer | undefined = await readFile(kept).catch(() => undefined);
    let bytes: Buffer;
    if (cached !== undefined && checksumData(cached, 'sha256') === listed.sha256) bytes = cached;
    else {
      const url = `${suiteBase(ref)}/${stem}${suffix}`;
      bytes = await fetchBytes(url, proxy, MAX_INDEX_BYTES).catch((err: unknown) => {
        throw new ImgplayError(`cannot read ${url}: ${(err as Error).message}`, { cause: err });
      });
      const got = checksumData(bytes, 'sha256');
      if (got !== listed.sha256) throw new ImgplayError(`${url} is not the index its Release file names: sha256 ${got}, the Release file says ${listed.sha256}`);
      await mkdir(join(cacheDir, 'indexes'), { recursive: true });
      await atomicWrite(kept, { data: bytes });
    }
    return (await unpack(bytes)).toString('utf8');
  }
  return undefined;
}

/** The package versions a Packages index lists (stanzas without a name, version, sha256 or filename are passed over). */
export function parsePackages(text: string): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (const stanza of text.split(/\n[ \t]*\n/)) {
    const f = deb822Fields(stanza);
    const name = f.get('package');
    const version = f.get('version');
    const sum = f.get('sha256');
    const filename = f.get('filename');
    if (name === undefined || version === undefined || sum === undefined || filename === undefined || !/^[0-9a-f]{64}$/.test(sum)) continue;
    out.push({ name, version, arch: f.get('architecture') ?? 'all', sha256: sum, size: Number(f.get('size') ?? 0), filename });
  }
  return out;
}
