// The kernel set of a builds folder: a kernel, an initrd and a base only boot together when the
// base's modules are for the kernel that boots. Versions come from manifest.json, else from the names
// imgplay gives its artifacts (vmlinuz-<kver>, initrd.img-<kver>, base.<release>.<kver>.squashfs.img).
import { randomBytes } from 'node:crypto';
import { copyFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ImgplayError } from '../errors.js';
import { type Manifest, hashFile, readManifest } from './manifest.js';

/** A kernel set whose parts were built for different kernels. */
export class KernelMismatchError extends ImgplayError {}

/** The kernel version in an artifact's name, when it follows imgplay's naming. */
export function kernelVersionFromName(name: string): string | undefined {
  const m = /^(?:vmlinuz-|initrd\.img-)(.+)$/.exec(name) ?? /^base\.[^.]+\.(.+)\.squashfs\.img$/.exec(name);
  return m?.[1];
}

/** The kernel version an artifact was built for: manifest.json's record, else its name. */
export async function artifactKernelVersion(path: string, manifest?: Manifest): Promise<string | undefined> {
  const name = basename(path);
  const m = manifest ?? (await readManifest(dirname(path)).catch(() => undefined));
  const recorded = m?.artifacts.find((a) => a.name === name)?.kernelVersion;
  return recorded ?? kernelVersionFromName(name);
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

/** Copies a file into a builds folder under a temporary name and renames it when complete. */
export async function exportFile(src: string, destDir: string, name: string): Promise<{ path: string; size: number; sha256: string }> {
  const dest = join(destDir, name);
  const tmp = `${dest}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await copyFile(src, tmp);
    const [size, sha256] = [(await stat(tmp)).size, await hashFile(tmp)];
    await rename(tmp, dest);
    return { path: dest, size, sha256 };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
