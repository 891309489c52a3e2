// The stage modules handing on to each other as all.yml uses them: imgplay_squashfs leaves the base image as
// the imgplay_base_image fact, imgplay_overlay mounts over it by default and names every folder it made, and
// imgplay_cpio archives the overlay from its folder alone. Real mounts, each run fresh, again and in check mode.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnection } from '../../src/connection/local.js';
import { listCpio } from '../../src/image/cpio.js';
import { releaseAll } from '../../src/image/build-lock.js';
import { readManifest } from '../../src/image/manifest.js';
import { activeGuards } from '../../src/host/mount-guard.js';
import { isMountPoint, mountTable, mountsUnder, removeTree } from '../../src/host/mount-table.js';
import { imgplayCpio } from '../../src/modules/imgplay-cpio.js';
import { imgplayOverlay } from '../../src/modules/imgplay-overlay.js';
import { imgplaySquashfs } from '../../src/modules/imgplay-squashfs.js';
import type { Module, ModuleResult } from '../../src/modules/types.js';
import { mountsSnapshot } from '../support/minbase.js';
import { buildTree, makeContext, prepare } from '../support/module-cases.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';

const STATUS = 'Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n';
let scratch: string;
let before: string;
let conn: LocalConnection;

beforeAll(async () => {
  before = await mountsSnapshot();
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-overlay-modules-')));
});
afterEach(async () => {
  await conn?.close();
  expect(activeGuards(), 'guards left holding mounts').toEqual([]);
});
afterAll(async () => {
  releaseAll();
  expect(await mountsSnapshot()).toBe(before);
  await removeTree(scratch);
});

async function run(mod: Module<unknown>, args: Record<string, unknown>, vars: Record<string, unknown> = {}, check = false): Promise<ModuleResult> {
  return mod.run(makeContext({ args: await prepare(mod, args), conn, check, vars: { playbook_dir: scratch, ...vars } }));
}

// A small base tree squashed by the module, which returns the fact the next stages read.
async function squashedBase(at: string): Promise<{ builds: string; image: string; fact: ModuleResult['ansible_facts'] }> {
  const tree = join(at, 'basefs');
  await buildTree(tree, { 'etc/os-release': 'VERSION_CODENAME=bookworm\n', 'etc/motd': 'base\n', 'var/lib/dpkg/status': STATUS, 'lib/modules/6.1.0-27-amd64/modules.dep': '' });
  const builds = join(at, 'builds');
  const r = await run(imgplaySquashfs as Module<unknown>, { root: tree, dest: builds, compression: 'gzip' });
  expect(r.failed, r.msg).toBeUndefined();
  return { builds, image: r.path as string, fact: r.ansible_facts };
}

const need = lacking(root, file('/usr/bin/mksquashfs', 'squashfs-tools'), file('/usr/bin/cpio', 'cpio'));

describe.skipIf(skipWithout(need))('the stage modules hand on to each other', () => {
  it('imgplay_squashfs sets imgplay_base_image to the image it writes, in check mode the image it would write', async () => {
    conn = new LocalConnection();
    const at = join(scratch, 'squash');
    await buildTree(join(at, 'basefs'), { 'etc/os-release': 'VERSION_CODENAME=bookworm\n', 'lib/modules/6.1.0-27-amd64/modules.dep': '' });
    const checked = await run(imgplaySquashfs as Module<unknown>, { root: join(at, 'basefs'), dest: join(at, 'builds') }, {}, true);
    const image = join(at, 'builds', 'base.bookworm.6.1.0-27-amd64.squashfs.img');
    expect(checked).toMatchObject({ changed: true, path: image, ansible_facts: { imgplay_base_image: image } });
    expect(existsSync(join(at, 'builds'))).toBe(false);
    const { image: built, fact } = await squashedBase(at);
    expect(built).toBe(image);
    expect(fact).toEqual({ imgplay_base_image: image });
  });

  it('imgplay_overlay mounts the base the fact names: fresh, again and in check mode, with every folder in its result', async () => {
    conn = new LocalConnection();
    const at = join(scratch, 'mount');
    const { image } = await squashedBase(at);
    // An overlay host's task delegated to the build host: the fact is localhost's.
    const vars = { hostvars: { localhost: { imgplay_base_image: image } } };
    const dir = join(at, 'overlays', 'discovery');
    const paths = { dir, merged: join(dir, 'merged'), upper: join(dir, 'rw/upper'), work: join(dir, 'rw/work'), lower: join(dir, 'lower'), base: image };
    const args = { dir, size: '64m' };

    expect(await run(imgplayOverlay as Module<unknown>, args, vars, true)).toEqual({ changed: true, ...paths });
    expect(existsSync(dir), 'check mode made nothing').toBe(false);

    expect(await run(imgplayOverlay as Module<unknown>, args, vars)).toEqual({ changed: true, ...paths });
    const table = await mountTable();
    expect([paths.lower, join(dir, 'rw'), paths.merged].map((p) => isMountPoint(table, p))).toEqual([true, true, true]);
    expect(await readdir(join(paths.merged, 'etc'))).toContain('motd');

    expect(await run(imgplayOverlay as Module<unknown>, args, vars)).toEqual({ changed: false, ...paths });
    expect(await run(imgplayOverlay as Module<unknown>, args, vars, true)).toEqual({ changed: false, ...paths });

    const gone = await run(imgplayOverlay as Module<unknown>, { dir, state: 'absent' }, vars);
    expect(gone).toEqual({ changed: true, dir, merged: paths.merged, upper: paths.upper, work: paths.work });
    expect(existsSync(dir)).toBe(false);
    expect(mountsUnder(await mountTable(), at)).toEqual([]);
  });

  it('imgplay_overlay takes an explicit base over the fact, and fails with neither', async () => {
    conn = new LocalConnection();
    const at = join(scratch, 'explicit');
    const { image } = await squashedBase(at);
    const dir = join(at, 'overlays', 'one');
    const explicit = await run(imgplayOverlay as Module<unknown>, { dir, base: join(at, 'missing.img') }, { imgplay_base_image: image });
    expect(explicit).toMatchObject({ failed: true, msg: `the base image ${join(at, 'missing.img')} does not exist (build the base first)` });
    const none = await run(imgplayOverlay as Module<unknown>, { dir });
    expect(none).toMatchObject({ failed: true, msg: 'no base image to mount: give base, or build the base first (imgplay_squashfs sets the imgplay_base_image fact of the build host)' });
    expect(existsSync(dir)).toBe(false);
  });

  it('imgplay_cpio archives an overlay from the folder imgplay_overlay returned, against the base it mounted', async () => {
    conn = new LocalConnection();
    const at = join(scratch, 'archive');
    const { builds, image } = await squashedBase(at);
    const vars = { hostvars: { localhost: { imgplay_base_image: image } } };
    const dir = join(at, 'overlays', 'discovery');
    const mounted = await run(imgplayOverlay as Module<unknown>, { dir, size: '64m' }, vars);
    expect(mounted.failed, mounted.msg).toBeUndefined();
    await mkdir(join(mounted.merged as string, 'usr/sbin'), { recursive: true });
    await writeFile(join(mounted.merged as string, 'usr/sbin/lldpd'), 'lldpd\n');
    await writeFile(join(mounted.merged as string, 'var/lib/dpkg/status'), `${STATUS}\nPackage: lldpd\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n`);

    const unmount = { dir: mounted.dir, state: 'unmounted' };
    expect(await run(imgplayOverlay as Module<unknown>, unmount, vars, true)).toMatchObject({ changed: true, upper: join(dir, 'rw/upper') });
    expect(await run(imgplayOverlay as Module<unknown>, unmount, vars)).toMatchObject({ changed: true, upper: join(dir, 'rw/upper') });
    expect(await run(imgplayOverlay as Module<unknown>, unmount, vars)).toMatchObject({ changed: false });

    const archive = { overlay: mounted.dir, dest: builds, name: 'discovery.overlay.cpio.gz' };
    const checked = await run(imgplayCpio as Module<unknown>, archive, vars, true);
    expect(checked).toEqual({ changed: true, name: 'discovery.overlay.cpio.gz', path: join(builds, 'discovery.overlay.cpio.gz'), base: image });
    expect(existsSync(join(builds, 'discovery.overlay.cpio.gz'))).toBe(false);
    for (const pass of ['fresh', 'again']) {
      const r = await run(imgplayCpio as Module<unknown>, archive, vars);
      expect(r, pass).toMatchObject({ changed: true, path: join(builds, 'discovery.overlay.cpio.gz'), base: image });
    }
    const paths = (await listCpio(join(builds, 'discovery.overlay.cpio.gz'))).map((e) => e.path);
    expect(paths).toContain('usr/sbin/lldpd');
    expect(paths).not.toContain('etc/motd');
    const manifest = await readManifest(builds);
    const base = manifest.artifacts.find((a) => a.kind === 'base');
    const overlay = manifest.artifacts.find((a) => a.kind === 'overlay');
    expect(overlay?.base).toEqual({ name: base?.name, sha256: base?.sha256 });
    // The delta against the base mounted at the overlay's own lower folder.
    expect(overlay?.packageDelta?.added.map((p) => p.name)).toEqual(['lldpd']);

    expect(await run(imgplayOverlay as Module<unknown>, { dir: mounted.dir, state: 'absent' }, vars)).toMatchObject({ changed: true });
    expect(await run(imgplayOverlay as Module<unknown>, { dir: mounted.dir, state: 'absent' }, vars)).toMatchObject({ changed: false });
    expect(mountsUnder(await mountTable(), at)).toEqual([]);
  });
});
