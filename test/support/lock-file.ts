// A lock file for test caches built once and shared by test files: it holds the owner's pid, and a
// lock whose owner died is taken over.
import { open, readFile, rm, unlink } from 'node:fs/promises';

import { isAlive } from '../../src/host/process-group.js';

/**
 * Takes the lock at `path`, waiting while a live process holds it; resolves to its release. Returns
 * early, holding nothing, once `done` says another process finished the work meanwhile.
 */
export async function lockFile(path: string, what: string, timeoutMs: number, done: () => boolean | Promise<boolean>, pollMs = 2000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await done()) return async () => undefined;
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (owner > 0 && !isAlive(owner)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for another process building ${what} (lock ${path})`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
