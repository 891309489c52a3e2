// Two manifests compared artifact by artifact: which artifacts came and went, and for each one both
// have, its bytes, size, packages and every other recorded field. Pure: nothing is read from disk.
import { parseArtifactName, type ArtifactKindName } from '../image/artifact-kinds.js';
import { packageDelta, type PackageDelta } from '../image/dpkg-status.js';
import type { ArtifactEntry, Manifest } from '../image/manifest.js';

/** An artifact as the comparison names it: enough to tell which file it is. */
export interface ArtifactRef {
  name: string;
  kind: ArtifactKindName;
  size: number;
  sha256: string;
}

/** A recorded field whose value differs (JSON values; undefined where a side lacks the field). */
export interface FieldChange {
  field: string;
  a: unknown;
  b: unknown;
}

/** One artifact both sides have (same name, or the one artifact of its kind and name on each side). */
export interface ArtifactComparison {
  kind: ArtifactKindName;
  a: ArtifactRef;
  b: ArtifactRef;
  /** The names differ: matched by kind (a base or kernel for another kernel version, say). */
  renamed: boolean;
  sameBytes: boolean;
  /** b's size minus a's. */
  sizeDelta: number;
  /** Packages added, removed and changed from a to b; undefined when a side records no packages. */
  packages?: PackageDelta;
  /** Which sides record packages, when not both. */
  packagesOnlyIn?: 'a' | 'b';
  /** Every other recorded field that differs (kernelVersion, inputsDigest, gitCommit, base ...). */
  fields: FieldChange[];
}

/** Everything that differs between two manifests. */
export interface ManifestDiff {
  /** Only in b. */
  added: ArtifactRef[];
  /** Only in a. */
  removed: ArtifactRef[];
  /** In both, with a difference. */
  changed: ArtifactComparison[];
  /** In both, nothing recorded differs. */
  same: ArtifactRef[];
}

// Compared on their own (above), or a measure of the build host's speed rather than of the artifact.
const NOT_FIELDS = new Set(['name', 'kind', 'size', 'sha256', 'packages', 'packageDelta', 'buildSeconds']);

/** The differences between manifest a and manifest b. */
export function compareManifests(a: Manifest, b: Manifest): ManifestDiff {
  const pairs: Array<[ArtifactEntry, ArtifactEntry]> = [];
  const inB = new Map(b.artifacts.map((e) => [e.name, e]));
  const leftA: ArtifactEntry[] = [];
  for (const ea of a.artifacts) {
    const eb = inB.get(ea.name);
    if (eb !== undefined && eb.kind === ea.kind) {
      pairs.push([ea, eb]);
      inB.delete(ea.name);
    } else leftA.push(ea);
  }
  // What is left pairs up by identity: its kind and, for kinds named by a name part (overlays), that
  // name; only when each side has exactly one such artifact (a base for a newer kernel, say).
  const byIdentity = (list: Iterable<ArtifactEntry>) => {
    const groups = new Map<string, ArtifactEntry[]>();
    for (const e of list) {
      const key = `${e.kind}\0${parseArtifactName(e.name)?.name ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    return groups;
  };
  const restA = byIdentity(leftA);
  const restB = byIdentity(inB.values());
  const added: ArtifactEntry[] = [];
  const removed: ArtifactEntry[] = [];
  for (const [key, as] of restA) {
    const bs = restB.get(key) ?? [];
    if (as.length === 1 && bs.length === 1) pairs.push([as[0]!, bs[0]!]);
    else {
      removed.push(...as);
      added.push(...bs);
    }
    restB.delete(key);
  }
  for (const bs of restB.values()) added.push(...bs);
  const diff: ManifestDiff = { added: added.map(ref).sort(byName), removed: removed.map(ref).sort(byName), changed: [], same: [] };
  for (const [ea, eb] of pairs) {
    const c = compareArtifacts(ea, eb);
    if (c.renamed || !c.sameBytes || c.sizeDelta !== 0 || c.fields.length > 0 || c.packagesOnlyIn !== undefined || hasChanges(c.packages)) diff.changed.push(c);
    else diff.same.push(ref(eb));
  }
  diff.changed.sort((x, y) => byName(x.b, y.b));
  diff.same.sort(byName);
  return diff;
}

/** Whether the diff shows any difference at all. */
export function differs(d: ManifestDiff): boolean {
  return d.added.length + d.removed.length + d.changed.length > 0;
}

/** Artifact a against artifact b, field by field. */
export function compareArtifacts(a: ArtifactEntry, b: ArtifactEntry): ArtifactComparison {
  const c: ArtifactComparison = {
    kind: b.kind,
    a: ref(a),
    b: ref(b),
    renamed: a.name !== b.name,
    sameBytes: a.sha256 === b.sha256,
    sizeDelta: b.size - a.size,
    fields: [],
  };
  if (a.packages !== undefined && b.packages !== undefined) c.packages = packageDelta(a.packages, b.packages);
  else if (a.packages !== undefined || b.packages !== undefined) c.packagesOnlyIn = a.packages !== undefined ? 'a' : 'b';
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => !NOT_FIELDS.has(f)).sort();
  for (const field of fields) {
    const va = (a as unknown as Record<string, unknown>)[field];
    const vb = (b as unknown as Record<string, unknown>)[field];
    if (canonical(va) !== canonical(vb)) c.fields.push({ field, a: va, b: vb });
  }
  return c;
}

// Key order is not a difference: a hand-edited manifest may write `base` as {sha256, name}.
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

function hasChanges(p: PackageDelta | undefined): boolean {
  return p !== undefined && p.added.length + p.removed.length + p.changed.length > 0;
}

function ref(e: ArtifactEntry): ArtifactRef {
  return { name: e.name, kind: e.kind, size: e.size, sha256: e.sha256 };
}

// Code-point order, as manifest.json sorts its entries.
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
