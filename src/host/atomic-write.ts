// Replaces a file in one step: write a temp file beside it, give it the old file's mode and owner, rename over.
import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, lstat, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The process umask, which decides the mode of new files and of symbolic modes without a who-part. */
export function currentUmask(): number {
  return process.umask();
}

/** New bytes for a file: in memory, or a controller/host file to copy. */
export type FileData = { data: Buffer | string } | { file: string };

/**
 * Writes `source` to the host path `dest` atomically, as Ansible's atomic_move does: an existing file's
 * mode and ownership carry over; a new file gets 0666 less the umask. Readers never see half a file.
 * `check` sees the finished temp file first (for `validate`) and may throw to leave `dest` untouched.
 */
export async function atomicWrite(dest: string, source: FileData, check?: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    if ('file' in source) await copyFile(source.file, tmp);
    else await writeFile(tmp, source.data, { flag: 'wx', mode: 0o600 });
    const old = await lstat(dest).catch(() => undefined);
    if (old !== undefined && !old.isSymbolicLink()) {
      await chmod(tmp, old.mode & 0o7777);
      // Only root may give a file away; Ansible shrugs off EPERM here too.
      await chown(tmp, old.uid, old.gid).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPERM') throw err;
      });
    } else {
      await chmod(tmp, 0o666 & ~currentUmask());
    }
    if (check !== undefined) await check(tmp);
    await rename(tmp, dest);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
