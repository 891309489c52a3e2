// The kernel set of a builds folder: a kernel, an initrd and a base only boot together when the
// base's modules are for the kernel that boots. Versions come from manifest.json, else from the names
// imgplay gives its artifacts (the table of artifact kinds: vmlinuz-<kver>, initrd.img-<kver>, base.<release>.<kver>.squashfs.img).
import { basename, dirname } from 'node:path';
import { ImgplayError } from '../errors.js';
import { parseArtifactName } from './artifact-kinds.js';
import { type Manifest, readManifest } from './manifest.js';

/** A kernel set whose parts were built for different kernels. */
export class KernelMismatchError extends ImgplayError {}

/** The kernel version an artifact was built for: manifest.json's record, else its name. */
export async function artifactKernelVersion(path: string, manifest?: Manifest): Promise<string | undefined> {
  const name = basename(path);
  const m = manifest ?? (await readManifest(dirname(path)).catch(() => undefined));
  const recorded = m?.artifacts.find((a) => a.name === name)?.kernelVersion;
  return recorded ?? parseArtifactName(name)?.kernelVersion;
}

/** Fails, naming both versions, when a base's modules are not for the kernel. */
export async function checkBaseMatchesKernel(kver: string, basePath: string, manifest?: Manifest): Promise<void> {
  const baseKver = await artifactKernelVersion(basePath, manifest);
  if (baseKver === undefined) throw new KernelMismatchError(`cannot tell which kernel the base ${basename(basePath)} has modules for (not in manifest.json, and not named base.<release>.<kver>.squashfs.img)`);
  if (baseKver !== kver) {
    throw new KernelMismatchError(`the initrd's kernel is ${kver} but the base ${basename(basePath)} has modules for ${baseKver}`, {
      hint: 'build the base and the initrd from the same kernel_package in one run (the mirror may have moved to a new kernel between them)',
    });
  }
}
