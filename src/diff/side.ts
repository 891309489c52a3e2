// One side of `imgplay diff`: a builds folder or its manifest.json, read and checked against the schema.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MANIFEST_FILE, type Manifest, validateManifest } from '../image/manifest.js';
import { DiffError } from './outcome.js';

/** A builds folder as `imgplay diff` reads it. */
export interface Side {
  /** The argument as given, to name the side in messages. */
  label: string;
  /** The manifest.json read. */
  manifestPath: string;
  /** The folder holding the artifacts the manifest names. */
  dir: string;
  manifest: Manifest;
}

// A manifest.json is a few MB at most (a base lists ~1000 packages); anything far larger is not one.
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** Reads `arg` (a builds folder, or a manifest.json file) as one side of a comparison; a DiffError says why it cannot. */
export async function loadSide(arg: string): Promise<Side> {
  const path = resolve(arg);
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new DiffError(`${arg}: ${err.code === 'ENOENT' ? 'no such builds folder or manifest.json' : err.message}`, { cause: err });
  });
  const manifestPath = st.isDirectory() ? join(path, MANIFEST_FILE) : path;
  const mst = st.isDirectory() ? await stat(manifestPath).catch(() => undefined) : st;
  if (mst === undefined) throw new DiffError(`${arg}: the folder has no ${MANIFEST_FILE}: it is not a builds folder (or nothing was built into it yet)`);
  if (!mst.isFile()) throw new DiffError(`${manifestPath} is not a file`);
  if (mst.size > MAX_MANIFEST_BYTES) throw new DiffError(`${manifestPath} is ${mst.size} bytes: too large for a manifest.json`);
  const text = await readFile(manifestPath, 'utf8').catch((err: Error) => {
    throw new DiffError(`cannot read ${manifestPath}: ${err.message}`, { cause: err });
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DiffError(`${manifestPath} is not JSON (${(err as Error).message})`, { cause: err });
  }
  const problems = validateManifest(json);
  if (problems.length > 0) {
    const more = problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : '';
    throw new DiffError(`${manifestPath} is not an imgplay manifest (docs/manifest.schema.json):\n  ${problems.slice(0, 10).join('\n  ')}${more}`);
  }
  return { label: arg, manifestPath, dir: st.isDirectory() ? path : dirname(path), manifest: json as Manifest };
}

