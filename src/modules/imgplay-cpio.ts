// imgplay_cpio: an overlay's upper layer archived as <name>.overlay.cpio.gz (whiteouts included), with
// its package delta against the base and provenance recorded in SHA256SUMS and manifest.json.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ImgplayError } from '../errors.js';
import { buildOverlayCpio } from '../image/cpio.js';
import { installedPackagesOf, packageDelta, parseDpkgStatus } from '../image/dpkg-status.js';
import { readManifest, recordArtifact } from '../image/manifest.js';
import { BASE_IMAGE_FACT, baseArgDoc, baseImageOf, inputsArg, inputsOf, provenance, sourceDateEpoch, stageDigest } from './support/artifact.js';
import { overlayLayout } from './support/overlay-layout.js';
import { noteRead } from '../host/reads.js';
import { defineModule } from './spec.js';
import { failed } from './types.js';
export const imgplayCpio = defineModule(
  {
    name: 'imgplay_cpio',
    collection: 'imgplay',
    doc: {
      short: "Archives an overlay's upper layer as `<name>.overlay.cpio.gz` (imgplay only).",
      description:
        "Runs on the build host (a play with `connection: local`). The overlay's upper directory as a newc `cpio` compressed with `gzip -n`, in sorted order, with owners, modes, symlinks, hard links, device nodes and overlayfs whiteouts (character devices 0/0) kept, so a file the overlay deleted stays deleted at boot. Directories overlayfs marked opaque are listed in `.imgplay/opaque` inside the archive (cpio cannot carry xattrs; the boot script marks them again). With `SOURCE_DATE_EPOCH` (an image build sets it by default: see [artifacts.md](artifacts.md#reproducible-builds)) the archive is reproducible: later times are clamped to it, inode numbers renumbered. Records the artifact in `SHA256SUMS` and `manifest.json` with its packages, its package delta against `base` and the base's name and checksum. `overlay: <dir>` names the folder imgplay_overlay mounted (its `dir`): the upper directory is `<dir>/rw/upper` and the base's mount `<dir>/lower`, as imgplay_overlay lays them out.",
      returns: '`name`, `path`, `size`, `sha256`, `entries`, `inputs_digest`, `base` (the base image it was compared with).',
      checkMode: 'Says where it would write; nothing is archived.',
      differences: ['There is no Ansible equivalent.'],
    },
    args: {
      overlay: { type: 'path', description: "The overlay's folder, as given to imgplay_overlay as `dir` (or returned by it): its upper directory and base mount are found inside it." },
      upper: { type: 'path', description: "The overlay's upper directory, for an overlay laid out otherwise than imgplay_overlay lays it out." },
      dest: { type: 'path', required: true, description: 'The builds folder.' },
      name: { required: true, description: 'The file name of the archive.' },
      base: { type: 'path', description: `The base image the overlay was built over: its entry in the manifest.json beside it gives the overlay's entry the base's name, checksum and inputs digest (an archive without one fails). ${baseArgDoc}` },
      lower: { type: 'path', description: "With `upper`: where the base is mounted, for the package delta (default: `lower` beside `upper`'s `rw` folder, where imgplay_overlay mounts it)." },
      inputs: inputsArg,
    },
    mutuallyExclusive: [
      ['overlay', 'upper'],
      ['overlay', 'lower'],
    ],
    requiredOneOf: [['overlay', 'upper']],
    checkMode: 'full',
  },
  async ({ conn, args, check, environment, signal, vars }) => {
    if (conn.kind !== 'local') return failed('imgplay_cpio runs on the build host (a play with connection: local)');
    if (args.name.includes('/')) return failed(`name must be a file name, got '${args.name}'`);
    // The spec's required_one_of and mutually_exclusive give exactly one of overlay and upper.
    const layout = args.overlay !== undefined ? overlayLayout(args.overlay) : undefined;
    const upper = layout?.upper ?? (args.upper as string);
    if (!existsSync(upper)) return failed(`the overlay's upper directory ${upper} does not exist`);
    const dest = resolve(args.dest);
    try {
      const inputs = inputsOf(args.inputs);
      // An overlay's manifest entry names the base it goes over: there must be one, recorded beside it.
      const base = baseImageOf(args.base, vars);
      if (base === undefined) return failed(`no base image the overlay was built over: give base, or build the base first (imgplay_squashfs sets the ${BASE_IMAGE_FACT} fact of the build host)`);
      if (check) return { changed: true, name: args.name, path: join(dest, args.name), base };
      // The base is an input of the stage: the stage cache keys on its bytes.
      noteRead({ kind: 'file', path: base });
      const baseEntry = (await readManifest(resolve(base, '..'))).artifacts.find((a) => a.name === basename(base));
      if (baseEntry === undefined) return failed(`the base image ${base} has no entry in the manifest.json beside it (imgplay_squashfs records one)`);
      await mkdir(dest, { recursive: true });
      const digest = await stageDigest(inputs, baseEntry.inputsDigest);
      // The upper's dpkg status (copied up when the overlay installed anything) against the base's.
      const lower = layout?.lower ?? args.lower ?? join(upper, '..', '..', 'lower');
      const basePackages = existsSync(join(lower, 'var/lib/dpkg/status')) ? await installedPackagesOf(lower) : baseEntry.packages;
      const upperStatus = join(upper, 'var/lib/dpkg/status');
      const packages = existsSync(upperStatus) ? parseDpkgStatus(await readFile(upperStatus, 'utf8')) : basePackages;
      const epoch = sourceDateEpoch(environment);
      const built = await buildOverlayCpio({ upper, dest: join(dest, args.name), sourceDateEpoch: epoch, signal });
      await recordArtifact(dest, {
        name: args.name,
        kind: 'overlay',
        size: built.size,
        sha256: built.sha256,
        ...(baseEntry.release !== undefined ? { release: baseEntry.release } : {}),
        ...(baseEntry.arch !== undefined ? { arch: baseEntry.arch } : {}),
        ...(baseEntry.kernelVersion !== undefined ? { kernelVersion: baseEntry.kernelVersion } : {}),
        ...(packages !== undefined ? { packages } : {}),
        ...(packages !== undefined && basePackages !== undefined ? { packageDelta: packageDelta(basePackages, packages) } : {}),
        inputsDigest: digest,
        base: { name: baseEntry.name, sha256: baseEntry.sha256 },
        ...(await provenance(vars.playbook_dir, dest, epoch)),
      });
      return { changed: true, name: args.name, path: built.path, size: built.size, sha256: built.sha256, entries: built.entries, inputs_digest: digest, base };
    } catch (err) {
      if (err instanceof ImgplayError) return failed(err.hint ? `${err.message}\n${err.hint}` : err.message);
      throw err;
    }
  },
);
