// imgplay_squashfs: a tree squashed into the base image, named for its release and kernel, with its
// checksum and provenance recorded in the builds folder's SHA256SUMS and manifest.json.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ImgplayError } from '../errors.js';
import { installedPackagesOf } from '../image/dpkg-status.js';
import { recordArtifact } from '../image/manifest.js';
import { buildSquashfs, treeKernelVersions } from '../image/squashfs.js';
import { type InputsArg, inputsProperty, provenance, sourceDateEpoch, stageDigest } from './support/artifact.js';
import { strArg } from './support/schema.js';
import { type Module, failed } from './types.js';

/** imgplay_squashfs's arguments. */
export interface SquashfsArgs {
  root: string;
  /** The builds folder. */
  dest: string;
  /** The file name; `{kver}` becomes the tree's kernel version (from /lib/modules). */
  name: string;
  compression: 'xz' | 'zstd' | 'gzip' | 'lz4';
  level?: number;
  block_size?: string;
  release?: string;
  arch?: string;
  inputs: InputsArg;
}

export const imgplaySquashfs: Module<SquashfsArgs> = {
  name: 'imgplay_squashfs',
  schema: {
    type: 'object',
    required: ['root', 'dest', 'name'],
    properties: {
      root: strArg,
      dest: strArg,
      name: strArg,
      compression: { enum: ['xz', 'zstd', 'gzip', 'lz4'], default: 'xz' },
      level: { type: 'integer' },
      block_size: strArg,
      release: strArg,
      arch: strArg,
      inputs: inputsProperty,
    },
    additionalProperties: false,
  },
  checkMode: true,
  async run({ conn, args, check, environment, signal, vars }) {
    if (conn.kind !== 'local') return failed('imgplay_squashfs runs on the build host (a play with connection: local)');
    try {
      const kvers = await treeKernelVersions(args.root);
      if (kvers.length > 1 && args.name.includes('{kver}')) return failed(`the tree has modules of several kernels (${kvers.join(', ')}); a base image matches exactly one`);
      const kver = kvers[0];
      if (kver === undefined && args.name.includes('{kver}')) return failed(`the tree has no kernel modules (no ${args.root}/lib/modules/*), so {kver} in the name has no value`);
      const name = args.name.replace(/\{kver\}/g, kver ?? '');
      if (name.includes('/')) return failed(`name must be a file name, got '${name}'`);
      const dest = resolve(args.dest);
      if (check) return { changed: true, name, path: join(dest, name) };
      await mkdir(dest, { recursive: true });
      const digest = await stageDigest(args.inputs);
      const packages = await installedPackagesOf(args.root);
      const built = await buildSquashfs({
        root: args.root,
        dest: join(dest, name),
        compression: args.compression,
        // A level only means something to zstd and gzip; one set for them in vars does not break xz.
        level: args.compression === 'zstd' || args.compression === 'gzip' ? args.level : undefined,
        blockSize: args.block_size,
        sourceDateEpoch: sourceDateEpoch(environment),
        signal,
      });
      await recordArtifact(dest, {
        name,
        kind: 'base',
        size: built.size,
        sha256: built.sha256,
        ...(args.release !== undefined ? { release: args.release } : {}),
        ...(args.arch !== undefined ? { arch: args.arch } : {}),
        ...(kver !== undefined ? { kernelVersion: kver } : {}),
        packages,
        inputsDigest: digest,
        buildSeconds: Math.round(built.seconds * 10) / 10,
        ...(await provenance(vars.playbook_dir, dest)),
      });
      return { changed: true, name, path: built.path, size: built.size, sha256: built.sha256, kernel_version: kver, inputs_digest: digest, seconds: built.seconds, packages: packages.length };
    } catch (err) {
      if (err instanceof ImgplayError) return failed(err.hint ? `${err.message}\n${err.hint}` : err.message);
      throw err;
    }
  },
};
