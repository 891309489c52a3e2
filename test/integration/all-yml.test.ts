// The real all.yml, end to end: bootstrap from the build host's mirror, provision over chroot,
// squash the base, build two overlays over one shared base mount, archive them, record checksums
// and the manifest; and a provisioner failing halfway leaves no mount behind (an overlay's: the overlays
// after it are still archived and no overlay tree stays behind).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rmdir, readFile, readdir, readlink, realpath, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCpio } from '../../src/image/cpio.js';
import { type Manifest, validateManifest } from '../../src/image/manifest.js';
import { withMountGuard } from '../../src/host/mount-guard.js';
import { mountTable, mountsUnder, removeTree } from '../../src/host/mount-table.js';
import { type ArtifactSet, allYmlInventory, artifactSetUnavailable, runAllYml, sharedArtifacts } from '../support/artifact-set.js';
import { skipWithout } from '../support/needs.js';
import { mountsSnapshot } from '../support/minbase.js';

const skip = skipWithout(artifactSetUnavailable);

describe.skipIf(skip)('imgplay all.yml', () => {
  let before: string;
  let set: ArtifactSet;
  let builds: string;

  // The run the boot tests share (test/support/artifact-set.ts): all.yml with both overlays.
  beforeAll(async () => {
    before = await mountsSnapshot();
    set = await sharedArtifacts();
    builds = set.builds;
  }, 1_800_000);
  afterAll(async () => {
    expect(await mountsSnapshot(), 'mounts after the build').toBe(before);
  });

  it('succeeds and leaves no mount and no build tree behind', async () => {
    expect(set.log).toMatch(/localhost +: ok=\d+ +changed=\d+ +unreachable=0 +failed=0/);
    expect(mountsUnder(await mountTable(), set.home)).toEqual([]);
    const left = await readdir(join(set.home, 'build')).catch(() => []);
    expect(left).not.toContain('basefs');
    expect(left).not.toContain('initrd');
  });

  it('squashes a base that holds an init and the kernel modules, and no host keys or machine id', async () => {
    const base = (await readdir(builds)).find((f) => f.endsWith('.squashfs.img')) as string;
    expect(base).toMatch(/^base\.bookworm\.\d[\w.+-]*-amd64\.squashfs\.img$/);
    const kver = base.replace(/^base\.bookworm\.|\.squashfs\.img$/g, '');
    const mnt = await mkdtemp(join(tmpdir(), 'imgplay-base-mnt-'));
    await withMountGuard('test', async (guard) => {
      await guard.mount({ source: join(builds, base), target: mnt, fstype: 'squashfs', options: ['loop', 'ro'] });
      // /sbin/init is an absolute link into the image (/lib/systemd/systemd): resolve it inside.
      expect(await readlink(join(mnt, 'usr/sbin/init'))).toBe('/lib/systemd/systemd');
      expect(existsSync(join(mnt, 'usr/lib/systemd/systemd')), 'systemd').toBe(true);
      expect(existsSync(join(mnt, `usr/lib/modules/${kver}/kernel/drivers/net/ethernet`)), 'wired NIC drivers').toBe(true);
      expect(existsSync(join(mnt, `usr/lib/modules/${kver}/modules.dep`)), 'modules.dep').toBe(true);
      expect(existsSync(join(mnt, `usr/lib/modules/${kver}/kernel/sound`))).toBe(false);
      expect(existsSync(join(mnt, `usr/lib/modules/${kver}/kernel/drivers/net/wireless`))).toBe(false);
      expect((await readdir(join(mnt, 'etc/ssh'))).filter((f) => f.startsWith('ssh_host_'))).toEqual([]);
      expect((await stat(join(mnt, 'etc/machine-id'))).size).toBe(0);
      // Nothing of the build host's, and no cache that differs from build to build.
      expect(existsSync(join(mnt, 'etc/resolv.conf')), 'the build host resolv.conf').toBe(false);
      expect(existsSync(join(mnt, 'var/cache/ldconfig/aux-cache')), "ldconfig's aux-cache").toBe(false);
      expect(await readdir(join(mnt, 'var/lib/apt/lists'))).not.toContainEqual(expect.stringMatching(/Packages/));
      expect((await readdir(join(mnt, 'var/cache/apt/archives'))).filter((f) => f.endsWith('.deb')), 'downloaded packages').toEqual([]);
      // systemctl-style absolute links point into the image, so they are read, not followed on the host.
      expect(await readlink(join(mnt, 'etc/systemd/system/multi-user.target.wants/imgplay-boot-hooks.service'))).toBe('/etc/systemd/system/imgplay-boot-hooks.service');
      expect(await readdir(join(mnt, 'proc'))).toEqual([]);
    });
    // The guard unmounted it: rmdir refuses anything but an empty directory.
    await rmdir(mnt);
  });

  it("keeps every stage's downloads in the one .deb cache: the bootstrap's, the base's apt's and an overlay's", async () => {
    const debs = await readdir(join(set.home, 'cache', 'debs'));
    expect(debs, 'from mmdebstrap').toContainEqual(expect.stringMatching(/^base-files_.*\.deb$/));
    expect(debs, "from the base's apt").toContainEqual(expect.stringMatching(/^systemd_.*\.deb$/));
    expect(debs, "from the discovery overlay's apt").toContainEqual(expect.stringMatching(/^lldpd_.*\.deb$/));
    expect(await readdir(join(set.home, 'cache', 'debs', '.sessions')), 'sessions left behind').toEqual([]);
  });

  it('archives the discovery overlay with lldpd and its boot hook, and a deletion as a whiteout', async () => {
    const discovery = await listCpio(join(builds, 'discovery.overlay.cpio.gz'));
    const paths = discovery.map((e) => e.path.replace(/^\.\//, ''));
    expect(paths).toContain('usr/sbin/lldpd');
    expect(discovery.find((e) => e.path.replace(/^\.\//, '') === 'etc/imgplay/boot.d/50-discovery')?.mode ?? 0).toBe(0o755);
    const oem = await listCpio(join(builds, 'oem-example.overlay.cpio.gz'));
    const motd = oem.find((e) => e.path.replace(/^\.\//, '') === 'etc/motd');
    expect(motd?.type).toBe('char');
    expect(oem.map((e) => e.path.replace(/^\.\//, ''))).toContain('usr/bin/oem-tool');
  });

  it('exports the kernel and an initrd of the same version as the base modules, with the imgplay boot script in it', async () => {
    expect(set.kernel).toBe(`vmlinuz-${set.kernelVersion}`);
    expect(set.initrd).toBe(`initrd.img-${set.kernelVersion}`);
    expect(set.base).toBe(`base.bookworm.${set.kernelVersion}.squashfs.img`);
    const kernel = await execa('file', ['-b', join(builds, set.kernel)]);
    expect(kernel.stdout).toMatch(/Linux kernel x86 boot executable/);
    const initrd = await execa('lsinitramfs', [join(builds, set.initrd)]);
    const files = initrd.stdout.split('\n');
    expect(files).toContain('scripts/imgplay');
    expect(files).toContain('conf/conf.d/imgplay');
    for (const mod of ['squashfs', 'overlay', 'loop', 'virtio_net', 'e1000e']) {
      expect(files.some((f) => new RegExp(`/${mod}\\.ko(\\.[xz]z|\\.zst)?$`).test(f)), `${mod}.ko in the initrd`).toBe(true);
    }
  });

  it('makes the initrd under SOURCE_DATE_EPOCH: no member is newer than it', async () => {
    const cpio = join(await mkdtemp(join(tmpdir(), 'imgplay-initrd-')), 'initrd.cpio');
    try {
      await execa('zstd', ['-q', '-d', join(builds, set.initrd), '-o', cpio]);
      const entries = await listCpio(cpio);
      expect(entries.length).toBeGreaterThan(100);
      // The shared set is built with SOURCE_DATE_EPOCH=1700000000 (test/support/artifact-set.ts).
      expect(entries.filter((e) => e.mtime > 1_700_000_000).map((e) => e.path)).toEqual([]);
    } finally {
      await removeTree(join(cpio, '..'));
    }
  });

  it('writes SHA256SUMS that sha256sum accepts and a manifest that validates, both overlays over the same base', async () => {
    const check = await execa('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: builds, reject: false });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(builds, 'manifest.json'), 'utf8')) as Manifest;
    expect(validateManifest(manifest)).toEqual([]);
    const base = manifest.artifacts.find((a) => a.kind === 'base');
    const overlays = manifest.artifacts.filter((a) => a.kind === 'overlay');
    expect(overlays.map((o) => o.name).sort()).toEqual(['discovery.overlay.cpio.gz', 'oem-example.overlay.cpio.gz']);
    for (const kind of ['kernel', 'initrd']) {
      const a = manifest.artifacts.find((x) => x.kind === kind);
      expect(a?.kernelVersion, kind).toBe(set.kernelVersion);
    }
    expect(base?.kernelVersion).toBe(set.kernelVersion);
    expect(await readFile(join(builds, 'SHA256SUMS'), 'utf8')).toMatch(new RegExp(`  ${set.initrd.replace(/\./g, '\\.')}\n`));
    for (const o of overlays) expect(o.base).toEqual({ name: base?.name, sha256: base?.sha256 });
    expect(overlays.find((o) => o.name.startsWith('discovery'))?.packageDelta?.added.map((p) => p.name)).toContain('lldpd');
    expect(base?.packages?.map((p) => p.name)).toContain('systemd-sysv');
    // Every entry is pinned to the build's SOURCE_DATE_EPOCH, and says nothing varies.
    for (const a of manifest.artifacts) {
      expect(a, a.name).toMatchObject({ sourceDateEpoch: 1_700_000_000, builtAt: '2023-11-14T22:13:20.000Z' });
      expect(a.buildSeconds, a.name).toBeUndefined();
      expect(a.varies, a.name).toBeUndefined();
    }
  });
});

describe.skipIf(skip)('imgplay all.yml with a provisioner that fails halfway', () => {
  it('stops with the failure and leaves no mount behind', async () => {
    const before = await mountsSnapshot();
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-fail-')));
    try {
      await mkdir(join(dir, 'roles/broken/tasks'), { recursive: true });
      await writeFile(join(dir, 'roles/broken/tasks/main.yml'), '- name: a provisioner step that works\n  copy: { dest: /etc/imgplay-half, content: "x\\n" }\n- name: a provisioner step that fails\n  command: /bin/false\n');
      await writeFile(join(dir, 'hosts.yaml'), allYmlInventory({ discovery: 'overlay/provision_discovery_overlay' }));
      const r = await runAllYml(dir, ['-e', `basefs_provisioner=${dir}/roles/broken`]);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toContain('TASK [broken : a provisioner step that fails]');
      expect(mountsUnder(await mountTable(), dir)).toEqual([]);
      expect(await mountsSnapshot()).toBe(before);
    } finally {
      await removeTree(dir);
    }
  }, 900_000);

  it('archives the good overlay listed after a failed one, and leaves no overlay tree in build_dir', async () => {
    const before = await mountsSnapshot();
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-fail-overlay-')));
    try {
      await mkdir(join(dir, 'roles/broken/tasks'), { recursive: true });
      await writeFile(join(dir, 'roles/broken/tasks/main.yml'), '- name: a provisioner step that works\n  copy: { dest: /etc/imgplay-half, content: "x\\n" }\n- name: a provisioner step that fails\n  command: /bin/false\n');
      await mkdir(join(dir, 'roles/good/tasks'), { recursive: true });
      await writeFile(join(dir, 'roles/good/tasks/main.yml'), '- name: a provisioner step that works\n  copy: { dest: /etc/imgplay-good, content: "good\\n" }\n');
      await writeFile(join(dir, 'hosts.yaml'), allYmlInventory({ broken: `${dir}/roles/broken`, good: `${dir}/roles/good` }));
      // The base and initrd come from the shared set's stage cache: only the two overlays are built.
      const set = await sharedArtifacts();
      const r = await runAllYml(dir, ['--cache-dir', join(set.home, 'cache')]);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toMatch(/^STAGE \[base\] cached/m);
      expect(r.all).toContain('TASK [broken : a provisioner step that fails]');
      expect(r.all).toMatch(/^broken +: .*failed=1/m);
      expect(r.all).toMatch(/^localhost +: .*failed=0/m);
      expect(r.all).toContain('STAGE [overlay/broken] not kept in the cache: broken failed');
      const built = await readdir(join(dir, 'builds'));
      expect(built).toContain('good.overlay.cpio.gz');
      expect(built).not.toContain('broken.overlay.cpio.gz');
      expect(await readdir(join(dir, 'build')).catch(() => [])).not.toContain('overlays');
      expect(mountsUnder(await mountTable(), dir)).toEqual([]);
      expect(await mountsSnapshot()).toBe(before);
      // The failed overlay alone: no play of build_local is left to remove its tree, and none stays behind.
      const alone = await runAllYml(dir, ['--cache-dir', join(set.home, 'cache'), '--limit', 'broken']);
      expect(alone.exitCode, alone.all).toBe(2);
      expect(alone.all).toContain('TASK [broken : a provisioner step that fails]');
      expect(await readdir(join(dir, 'build')).catch(() => []), 'what --limit broken left in build_dir').toEqual([]);
      expect(await mountsSnapshot()).toBe(before);
    } finally {
      await removeTree(dir);
    }
  }, 1_800_000);
});
