import { describe, expect, it } from 'vitest';
import { compareManifests, differs } from '../../../src/diff/compare.js';
import { formatDiff } from '../../../src/diff/text.js';
import type { ArtifactEntry, Manifest } from '../../../src/image/manifest.js';

const BASE = 'base.bookworm.6.1.0-28-amd64.squashfs.img';
const common = { inputsDigest: `sha256:${'1'.repeat(64)}`, builtAt: '2023-11-14T22:13:20.000Z', imgplayVersion: '0.1.0', sourceDateEpoch: 1700000000 };

function base(extra: Partial<ArtifactEntry> = {}): ArtifactEntry {
  return {
    name: BASE,
    kind: 'base',
    size: 78_000_000,
    sha256: 'a'.repeat(64),
    release: 'bookworm',
    kernelVersion: '6.1.0-28-amd64',
    packages: [
      { name: 'bash', version: '5.2.15-2+b2', arch: 'amd64' },
      { name: 'libssl3', version: '3.0.11-1~deb12u1', arch: 'amd64' },
      { name: 'nano', version: '7.2-1', arch: 'amd64' },
    ],
    ...common,
    ...extra,
  };
}

function overlay(name: string, extra: Partial<ArtifactEntry> = {}): ArtifactEntry {
  return { name: `${name}.overlay.cpio.gz`, kind: 'overlay', size: 24_000_000, sha256: 'b'.repeat(64), base: { name: BASE, sha256: 'a'.repeat(64) }, ...common, ...extra };
}

function kernel(kver = '6.1.0-28-amd64'): ArtifactEntry {
  return { name: `vmlinuz-${kver}`, kind: 'kernel', size: 8_000_000, sha256: 'c'.repeat(64), kernelVersion: kver, ...common };
}

const manifest = (...artifacts: ArtifactEntry[]): Manifest => ({ schemaVersion: 1, artifacts });

describe('comparing two manifests', () => {
  it('finds nothing between a manifest and itself, and says they are identical', () => {
    const m = manifest(base(), kernel(), overlay('discovery'));
    const d = compareManifests(m, structuredClone(m));
    expect(differs(d)).toBe(false);
    expect(d.same.map((s) => s.name)).toEqual([BASE, 'discovery.overlay.cpio.gz', 'vmlinuz-6.1.0-28-amd64']);
    expect(formatDiff({ a: 'a/manifest.json', b: 'b/manifest.json', identical: true, diff: d, files: new Map() }, 50)).toContain('identical: 3 artifact(s)');
  });

  it('lists packages added, removed and changed from the old version to the new one, keyed by name and arch', () => {
    const newer = base({
      sha256: 'd'.repeat(64),
      size: 78_102_400,
      packages: [
        { name: 'bash', version: '5.2.15-2+b2', arch: 'amd64' },
        { name: 'curl', version: '7.88.1-10+deb12u5', arch: 'amd64' },
        { name: 'libssl3', version: '3.0.11-1~deb12u2', arch: 'amd64' },
      ],
    });
    const d = compareManifests(manifest(base()), manifest(newer));
    expect(d.changed).toHaveLength(1);
    const c = d.changed[0]!;
    expect(c.sameBytes).toBe(false);
    expect(c.sizeDelta).toBe(102_400);
    expect(c.packages).toEqual({
      added: [{ name: 'curl', version: '7.88.1-10+deb12u5', arch: 'amd64' }],
      removed: [{ name: 'nano', version: '7.2-1', arch: 'amd64' }],
      changed: [{ name: 'libssl3', arch: 'amd64', from: '3.0.11-1~deb12u1', to: '3.0.11-1~deb12u2' }],
    });
    const text = formatDiff({ a: 'a', b: 'b', identical: false, diff: d, files: new Map() }, 50);
    expect(text).toContain('~ libssl3:amd64 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2');
    expect(text).toContain('+ curl:amd64 7.88.1-10+deb12u5');
    expect(text).toContain('- nano:amd64 7.2-1');
    expect(text).toContain('74.4 MiB -> 74.5 MiB (+102400 bytes, +100.0 KiB)');
  });

  it('pairs a base and a kernel for a new kernel version by kind, as renamed, and names the field that moved', () => {
    const newBase = base({ name: 'base.bookworm.6.1.0-29-amd64.squashfs.img', kernelVersion: '6.1.0-29-amd64', sha256: 'e'.repeat(64) });
    const d = compareManifests(manifest(base(), kernel()), manifest(newBase, kernel('6.1.0-29-amd64')));
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed.map((c) => [c.kind, c.a.name, c.b.name, c.renamed])).toEqual([
      ['base', BASE, 'base.bookworm.6.1.0-29-amd64.squashfs.img', true],
      ['kernel', 'vmlinuz-6.1.0-28-amd64', 'vmlinuz-6.1.0-29-amd64', true],
    ]);
    expect(d.changed[0]!.fields).toEqual([{ field: 'kernelVersion', a: '6.1.0-28-amd64', b: '6.1.0-29-amd64' }]);
  });

  it('lists an overlay only one side has as added or removed, and pairs overlays by their name, never across names', () => {
    const d = compareManifests(manifest(base(), overlay('discovery'), overlay('old-tool')), manifest(base(), overlay('discovery'), overlay('oem-example')));
    expect(d.removed.map((a) => a.name)).toEqual(['old-tool.overlay.cpio.gz']);
    expect(d.added.map((a) => a.name)).toEqual(['oem-example.overlay.cpio.gz']);
    expect(d.changed).toEqual([]);
  });

  it('reports recorded fields that differ even when the bytes are the same, and ignores how long a build took', () => {
    const d = compareManifests(manifest(kernel()), manifest({ ...kernel(), gitCommit: 'f'.repeat(40), buildSeconds: 12 }));
    expect(d.changed[0]!.sameBytes).toBe(true);
    expect(d.changed[0]!.fields).toEqual([{ field: 'gitCommit', a: undefined, b: 'f'.repeat(40) }]);
    expect(differs(compareManifests(manifest(kernel()), manifest({ ...kernel(), buildSeconds: 12 })))).toBe(false);
  });

  it('does not count the key order of an object field as a difference', () => {
    const reordered = overlay('discovery', { base: JSON.parse(`{"sha256":"${'a'.repeat(64)}","name":"${BASE}"}`) as { name: string; sha256: string } });
    expect(differs(compareManifests(manifest(overlay('discovery')), manifest(reordered)))).toBe(false);
  });

  it('says when only one side records packages', () => {
    const { packages: _dropped, ...bare } = base();
    const d = compareManifests(manifest(bare), manifest(base()));
    expect(d.changed[0]!.packagesOnlyIn).toBe('b');
  });
});
