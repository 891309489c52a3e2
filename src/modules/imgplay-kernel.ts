// imgplay_kernel: a build tree's kernel and initrd exported to the builds folder as vmlinuz-<kver> and
// initrd.img-<kver>, recorded in SHA256SUMS and manifest.json, after checking that the base image's
// modules are for the same kernel (a mismatched set boots to a root with no drivers).
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ImgplayError } from '../errors.js';
import { installedPackagesOf } from '../image/dpkg-status.js';
import { checkBaseMatchesKernel } from '../image/kernel-set.js';
import { hashFile, recordArtifact } from '../image/manifest.js';
import { treeKernelVersions } from '../image/squashfs.js';
import { type InputsArg, inputsProperty, provenance, stageDigest } from './support/artifact.js';
import { atomicWrite } from './support/atomic-write.js';
import { strArg } from './support/schema.js';
import { type Module, failed } from './types.js';

/** imgplay_kernel's arguments. */
export interface KernelArgs {
  root: string;
  /** The builds folder. */
  dest: string;
  /** The base image the kernel must match. */
  base?: string;
  release?: string;
  arch?: string;
  inputs: InputsArg;
}

export const imgplayKernel: Module<KernelArgs> = {
  name: 'imgplay_kernel',
  schema: {
    type: 'object',
    required: ['root', 'dest'],
    properties: { root: strArg, dest: strArg, base: strArg, release: strArg, arch: strArg, inputs: inputsProperty },
    additionalProperties: false,
  },
  checkMode: true,
  async run({ conn, args, check, vars }) {
    if (conn.kind !== 'local') return failed('imgplay_kernel runs on the build host (a play with connection: local)');
    try {
      const kvers = await treeKernelVersions(args.root);
      if (kvers.length !== 1) return failed(kvers.length === 0 ? `${args.root} has no kernel (no lib/modules/*)` : `${args.root} has several kernels (${kvers.join(', ')}); the initrd is made for exactly one`);
      const kver = kvers[0]!;
      const sources = { kernel: join(args.root, 'boot', `vmlinuz-${kver}`), initrd: join(args.root, 'boot', `initrd.img-${kver}`) };
      for (const [what, path] of Object.entries(sources)) if (!existsSync(path)) return failed(`the ${what} ${path} does not exist${what === 'initrd' ? ' (was mkinitramfs run?)' : ''}`);
      if (args.base !== undefined && args.base !== '') await checkBaseMatchesKernel(kver, args.base);
      const dest = resolve(args.dest);
      const names = { kernel: `vmlinuz-${kver}`, initrd: `initrd.img-${kver}` };
      if (check) return { changed: true, kernel_version: kver, kernel: join(dest, names.kernel), initrd: join(dest, names.initrd) };
      await mkdir(dest, { recursive: true });
      const digest = await stageDigest(args.inputs);
      const packages = await installedPackagesOf(args.root);
      const prov = await provenance(vars.playbook_dir, dest);
      const out: Record<string, string> = {};
      for (const kind of ['kernel', 'initrd'] as const) {
        const path = join(dest, names[kind]);
        // Measured on the finished temp file, so the record is of exactly the bytes renamed into place.
        let size = 0;
        let sha256 = '';
        await atomicWrite(path, { file: sources[kind] }, async (tmp) => {
          [size, sha256] = [(await stat(tmp)).size, await hashFile(tmp)];
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
      return { changed: true, kernel_version: kver, kernel: out.kernel, initrd: out.initrd, inputs_digest: digest };
    } catch (err) {
      if (err instanceof ImgplayError) return failed(err.message + (err.hint ? ` (${err.hint})` : ''));
      throw err;
    }
  },
};
