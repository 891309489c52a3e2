import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Manifest, readManifest } from '../../../src/image/manifest.js';
import { imgplayKernel } from '../../../src/modules/imgplay-kernel.js';
import { buildTree, cases, makeContext, prepare, type TreeSpec } from '../../support/module-cases.js';

const KVER = '6.1.0-27-amd64';

const DPKG_STATUS = `Package: linux-image-${KVER}\nStatus: install ok installed\nVersion: 6.1.115-1\nArchitecture: amd64\n\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgplay-kernel-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(kvers: string[], opts: { initrd?: boolean } = {}): Promise<string> {
  const root = join(dir, 'root');
  await buildTree(root, { 'var/lib/dpkg/status': DPKG_STATUS });
  for (const k of kvers) {
    await buildTree(root, {
      [`lib/modules/${k}/modules.dep`]: '',
      [`boot/vmlinuz-${k}`]: `kernel ${k}\n`,
      ...(opts.initrd === false ? {} : { [`boot/initrd.img-${k}`]: `initrd ${k}\n` }),
    });
  }
  return root;
}

async function run(args: Record<string, unknown>, check = false) {
  return imgplayKernel.run(makeContext({ args: await prepare(imgplayKernel, args), check, vars: {} }));
}

describe('imgplay_kernel', () => {
  it('exports the kernel and the initrd under their kernel-version names and records both', async () => {
    const root = await tree([KVER]);
    const dest = join(dir, 'builds');
    const r = await run({ root, dest, release: 'bookworm', arch: 'amd64', inputs: { vars: { k: 1 } } });
    expect(r.msg).toBeUndefined();
    expect(r).toMatchObject({ changed: true, kernel_version: KVER, kernel: join(dest, `vmlinuz-${KVER}`), initrd: join(dest, `initrd.img-${KVER}`) });
    expect(await readFile(join(dest, `initrd.img-${KVER}`), 'utf8')).toBe(`initrd ${KVER}\n`);
    const manifest = await readManifest(dest);
    expect(manifest.artifacts.map((a) => [a.name, a.kind, a.kernelVersion, a.release])).toEqual([
      [`initrd.img-${KVER}`, 'initrd', KVER, 'bookworm'],
      [`vmlinuz-${KVER}`, 'kernel', KVER, 'bookworm'],
    ]);
    expect(manifest.artifacts[0]?.packages?.map((p) => p.name)).toEqual([`linux-image-${KVER}`]);
    const sums = await readFile(join(dest, 'SHA256SUMS'), 'utf8');
    expect(sums).toContain(`  vmlinuz-${KVER}\n`);
    expect(sums).toContain(`  initrd.img-${KVER}\n`);
    expect((await readdir(dest)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('in check mode names what it would write and writes nothing', async () => {
    const root = await tree([KVER]);
    const dest = join(dir, 'builds');
    const r = await run({ root, dest }, true);
    expect(r).toMatchObject({ changed: true, kernel_version: KVER, initrd: join(dest, `initrd.img-${KVER}`) });
    await expect(readdir(dest)).rejects.toThrow(/ENOENT/);
  });

  it('fails naming the kernels when the tree has several', async () => {
    const root = await tree([KVER, '6.1.0-28-amd64']);
    const r = await run({ root, dest: join(dir, 'builds') });
    expect(r.failed).toBe(true);
    expect(r.msg).toMatch(/several kernels \(6\.1\.0-27-amd64, 6\.1\.0-28-amd64\)|several kernels \(6\.1\.0-28-amd64, 6\.1\.0-27-amd64\)/);
  });

  it('fails when the tree has no kernel', async () => {
    await buildTree(join(dir, 'root'), { 'var/lib/dpkg/status': DPKG_STATUS });
    const r = await run({ root: join(dir, 'root'), dest: join(dir, 'builds') });
    expect(r).toMatchObject({ failed: true, msg: expect.stringMatching(/has no kernel/) });
  });

  it('fails when mkinitramfs left no initrd', async () => {
    const root = await tree([KVER], { initrd: false });
    const r = await run({ root, dest: join(dir, 'builds') });
    expect(r).toMatchObject({ failed: true, msg: expect.stringContaining(`initrd.img-${KVER} does not exist`) });
  });

  it('refuses, before exporting anything, a base whose modules are for another kernel (told by its name)', async () => {
    const root = await tree([KVER]);
    const builds = join(dir, 'builds');
    await buildTree(builds, { 'base.bookworm.6.1.0-28-amd64.squashfs.img': 'squash' });
    const r = await run({ root, dest: builds, base: join(builds, 'base.bookworm.6.1.0-28-amd64.squashfs.img') });
    expect(r.failed).toBe(true);
    expect(r.msg).toContain("the initrd's kernel is 6.1.0-27-amd64 but the base base.bookworm.6.1.0-28-amd64.squashfs.img has modules for 6.1.0-28-amd64");
    expect((await readdir(builds)).sort()).toEqual(['base.bookworm.6.1.0-28-amd64.squashfs.img']);
  });

  it("takes the base's kernel version from manifest.json over its name", async () => {
    const root = await tree([KVER]);
    const builds = join(dir, 'builds');
    const manifest: Manifest = {
      schemaVersion: 1,
      artifacts: [{ name: 'base.img', kind: 'base', size: 6, sha256: '0'.repeat(64), kernelVersion: KVER, inputsDigest: `sha256:${'0'.repeat(64)}`, builtAt: '2026-01-01T00:00:00Z', imgplayVersion: '0' }],
    };
    await buildTree(builds, { 'base.img': 'squash' });
    await writeFile(join(builds, 'manifest.json'), JSON.stringify(manifest));
    const r = await run({ root, dest: builds, base: join(builds, 'base.img') });
    expect(r.failed, r.msg).toBeUndefined();
    expect(r.kernel_version).toBe(KVER);
  });
});

// A tree with one kernel, and two bases beside it: one of its kernel, one of another.
const WITH_BASES: TreeSpec = {
  'root/var/lib/dpkg/status': DPKG_STATUS,
  [`root/lib/modules/${KVER}/modules.dep`]: '',
  [`root/boot/vmlinuz-${KVER}`]: 'kernel\n',
  [`root/boot/initrd.img-${KVER}`]: 'initrd\n',
  [`base.bookworm.${KVER}.squashfs.img`]: 'squash',
  'base.bookworm.6.1.0-28-amd64.squashfs.img': 'squash',
};
const GOOD = `{root}/base.bookworm.${KVER}.squashfs.img`;
const OTHER = '{root}/base.bookworm.6.1.0-28-amd64.squashfs.img';
const MISMATCH = "the initrd's kernel is 6.1.0-27-amd64 but the base base.bookworm.6.1.0-28-amd64.squashfs.img has modules for 6.1.0-28-amd64";

describe('imgplay_kernel without base: the imgplay_base_image fact', () => {
  const args = { root: '{root}/root', dest: '{files}/builds' };
  cases(imgplayKernel, [
    {
      name: 'checks the kernel against the base the fact of the task host names',
      args,
      before: WITH_BASES,
      vars: { imgplay_base_image: GOOD },
      changed: true,
      again: true,
      result: { base: GOOD, kernel: `{files}/builds/vmlinuz-${KVER}` },
      check: { result: { base: GOOD } },
      targets: ['local'],
    },
    {
      name: "falls back to localhost's fact (an overlay host's task delegated to the build host)",
      args,
      before: WITH_BASES,
      vars: { hostvars: { localhost: { imgplay_base_image: GOOD } } },
      changed: true,
      again: true,
      result: { base: GOOD },
      check: { result: { base: GOOD } },
      targets: ['local'],
    },
    {
      name: 'fails when the base the fact names has modules of another kernel',
      args,
      before: WITH_BASES,
      vars: { hostvars: { localhost: { imgplay_base_image: OTHER } } },
      error: MISMATCH,
      targets: ['local'],
    },
    {
      name: 'takes an explicit base over the fact',
      args: { ...args, base: GOOD },
      before: WITH_BASES,
      vars: { imgplay_base_image: OTHER },
      changed: true,
      again: true,
      result: { base: GOOD },
      targets: ['local'],
    },
    {
      name: 'checks against no base when base is empty, whatever the fact says',
      args: { ...args, base: '' },
      before: WITH_BASES,
      vars: { imgplay_base_image: OTHER },
      changed: true,
      again: true,
      result: { kernel_version: KVER },
      targets: ['local'],
    },
    {
      name: 'exports with no check when there is neither base nor fact',
      args,
      before: WITH_BASES,
      changed: true,
      again: true,
      result: { kernel_version: KVER },
      targets: ['local'],
    },
    {
      name: 'fails on a fact that is not a path',
      args,
      before: WITH_BASES,
      vars: { imgplay_base_image: ['a'] },
      error: 'imgplay_base_image must be the path of the base image, got ["a"]',
      targets: ['local'],
    },
  ]);

  it('leaves base out of the result when there is none', async () => {
    const root = await tree([KVER]);
    const r = await run({ root, dest: join(dir, 'builds') });
    expect(r.failed, r.msg).toBeUndefined();
    expect(r).not.toHaveProperty('base');
  });
});
