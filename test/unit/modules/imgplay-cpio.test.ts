// imgplay_cpio's arguments: the overlay's folder (laid out as imgplay_overlay lays it out) or its upper
// directory, and the base image, given or taken from the imgplay_base_image fact.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listCpio } from '../../../src/image/cpio.js';
import { type Manifest, readManifest } from '../../../src/image/manifest.js';
import { imgplayCpio } from '../../../src/modules/imgplay-cpio.js';
import { buildTree, cases, makeContext, prepare, type TreeSpec } from '../../support/module-cases.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

const status = (...pkgs: string[]): string => pkgs.map((p) => `Package: ${p}\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n`).join('\n');

// The base's manifest entry, as imgplay_squashfs records it beside the image.
const BASE_ENTRY: Manifest['artifacts'][number] = { name: 'base.img', kind: 'base', size: 6, sha256: 'a'.repeat(64), inputsDigest: `sha256:${'0'.repeat(64)}`, builtAt: '2026-01-01T00:00:00Z', imgplayVersion: '0' };

// An overlay folder as imgplay_overlay leaves it once unmounted (the upper layer, the base still mounted at
// lower), and the base image with its manifest entry.
const OVERLAY: TreeSpec = {
  'ov/rw/upper/etc/motd': 'provisioned\n',
  'ov/rw/upper/var/lib/dpkg/status': status('base-files', 'lldpd'),
  'ov/lower/var/lib/dpkg/status': status('base-files'),
  'base.img': 'squash',
  'manifest.json': JSON.stringify({ schemaVersion: 1, artifacts: [BASE_ENTRY] }),
};
const BASE = { imgplay_base_image: '{root}/base.img' };
const out = { dest: '{files}/builds', name: 'ov.overlay.cpio.gz' };
const tools = lacking(file('/usr/bin/cpio', 'cpio'), file('/usr/bin/gzip', 'gzip'));

describe.skipIf(skipWithout(tools))('imgplay_cpio', () => {
  cases(imgplayCpio, [
    {
      name: "archives the upper layer of the overlay's folder over the base the task host's fact names",
      args: { overlay: '{root}/ov', ...out },
      before: OVERLAY,
      vars: BASE,
      changed: true,
      again: true,
      result: { name: 'ov.overlay.cpio.gz', path: '{files}/builds/ov.overlay.cpio.gz', base: '{root}/base.img' },
      check: { result: { path: '{files}/builds/ov.overlay.cpio.gz', base: '{root}/base.img' } },
      targets: ['local'],
    },
    {
      name: 'archives an upper directory given as such',
      args: { upper: '{root}/ov/rw/upper', ...out },
      before: OVERLAY,
      vars: BASE,
      changed: true,
      again: true,
      result: { name: 'ov.overlay.cpio.gz' },
      targets: ['local'],
    },
    {
      name: "compares with the base the fact of localhost names (an overlay host's task delegated to the build host)",
      args: { overlay: '{root}/ov', ...out },
      before: OVERLAY,
      vars: { hostvars: { localhost: { imgplay_base_image: '{root}/base.img' } } },
      changed: true,
      again: true,
      result: { base: '{root}/base.img' },
      check: { result: { base: '{root}/base.img' } },
      targets: ['local'],
    },
    {
      name: 'takes an explicit base over the fact',
      args: { overlay: '{root}/ov', base: '{root}/base.img', ...out },
      before: OVERLAY,
      vars: { imgplay_base_image: '{root}/elsewhere.img' },
      changed: true,
      again: true,
      result: { base: '{root}/base.img' },
      targets: ['local'],
    },
    {
      name: 'fails when the overlay folder has no upper layer',
      args: { overlay: '{root}/none', ...out },
      before: OVERLAY,
      vars: BASE,
      error: "the overlay's upper directory {root}/none/rw/upper does not exist",
      targets: ['local'],
    },
    {
      name: 'fails with neither base nor fact, archiving nothing',
      args: { overlay: '{root}/ov', ...out },
      before: OVERLAY,
      error: 'no base image the overlay was built over: give base, or build the base first (imgplay_squashfs sets the imgplay_base_image fact of the build host)',
      targets: ['local'],
    },
    {
      name: 'fails when the base has no manifest entry beside it',
      args: { overlay: '{root}/ov', base: '{root}/ov/rw/upper/etc/motd', ...out },
      before: OVERLAY,
      error: 'the base image {root}/ov/rw/upper/etc/motd has no entry in the manifest.json beside it',
      targets: ['local'],
    },
    { name: 'refuses both overlay and upper', args: { overlay: '/o', upper: '/o/rw/upper', ...out }, invalid: 'parameters are mutually exclusive: overlay|upper', targets: ['local'] },
    { name: 'refuses both overlay and lower', args: { overlay: '/o', lower: '/o/lower', ...out }, invalid: 'parameters are mutually exclusive: overlay|lower', targets: ['local'] },
    { name: 'refuses neither overlay nor upper', args: out, invalid: 'one of the following is required: overlay, upper', targets: ['local'] },
  ]);

  describe('what it records', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'imgplay-cpio-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("records the package delta against the base mounted in the overlay's folder, and the base the fact names", async () => {
      await buildTree(dir, OVERLAY);
      const builds = join(dir, 'builds');
      const args = await prepare(imgplayCpio, { overlay: join(dir, 'ov'), dest: builds, name: 'ov.overlay.cpio.gz' });
      const r = await imgplayCpio.run(makeContext({ args, vars: { hostvars: { localhost: { imgplay_base_image: join(dir, 'base.img') } } } }));
      expect(r.failed, r.msg).toBeUndefined();
      const entry = (await readManifest(builds)).artifacts.find((a) => a.name === 'ov.overlay.cpio.gz');
      expect(entry?.packageDelta?.added.map((p) => p.name)).toEqual(['lldpd']);
      expect(entry?.base).toEqual({ name: 'base.img', sha256: 'a'.repeat(64) });
      expect((await listCpio(join(builds, 'ov.overlay.cpio.gz'))).map((e) => e.path)).toContain('etc/motd');
    });
  });
});
