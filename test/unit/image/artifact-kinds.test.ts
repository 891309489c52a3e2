// The table of artifact kinds names, parses and describes every artifact; what the initrd's shell script
// and the stage modules do with each kind must agree with it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ARTIFACT_KINDS, artifactName, KIND_NAMES, parseArtifactName } from '../../../src/image/artifact-kinds.js';
import { manifestSchema } from '../../../src/image/manifest-schema.js';

const initrdScript = readFileSync(new URL('../../../roles/initrd/build_initrd/files/imgplay-boot', import.meta.url), 'utf8');
const initrdHook = readFileSync(new URL('../../../roles/initrd/build_initrd/files/imgplay-hook', import.meta.url), 'utf8');

describe('an artifact file name', () => {
  it.each([
    ['vmlinuz-6.1.0-28-amd64', { kind: 'kernel', kernelVersion: '6.1.0-28-amd64' }],
    ['initrd.img-6.1.0-28-amd64', { kind: 'initrd', kernelVersion: '6.1.0-28-amd64' }],
    ['base.bookworm.6.1.0-28-amd64.squashfs.img', { kind: 'base', release: 'bookworm', kernelVersion: '6.1.0-28-amd64' }],
    ['discovery.overlay.cpio.gz', { kind: 'overlay', name: 'discovery' }],
    ['raid.v2.overlay.cpio.gz', { kind: 'overlay', name: 'raid.v2' }],
  ])('%s is parsed into its kind and parts, and made back from them', (file, parts) => {
    expect(parseArtifactName(file)).toEqual(parts);
    expect(artifactName(parts.kind as (typeof KIND_NAMES)[number], parts)).toBe(file);
  });

  it.each(['SHA256SUMS', 'manifest.json', '.overlay.cpio.gz', 'base.squashfs.img', 'vmlinuz-', 'notes.txt'])('%s is no artifact', (file) => {
    expect(parseArtifactName(file)).toBeUndefined();
  });

  it('cannot be made without a part its pattern needs, or with a slash in a part', () => {
    expect(() => artifactName('base', { kernelVersion: '6.1' })).toThrow(/needs \{release\}/);
    expect(() => artifactName('overlay', { name: '../x' })).toThrow(/cannot hold a slash/);
  });
});

describe('the kinds', () => {
  it('are the kinds manifest.json allows, each with its required and forbidden fields', () => {
    const artifact = manifestSchema.definitions.artifact;
    expect(artifact.properties.kind.enum).toEqual(KIND_NAMES);
    for (const kind of KIND_NAMES) {
      const rule = artifact.allOf.find((r) => (r.if as { properties?: { kind?: { const?: string } } }).properties?.kind?.const === kind);
      expect(rule, kind).toBeDefined();
      for (const field of [...ARTIFACT_KINDS[kind].requiredFields, ...ARTIFACT_KINDS[kind].forbiddenFields]) expect(field in artifact.properties, field).toBe(true);
    }
  });

  it('mount in the booted machine as the table says: the initrd mounts the base with its fs type and has the module for it', () => {
    expect(initrdScript).toContain(`mount -t ${ARTIFACT_KINDS.base.fsType} -o loop,ro "\${base}"`);
    expect(initrdHook).toMatch(new RegExp(`manual_add_modules[^\\n]*\\b${ARTIFACT_KINDS.base.fsType}\\b`));
  });

  it('unpack in the booted machine as the table says: overlays are gzip-compressed cpio archives', () => {
    expect(ARTIFACT_KINDS.overlay.format).toBe('cpio.gz');
    expect(initrdScript).toMatch(/gzip -dc "\$\{archive\}" \| cpio -i/);
  });
});
