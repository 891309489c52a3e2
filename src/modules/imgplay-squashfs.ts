// imgplay_squashfs: a tree squashed into the base image, named for its release and kernel, with its
// checksum and provenance recorded in the builds folder's SHA256SUMS and manifest.json.
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ImgplayError } from '../errors.js';
import { ARTIFACT_KINDS, artifactName } from '../image/artifact-kinds.js';
import { installedPackagesOf } from '../image/dpkg-status.js';
import { recordArtifact } from '../image/manifest.js';
import { buildSquashfs, treeKernelVersions } from '../image/squashfs.js';
import { BASE_IMAGE_FACT, inputsArg, inputsOf, provenance, sourceDateEpoch, stageDigest } from './support/artifact.js';
import { defineModule } from './spec.js';
import { failed } from './types.js';
export const imgplaySquashfs = defineModule(
  {
    name: 'imgplay_squashfs',
    collection: 'imgplay',
    doc: {
      short: 'Squashes a built tree into the base image (imgplay only).',
      description:
        "Runs on the build host (a play with `connection: local`). `mksquashfs` of `root` into `dest/name`, written under a temporary name and renamed when complete, with the contents of `/proc`, `/sys`, `/dev`, `/run` and `/tmp` left out (the directories stay). Refuses a tree with anything mounted inside. With `SOURCE_DATE_EPOCH` (an image build sets it by default: see [artifacts.md](artifacts.md#reproducible-builds)) the image is reproducible: every time is that one, `-reproducible`, and the manifest entry records it instead of a duration. Records the artifact in `SHA256SUMS` and `manifest.json` (see [artifacts.md](artifacts.md)) with the tree's packages and the digest of `inputs`. Sets the fact `imgplay_base_image` (the image's path) on its host, as `set_fact` with `cacheable: true` would: imgplay_kernel, imgplay_overlay and imgplay_cpio build on it when given no `base`, and a stage put back from the stage cache puts the fact back with it.",
      returns: '`name`, `path`, `size`, `sha256`, `kernel_version`, `inputs_digest`, `seconds`, `packages` (a count); `ansible_facts.imgplay_base_image` (the path).',
      checkMode: 'Says where it would write and sets the fact to that path; nothing is squashed.',
      differences: ['There is no Ansible equivalent.'],
    },
    args: {
      root: { type: 'path', required: true, description: 'The tree to squash.' },
      dest: { type: 'path', required: true, description: 'The builds folder.' },
      name: { description: "The file name; `{kver}` becomes the tree's one kernel version (from `/lib/modules`). Default: the base kind's name in the table of artifact kinds, `base.<release>.<kver>.squashfs.img`, with `release` (else the tree's `VERSION_CODENAME` in `/etc/os-release`)." },
      compression: {
        default: 'xz',
        choices: ['xz', 'zstd', 'gzip', 'lz4'],
        description: 'The compressor (the playbooks use `zstd` with `level` 15).',
      },
      level: { type: 'int', description: 'The compression level; applies to zstd and gzip only.' },
      block_size: { description: "mksquashfs's block size (e.g. `1M`)." },
      release: { description: 'Recorded in the manifest, and part of the default name.' },
      arch: { description: 'Recorded in the manifest.' },
      inputs: inputsArg,
    },
    checkMode: 'full',
  },
  async ({ conn, args, check, environment, signal, vars }) => {
    if (conn.kind !== 'local') return failed('imgplay_squashfs runs on the build host (a play with connection: local)');
    try {
      const inputs = inputsOf(args.inputs);
      const kvers = await treeKernelVersions(args.root);
      const pattern = args.name ?? ARTIFACT_KINDS.base.pattern;
      if (kvers.length > 1 && pattern.includes('{kver}')) return failed(`the tree has modules of several kernels (${kvers.join(', ')}); a base image matches exactly one`);
      const kver = kvers[0];
      if (kver === undefined && pattern.includes('{kver}')) return failed(`the tree has no kernel modules (no ${args.root}/lib/modules/*), so {kver} in the name has no value`);
      const release = args.release ?? (await treeCodename(args.root));
      if (args.name === undefined && release === undefined) return failed(`no release for the base's name: give release, or name (the tree's /etc/os-release has no VERSION_CODENAME)`);
      const name = args.name === undefined ? artifactName('base', { release, kernelVersion: kver }) : args.name.replace(/\{kver\}/g, kver ?? '');
      if (name.includes('/')) return failed(`name must be a file name, got '${name}'`);
      const dest = resolve(args.dest);
      // The next stages find the base by this fact (a fact, not a registered variable: it outlives the play).
      const facts = { ansible_facts: { [BASE_IMAGE_FACT]: join(dest, name) } };
      if (check) return { changed: true, name, path: join(dest, name), ...facts };
      await mkdir(dest, { recursive: true });
      const digest = await stageDigest(inputs);
      const packages = await installedPackagesOf(args.root);
      const epoch = sourceDateEpoch(environment);
      const built = await buildSquashfs({
        root: args.root,
        dest: join(dest, name),
        compression: args.compression,
        // A level only means something to zstd and gzip; one set for them in vars does not break xz.
        level: args.compression === 'zstd' || args.compression === 'gzip' ? args.level : undefined,
        blockSize: args.block_size,
        sourceDateEpoch: epoch,
        signal,
      });
      await recordArtifact(dest, {
        name,
        kind: 'base',
        size: built.size,
        sha256: built.sha256,
        ...(release !== undefined ? { release } : {}),
        ...(args.arch !== undefined ? { arch: args.arch } : {}),
        ...(kver !== undefined ? { kernelVersion: kver } : {}),
        packages,
        inputsDigest: digest,
        // A duration differs from build to build: a reproducible entry leaves it out.
        ...(epoch === undefined ? { buildSeconds: Math.round(built.seconds * 10) / 10 } : {}),
        ...(await provenance(vars.playbook_dir, dest, epoch)),
      });
      return { changed: true, name, path: built.path, size: built.size, sha256: built.sha256, kernel_version: kver, inputs_digest: digest, seconds: built.seconds, packages: packages.length, ...facts };
    } catch (err) {
      if (err instanceof ImgplayError) return failed(err.hint ? `${err.message}\n${err.hint}` : err.message);
      throw err;
    }
  },
);

// The release a tree was bootstrapped from, as its own /etc/os-release says (Debian and Ubuntu set it).
async function treeCodename(root: string): Promise<string | undefined> {
  const text = await readFile(join(root, 'etc/os-release'), 'utf8').catch(() => '');
  const m = /^VERSION_CODENAME=["']?([A-Za-z0-9_-]+)["']?$/m.exec(text);
  return m?.[1];
}
