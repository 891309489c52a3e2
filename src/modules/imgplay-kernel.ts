// imgplay_kernel: a build tree's kernel and initrd exported to the builds folder as vmlinuz-<kver> and
// initrd.img-<kver>, recorded in SHA256SUMS and manifest.json, after checking that the base image's
// modules are for the same kernel (a mismatched set boots to a root with no drivers).
import { existsSync } from 'node:fs';
import { artifactName } from '../image/artifact-kinds.js';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ImgplayError } from '../errors.js';
import { installedPackagesOf } from '../image/dpkg-status.js';
import { checkBaseMatchesKernel } from '../image/kernel-set.js';
import { checksumFile } from '../host/checksum.js';
import { recordArtifact } from '../image/manifest.js';
import { treeKernelVersions } from '../image/squashfs.js';
import { baseArgDoc, baseImageOf, inputsArg, inputsOf, provenance, sourceDateEpoch, stageDigest } from './support/artifact.js';
import { atomicWrite } from '../host/atomic-write.js';
import { noteRead } from '../host/reads.js';
import { defineModule } from './spec.js';
import { failed } from './types.js';
export const imgplayKernel = defineModule(
  {
    name: 'imgplay_kernel',
    collection: 'imgplay',
    doc: {
      short: "Exports a build tree's kernel and initrd to the builds folder (imgplay only).",
      description:
        "Runs on the build host (a play with `connection: local`). Finds the tree's one kernel version in `root/lib/modules` (fails naming them when there are none or several), and copies `root/boot/vmlinuz-<kver>` and `root/boot/initrd.img-<kver>` to `dest` as `vmlinuz-<kver>` and `initrd.img-<kver>`, each under a temporary name renamed when complete, recorded in `SHA256SUMS` and `manifest.json` (kinds `kernel` and `initrd`, with `kernelVersion`, `release`, `arch`, the digest of `inputs`, and the tree's packages on the initrd). With a base image (`base`, by default the one imgplay_squashfs built), its kernel version (its manifest.json entry, else its name `base.<release>.<kver>.squashfs.img`) must be the same, or the task fails before exporting anything: `the initrd's kernel is 6.1.0-27-amd64 but the base base.bookworm.6.1.0-28-amd64.squashfs.img has modules for 6.1.0-28-amd64` (a base whose modules belong to another kernel boots to a root without drivers).",
      returns: '`kernel_version`, `kernel` and `initrd` (paths), `inputs_digest`, and `base` (the base image it was checked against, when there is one).',
      checkMode: 'Checks the tree and the base, and says what it would write; nothing is copied.',
      differences: ['There is no Ansible equivalent.'],
    },
    args: {
      root: { type: 'path', required: true, description: 'The tree the kernel package and mkinitramfs ran in.' },
      dest: { type: 'path', required: true, description: 'The builds folder.' },
      base: { type: 'path', description: `The base image the kernel must match. ${baseArgDoc}` },
      release: { description: 'Recorded in the manifest.' },
      arch: { description: 'Recorded in the manifest.' },
      inputs: inputsArg,
    },
    checkMode: 'full',
  },
  async ({ conn, args, check, environment, vars }) => {
    if (conn.kind !== 'local') return failed('imgplay_kernel runs on the build host (a play with connection: local)');
    try {
      const inputs = inputsOf(args.inputs);
      const kvers = await treeKernelVersions(args.root);
      if (kvers.length !== 1) return failed(kvers.length === 0 ? `${args.root} has no kernel (no lib/modules/*)` : `${args.root} has several kernels (${kvers.join(', ')}); the initrd is made for exactly one`);
      const kver = kvers[0]!;
      const sources = { kernel: join(args.root, 'boot', `vmlinuz-${kver}`), initrd: join(args.root, 'boot', `initrd.img-${kver}`) };
      for (const [what, path] of Object.entries(sources)) if (!existsSync(path)) return failed(`the ${what} ${path} does not exist${what === 'initrd' ? ' (was mkinitramfs run?)' : ''}`);
      const base = baseImageOf(args.base, vars);
      if (base !== undefined) {
        // The base is an input of the stage: the stage cache keys on its bytes.
        noteRead({ kind: 'file', path: base });
        await checkBaseMatchesKernel(kver, base);
      }
      const used = base === undefined ? {} : { base };
      const dest = resolve(args.dest);
      const names = { kernel: artifactName('kernel', { kernelVersion: kver }), initrd: artifactName('initrd', { kernelVersion: kver }) };
      if (check) return { changed: true, kernel_version: kver, kernel: join(dest, names.kernel), initrd: join(dest, names.initrd), ...used };
      await mkdir(dest, { recursive: true });
      const digest = await stageDigest(inputs);
      const packages = await installedPackagesOf(args.root);
      // The kernel is the package's file as it is; the initrd was made under the same SOURCE_DATE_EPOCH.
      const prov = await provenance(vars.playbook_dir, dest, sourceDateEpoch(environment));
      const out: Record<string, string> = {};
      for (const kind of ['kernel', 'initrd'] as const) {
        const path = join(dest, names[kind]);
        // Measured on the finished temp file, so the record is of exactly the bytes renamed into place.
        let size = 0;
        let sha256 = '';
        await atomicWrite(path, { file: sources[kind] }, async (tmp) => {
          [size, sha256] = [(await stat(tmp)).size, await checksumFile(tmp, 'sha256')];
        });
        await recordArtifact(dest, {
          name: names[kind],
          kind,
          size,
          sha256,
          ...(args.release !== undefined ? { release: args.release } : {}),
          ...(args.arch !== undefined ? { arch: args.arch } : {}),
          kernelVersion: kver,
          ...(kind === 'initrd' ? { packages } : {}),
          inputsDigest: digest,
          ...prov,
        });
        out[kind] = path;
      }
      return { changed: true, kernel_version: kver, kernel: out.kernel, initrd: out.initrd, inputs_digest: digest, ...used };
    } catch (err) {
      if (err instanceof ImgplayError) return failed(err.message + (err.hint ? ` (${err.hint})` : ''));
      throw err;
    }
  },
);
