// What a builds folder offers to boot: its kernels, initrds, bases and overlays, each with the kernel
// version it belongs to (manifest.json's word when it has one, else the version in the file's name).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactName, parseArtifactName } from '../image/artifact-kinds.js';
import { readManifest, type ArtifactEntry } from '../image/manifest.js';

/** One bootable file of a builds folder. */
export interface Artifact {
  name: string;
  kind: ArtifactEntry['kind'];
  /** Undefined for overlays and for files whose name carries no version and the manifest none either. */
  kernelVersion: string | undefined;
  /** Where the version came from, for error messages. */
  versionFrom: 'manifest' | 'name' | undefined;
  mtimeMs: number;
}

/** Everything in a builds folder that can be booted, by kind. */
export interface BuildsFolder {
  dir: string;
  artifacts: Map<string, Artifact>;
}

/** Reads the folder's listing and manifest.json (not the files' contents: the initrd verifies those). */
export async function scanBuilds(dir: string): Promise<BuildsFolder> {
  const manifest = await readManifest(dir);
  const recorded = new Map(manifest.artifacts.map((a) => [a.name, a]));
  const artifacts = new Map<string, Artifact>();
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.')) continue;
    const entry = recorded.get(name);
    const byName = parseArtifactName(name);
    const kind = entry?.kind ?? byName?.kind;
    if (kind === undefined) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (!st?.isFile()) continue;
    const kernelVersion = entry?.kernelVersion ?? byName?.kernelVersion;
    const versionFrom = entry?.kernelVersion !== undefined ? 'manifest' : byName?.kernelVersion !== undefined ? 'name' : undefined;
    artifacts.set(name, { name, kind, kernelVersion: kind === 'overlay' ? undefined : kernelVersion, versionFrom: kind === 'overlay' ? undefined : versionFrom, mtimeMs: st.mtimeMs });
  }
  return { dir, artifacts };
}

/** Compares kernel versions as dpkg would order the usual ones: numeric runs by value, the rest by text. */
export function compareKernelVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The artifacts of one kind, newest kernel version first, then most recently built first. */
export function newestFirst(folder: BuildsFolder, kind: ArtifactEntry['kind']): Artifact[] {
  return [...folder.artifacts.values()]
    .filter((a) => a.kind === kind)
    .sort((x, y) => compareKernelVersions(y.kernelVersion ?? '', x.kernelVersion ?? '') || y.mtimeMs - x.mtimeMs);
}

/**
 * The default set when no profile names files: the newest kernel version that has a kernel, an initrd
 * and a base; failing that the newest of each (so the start-up check names what disagrees).
 */
export function defaultSet(folder: BuildsFolder): { kernel?: string; initrd?: string; base?: string } {
  const kernels = newestFirst(folder, 'kernel');
  const initrds = newestFirst(folder, 'initrd');
  const bases = newestFirst(folder, 'base');
  for (const k of kernels) {
    const initrd = initrds.find((i) => i.kernelVersion === k.kernelVersion);
    const base = bases.find((b) => b.kernelVersion === k.kernelVersion);
    if (initrd && base) return { kernel: k.name, initrd: initrd.name, base: base.name };
  }
  return { kernel: kernels[0]?.name, initrd: initrds[0]?.name, base: bases[0]?.name };
}

/** The overlay a file or short name means: `discovery` and `discovery.overlay.cpio.gz` are the same. */
export function overlayFile(name: string): string {
  return parseArtifactName(name)?.kind === 'overlay' ? name : artifactName('overlay', { name });
}
