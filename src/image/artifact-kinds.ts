// The kinds of artifact a builds folder holds, written once: each kind's file name (made and parsed),
// the file system or archive format it is in, and what manifest.json records for it. The manifest, its
// schema, the kernel-set check, the boot server and the stage modules all read this table, so a new kind
// (an erofs base, say) is one entry here and its builder.

/** What a file name says about its artifact. */
export interface NameParts {
  /** The kernel the artifact belongs to (kernel, initrd, base). */
  kernelVersion?: string;
  /** The Debian release a base was bootstrapped from. */
  release?: string;
  /** An overlay's name. */
  name?: string;
}

/** One kind of artifact. */
export interface ArtifactKind {
  /** How the file is named; `{kver}`, `{release}` and `{name}` are the parts. */
  pattern: string;
  /** How the booted machine (or the overlay stage) mounts or unpacks it. */
  format: 'squashfs' | 'cpio.gz' | 'linux kernel' | 'initramfs';
  /** For kinds that are mounted: the `mount -t` type. */
  fsType?: string;
  /** The manifest fields this kind must carry. */
  requiredFields: readonly string[];
  /** The manifest fields this kind must not carry. */
  forbiddenFields: readonly string[];
  doc: string;
}

/** Every artifact kind. */
export const ARTIFACT_KINDS = {
  base: {
    pattern: 'base.{release}.{kver}.squashfs.img',
    format: 'squashfs',
    fsType: 'squashfs',
    requiredFields: [],
    forbiddenFields: ['base', 'packageDelta'],
    doc: 'the root file system, read-only; its kernel modules are for {kver}',
  },
  overlay: {
    pattern: '{name}.overlay.cpio.gz',
    format: 'cpio.gz',
    requiredFields: ['base'],
    forbiddenFields: [],
    doc: "one overlay's changes over the base (whiteouts included), newc cpio, gzip",
  },
  kernel: {
    pattern: 'vmlinuz-{kver}',
    format: 'linux kernel',
    requiredFields: ['kernelVersion'],
    forbiddenFields: ['base', 'packageDelta'],
    doc: 'the kernel, copied from the initrd build tree',
  },
  initrd: {
    pattern: 'initrd.img-{kver}',
    format: 'initramfs',
    requiredFields: ['kernelVersion'],
    forbiddenFields: ['base', 'packageDelta'],
    doc: "the initramfs-tools initrd with imgplay's boot script, for the same kernel",
  },
} as const satisfies Record<string, ArtifactKind>;

/** The name of a kind of artifact. */
export type ArtifactKindName = keyof typeof ARTIFACT_KINDS;

/** Every kind's name, in the table's order. */
export const KIND_NAMES = Object.keys(ARTIFACT_KINDS) as ArtifactKindName[];

const PART_RE: Record<string, string> = { kver: '(?<kver>.+)', release: '(?<release>[^.]+)', name: '(?<name>[^./][^/]*)' };

function patternRegExp(pattern: string): RegExp {
  const parts = pattern.split(/(\{\w+\})/).map((p) => {
    const m = /^\{(\w+)\}$/.exec(p);
    return m ? PART_RE[m[1]!]! : p.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('')}$`);
}

const REGEXPS = Object.fromEntries(KIND_NAMES.map((k) => [k, patternRegExp(ARTIFACT_KINDS[k].pattern)])) as Record<ArtifactKindName, RegExp>;

/** The kind and parts a file's name announces, or undefined for a name no kind makes. */
export function parseArtifactName(file: string): ({ kind: ArtifactKindName } & NameParts) | undefined {
  for (const kind of KIND_NAMES) {
    const g = REGEXPS[kind].exec(file)?.groups;
    if (g === undefined) continue;
    return {
      kind,
      ...(g.kver !== undefined ? { kernelVersion: g.kver } : {}),
      ...(g.release !== undefined ? { release: g.release } : {}),
      ...(g.name !== undefined ? { name: g.name } : {}),
    };
  }
  return undefined;
}

/** The file name of an artifact of `kind` with these parts; throws naming a part the pattern needs and lacks. */
export function artifactName(kind: ArtifactKindName, parts: NameParts): string {
  const values: Record<string, string | undefined> = { kver: parts.kernelVersion, release: parts.release, name: parts.name };
  return ARTIFACT_KINDS[kind].pattern.replace(/\{(\w+)\}/g, (_, part: string) => {
    const v = values[part];
    if (v === undefined || v === '') throw new Error(`a ${kind} artifact's name (${ARTIFACT_KINDS[kind].pattern}) needs {${part}}`);
    if (v.includes('/')) throw new Error(`{${part}} of a ${kind} artifact's name cannot hold a slash: '${v}'`);
    return v;
  });
}
