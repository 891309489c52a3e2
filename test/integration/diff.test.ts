// `imgplay diff` on real builds folders: squashfs bases and cpio.gz overlays made by imgplay's own
// builders from small trees, recorded by the code that writes manifest.json, then compared through the CLI.
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { buildOverlayCpio } from '../../src/image/cpio.js';
import { installedPackagesOf, packageDelta } from '../../src/image/dpkg-status.js';
import { inputsDigest } from '../../src/image/inputs-digest.js';
import { type ArtifactEntry, recordArtifact } from '../../src/image/manifest.js';
import { buildSquashfs } from '../../src/image/squashfs.js';
import { mountsSnapshot } from '../support/minbase.js';
import { file, lacking, skipWithout } from '../support/needs.js';

const EPOCH = 1_700_000_000;
const BASE = 'base.bookworm.6.1.0-28-amd64.squashfs.img';
const OVERLAY = 'discovery.overlay.cpio.gz';
const KERNEL = 'vmlinuz-6.1.0-28-amd64';
const INITRD = 'initrd.img-6.1.0-28-amd64';
const skip = skipWithout(lacking(file('/usr/bin/mksquashfs', 'squashfs-tools'), file('/usr/bin/unsquashfs', 'squashfs-tools'), file('/usr/bin/cpio', 'cpio'), file('/usr/bin/zstd', 'zstd'), file('/usr/bin/unmkinitramfs', 'initramfs-tools-core')));

let scratch: string;
let mounts: string;
let savedTmp: string | undefined;
// imgplay diff's own temporary directories go here, to be found if any is left behind.
let diffTmp: string;
let older: string;
let same: string;
let newer: string;
const listeners = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };

function status(...pkgs: Array<[string, string]>): string {
  return pkgs.map(([name, version]) => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\n`).join('\n');
}

// A root tree and an overlay's upper directory, as a provisioner would leave them.
async function trees(dir: string, variant: 'old' | 'new'): Promise<{ root: string; upper: string }> {
  const root = join(dir, 'root');
  const upper = join(dir, 'upper');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(join(root, 'var/lib/dpkg'), { recursive: true });
  await mkdir(join(root, 'lib/modules/6.1.0-28-amd64'), { recursive: true });
  await writeFile(join(root, 'etc/motd'), variant === 'old' ? 'welcome\n' : 'welcome to the new build\n');
  await writeFile(join(root, 'usr/bin/tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
  await chmod(join(root, 'usr/bin/tool'), variant === 'old' ? 0o755 : 0o700);
  await symlink('tool', join(root, 'usr/bin/tool-alias'));
  if (variant === 'old') await writeFile(join(root, 'etc/legacy.conf'), 'legacy=1\n');
  else await writeFile(join(root, 'etc/added.conf'), 'added=1\n');
  await writeFile(join(root, 'var/lib/dpkg/status'), variant === 'old' ? status(['bash', '5.2.15-2+b2'], ['libssl3', '3.0.11-1~deb12u1']) : status(['bash', '5.2.15-2+b2'], ['libssl3', '3.0.11-1~deb12u2']));
  await mkdir(join(upper, 'etc/discovery'), { recursive: true });
  await mkdir(join(upper, 'var/lib/dpkg'), { recursive: true });
  await writeFile(join(upper, 'etc/discovery/config.json'), variant === 'old' ? '{"interval": 30}\n' : '{"interval": 60}\n');
  await writeFile(join(upper, 'var/lib/dpkg/status'), status(['bash', '5.2.15-2+b2'], ['libssl3', variant === 'old' ? '3.0.11-1~deb12u1' : '3.0.11-1~deb12u2'], ['lldpd', '1.0.16-1']));
  return { root, upper };
}

// A builds folder with a base and an overlay over it, recorded as imgplay_squashfs and imgplay_cpio record them.
async function buildsFolder(name: string, variant: 'old' | 'new', epoch = EPOCH): Promise<string> {
  const work = join(scratch, name);
  const builds = join(work, 'builds');
  await mkdir(builds, { recursive: true });
  const { root, upper } = await trees(work, variant);
  const common = { builtAt: new Date(epoch * 1000).toISOString(), sourceDateEpoch: epoch, imgplayVersion: '0.1.0' };
  const squashed = await buildSquashfs({ root, dest: join(builds, BASE), compression: 'gzip', sourceDateEpoch: epoch, processors: 1 });
  const packages = await installedPackagesOf(root);
  const base: ArtifactEntry = { name: BASE, kind: 'base', size: squashed.size, sha256: squashed.sha256, release: 'bookworm', kernelVersion: '6.1.0-28-amd64', packages, inputsDigest: await inputsDigest({ vars: { variant } }), ...common };
  await recordArtifact(builds, base);
  // A kernel is copied as is: any bytes do here.
  await writeFile(join(builds, KERNEL), `kernel image, ${variant} build\n`);
  const kernelSha = (await execa('sha256sum', [join(builds, KERNEL)])).stdout.slice(0, 64);
  await recordArtifact(builds, { name: KERNEL, kind: 'kernel', size: (await readFile(join(builds, KERNEL))).length, sha256: kernelSha, kernelVersion: '6.1.0-28-amd64', inputsDigest: await inputsDigest({ vars: { kernel: variant } }), ...common });
  await makeInitrd(work, join(builds, INITRD), variant, epoch);
  const initrdSha = (await execa('sha256sum', [join(builds, INITRD)])).stdout.slice(0, 64);
  await recordArtifact(builds, { name: INITRD, kind: 'initrd', size: (await readFile(join(builds, INITRD))).length, sha256: initrdSha, kernelVersion: '6.1.0-28-amd64', inputsDigest: await inputsDigest({ vars: { initrd: variant } }), ...common });
  const overlayPackages = await installedPackagesOf(upper);
  const archived = await buildOverlayCpio({ upper, dest: join(builds, OVERLAY), sourceDateEpoch: epoch });
  await recordArtifact(builds, {
    name: OVERLAY,
    kind: 'overlay',
    size: archived.size,
    sha256: archived.sha256,
    packages: overlayPackages,
    packageDelta: packageDelta(packages, overlayPackages),
    inputsDigest: await inputsDigest({ vars: { variant, overlay: 'discovery' } }),
    base: { name: BASE, sha256: squashed.sha256 },
    ...common,
  });
  return builds;
}

// An initrd laid out as mkinitramfs lays one out: an uncompressed early archive (CPU microcode) and then the
// main archive, zstd-compressed.
async function makeInitrd(work: string, dest: string, variant: 'old' | 'new', epoch: number): Promise<void> {
  const early = join(work, 'initrd-early');
  const main = join(work, 'initrd-main');
  await mkdir(join(early, 'kernel/x86/microcode'), { recursive: true });
  await writeFile(join(early, 'kernel/x86/microcode/GenuineIntel.bin'), 'microcode\n');
  await mkdir(join(main, 'scripts'), { recursive: true });
  await writeFile(join(main, 'init'), '#!/bin/sh\nexec /scripts/imgplay\n', { mode: 0o755 });
  await writeFile(join(main, 'scripts/imgplay'), variant === 'old' ? '#!/bin/sh\nmount base\n' : '#!/bin/sh\nmount base and overlays\n', { mode: 0o755 });
  const archive = async (dir: string) =>
    (await execa('sh', ['-c', `find . -exec touch -h -d @${epoch} {} + && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible`], { cwd: dir, encoding: 'buffer' })).stdout as Uint8Array;
  const mainCpio = await archive(main);
  const compressed = (await execa('zstd', ['-q', '-c', '-19'], { input: mainCpio, encoding: 'buffer' })).stdout as Uint8Array;
  await writeFile(dest, Buffer.concat([await archive(early), compressed]));
}

async function imgplayDiff(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return imgplayDiffWatching(() => undefined, ...args);
}

// `onErr` sees each piece of stderr as it is written (progress), to act in the middle of the work.
async function imgplayDiffWatching(onErr: (s: string) => void, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stderr = (s: string) => {
    err += s;
    onErr(s);
  };
  const code = await main(['node', 'imgplay', 'diff', ...args], { stdout: (s) => void (out += s), stderr });
  return { code, out, err };
}

// A copy of older whose artifact `artifact` is `bytes`, recorded with their real size and sha256.
async function withArtifact(name: string, artifact: string, bytes: Buffer): Promise<string> {
  const builds = join(scratch, name);
  await cp(older, builds, { recursive: true });
  await writeFile(join(builds, artifact), bytes);
  const manifest = JSON.parse(await readFile(join(builds, 'manifest.json'), 'utf8')) as { artifacts: ArtifactEntry[] };
  const entry = manifest.artifacts.find((a) => a.name === artifact)!;
  const sha256 = (await execa('sha256sum', [join(builds, artifact)])).stdout.slice(0, 64);
  await recordArtifact(builds, { ...entry, size: bytes.length, sha256 });
  return builds;
}

const withOverlay = (name: string, archive: Buffer) => withArtifact(name, OVERLAY, archive);

if (!skip) {
  beforeAll(async () => {
    mounts = await mountsSnapshot();
    scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-diff-test-')));
    diffTmp = join(scratch, 'tmp');
    await mkdir(diffTmp);
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = diffTmp;
    [older, same, newer] = await Promise.all([buildsFolder('older', 'old'), buildsFolder('same', 'old'), buildsFolder('newer', 'new')]);
  });

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    expect(await mountsSnapshot()).toBe(mounts);
  });

  describe('imgplay diff on real builds folders', () => {
    it('exits 0 and says identical for two builds of the same trees, files included', async () => {
      const r = await imgplayDiff('--files', older, same);
      expect(r.out).toContain('identical: 4 artifact(s)');
      expect(r.code).toBe(0);
      expect(await readdir(diffTmp)).toEqual([]);
    });

    it('exits 1 and lists the changed package with its old and new version, per artifact', async () => {
      const r = await imgplayDiff(older, newer);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`base ${BASE}`);
      expect(r.out).toMatch(/^ {2}bytes +differ \(sha256 [0-9a-f]{12}… -> [0-9a-f]{12}…\)$/m);
      expect(r.out).toContain('~ libssl3:amd64 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2');
      expect(r.out).toContain(`overlay ${OVERLAY}`);
      expect(r.out).toContain('0 added, 0 removed, 4 changed, 0 unchanged');
      expect(r.out).not.toContain('files ');
    });

    it('with --files names the files that differ inside the base and the overlay, and reports progress on stderr', async () => {
      const r = await imgplayDiff('--files', older, newer);
      expect(r.code).toBe(1);
      const lines = r.out.split('\n');
      expect(lines).toContain('    ~ /etc/motd: size 8 -> 25, content');
      expect(lines).toContain('    + /etc/added.conf (file)');
      expect(lines).toContain('    - /etc/legacy.conf (file)');
      expect(lines).toContain('    ~ /usr/bin/tool: mode 0755 -> 0700');
      expect(lines).toContain('    ~ /etc/discovery/config.json: content');
      // The initrd's early archive (microcode) and its compressed main one are both looked into.
      expect(lines).toContain('    ~ /main/scripts/imgplay: size 21 -> 34, content');
      expect(r.out).not.toContain('/early/kernel/x86/microcode/GenuineIntel.bin');
      expect(lines).toContain(`  files           not looked into: ${KERNEL} is in linux kernel format; only squashfs, cpio.gz and initramfs artifacts are`);
      expect(r.out).not.toContain('/usr/bin/tool-alias');
      expect(r.err).toContain('imgplay diff: [1] listing the files of');
      expect(r.err).toMatch(/\[3\] \d+ and \d+ files, \d+ differ/);
      expect(await readdir(diffTmp)).toEqual([]);
    });

    it('gives the same comparison as JSON, every differing file included', async () => {
      const r = await imgplayDiff('--files', '--json', join(older, 'manifest.json'), join(newer, 'manifest.json'));
      expect(r.code).toBe(1);
      const j = JSON.parse(r.out) as { identical: boolean; changed: Array<{ b: { name: string }; packages: unknown; files: { changes: Array<{ path: string; change: string }> } }> };
      expect(j.identical).toBe(false);
      const base = j.changed.find((c) => c.b.name === BASE)!;
      expect(base.packages).toEqual({ added: [], removed: [], changed: [{ name: 'libssl3', arch: 'amd64', from: '3.0.11-1~deb12u1', to: '3.0.11-1~deb12u2' }] });
      expect(base.files.changes.map((c) => `${c.change} ${c.path}`)).toEqual([
        'added etc/added.conf',
        'removed etc/legacy.conf',
        'changed etc/motd',
        'changed usr/bin/tool',
        'changed var/lib/dpkg/status',
      ]);
    });

    it('says so when the bytes differ but no file does (only the times moved)', async () => {
      const later = await buildsFolder('later', 'old', EPOCH + 86_400);
      const r = await imgplayDiff('--files', older, later);
      expect(r.code).toBe(1);
      expect(r.out).toContain('sourceDateEpoch 1700000000 -> 1700086400');
      expect(r.out).toContain('(no file differs in type, mode, owner, size, link target or content: times, order or compression do)');
    });

    it('lists only the first --max-files differing files and says how many more there are', async () => {
      const r = await imgplayDiff('--files', '--max-files', '1', older, newer);
      expect(r.out).toContain('... and 4 more (--max-files, or --json for all)');
    });
  });

  describe('imgplay diff interrupted', () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      it(`stops on ${sig} while unpacking, removes its temporary directory and exits 2`, async () => {
        let sent = false;
        const r = await imgplayDiffWatching((s) => {
          if (!sent && s.includes('[1] listing the files')) {
            sent = true;
            process.emit(sig, sig);
          }
        }, '--files', older, newer);
        expect(sent).toBe(true);
        expect(r.code).toBe(2);
        expect(r.err).toContain(`imgplay diff was interrupted by ${sig}`);
        expect(r.out).toBe('');
        expect(await readdir(diffTmp)).toEqual([]);
        expect(process.listenerCount(sig)).toBe(listeners[sig]);
      });
    }
  });

  describe('imgplay diff on input it cannot use', () => {
    it('exits 2 naming a manifest.json that is not JSON', async () => {
      const bad = join(scratch, 'not-json');
      await mkdir(bad);
      await writeFile(join(bad, 'manifest.json'), '{"schemaVersion": 1, "artifacts": [');
      const r = await imgplayDiff(older, bad);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${join(bad, 'manifest.json')} is not JSON`);
    });

    it('exits 2 with the schema problems of a manifest.json that is JSON but not a manifest', async () => {
      const bad = join(scratch, 'bad-schema.json');
      await writeFile(bad, JSON.stringify({ schemaVersion: 1, artifacts: [{ name: '../../etc/passwd', kind: 'base' }] }));
      const r = await imgplayDiff(bad, older);
      expect(r.code).toBe(2);
      expect(r.err).toContain('is not an imgplay manifest');
      expect(r.err).toContain('/artifacts/0/name must match pattern');
    });

    it('exits 2 for a folder without manifest.json and for a path that does not exist', async () => {
      const empty = join(scratch, 'empty');
      await mkdir(empty);
      expect((await imgplayDiff(older, empty)).err).toContain('has no manifest.json');
      const r = await imgplayDiff(join(scratch, 'nowhere'), older);
      expect(r.code).toBe(2);
      expect(r.err).toContain('no such builds folder or manifest.json');
    });

    it('exits 2 with --files when an artifact the manifest lists is missing, leaving no temporary files', async () => {
      const gone = join(scratch, 'gone');
      await cp(newer, gone, { recursive: true });
      await unlink(join(gone, BASE));
      const r = await imgplayDiff('--files', older, gone);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`manifest.json lists ${BASE} but the builds folder has no such file`);
      expect(await readdir(diffTmp)).toEqual([]);
    });

    it('exits 2 with --files when an artifact is not the file its manifest entry describes', async () => {
      const swapped = join(scratch, 'swapped');
      await cp(newer, swapped, { recursive: true });
      const bytes = await readFile(join(swapped, OVERLAY));
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
      await writeFile(join(swapped, OVERLAY), bytes);
      const r = await imgplayDiff('--files', older, swapped);
      expect(r.code).toBe(2);
      expect(r.err).toContain('is not the artifact the manifest describes');
    });

    it('exits 2 naming the member of an overlay whose name climbs out of the root, leaving no temporary files', async () => {
      const src = join(scratch, 'climb/in');
      await mkdir(src, { recursive: true });
      await writeFile(join(scratch, 'climb/outside'), 'escaped\n');
      const cpio = await execa('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: src, input: '.\n../outside\n', encoding: 'buffer' });
      const gz = await execa('gzip', ['-n', '-c'], { input: Buffer.from(cpio.stdout), encoding: 'buffer' });
      const hostile = await withOverlay('hostile-climb', Buffer.from(gz.stdout));
      const r = await imgplayDiff('--files', older, hostile);
      expect(r.code).toBe(2);
      expect(r.err).toContain("member '../outside' points outside the archive's root");
      expect(await readdir(diffTmp)).toEqual([]);
    });

    it('exits 2 naming the member of an overlay that lies under a symlink made earlier in the archive', async () => {
      const src = join(scratch, 'through-link/in');
      await mkdir(join(scratch, 'through-link/target'), { recursive: true });
      await mkdir(src, { recursive: true });
      await writeFile(join(scratch, 'through-link/target/passwd'), 'x\n');
      await symlink(join(scratch, 'through-link/target'), join(src, 'etc'));
      const cpio = await execa('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: src, input: 'etc\netc/passwd\n', encoding: 'buffer' });
      const hostile = await withOverlay('hostile-link', Buffer.from(cpio.stdout));
      const r = await imgplayDiff('--files', older, hostile);
      expect(r.code).toBe(2);
      expect(r.err).toContain("member 'etc/passwd' lies under 'etc', a symlink earlier in the archive");
    });

    it('exits 2 with unsquashfs\'s words for a base that is not a squashfs', async () => {
      const corrupt = await withArtifact('corrupt-base', BASE, Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(4096, 0x5a)]));
      const r = await imgplayDiff('--files', older, corrupt);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`cannot unpack ${join(corrupt, BASE)}: unsquashfs exited 1`);
      expect(await readdir(diffTmp)).toEqual([]);
    });

    it('exits 2 for a truncated or corrupt overlay, and for a command line it cannot use', async () => {
      const truncated = await withOverlay('truncated', (await readFile(join(older, OVERLAY))).subarray(0, 200));
      const r = await imgplayDiff('--files', older, truncated);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/cannot read .*discovery\.overlay\.cpio\.gz: unexpected end of file|truncated cpio/);
      expect((await imgplayDiff(older)).code).toBe(2);
      expect((await imgplayDiff('--no-such-option', older, newer)).code).toBe(2);
      expect((await imgplayDiff('--max-files', 'many', older, newer)).code).toBe(2);
    });
  });
}
