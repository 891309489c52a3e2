// Temporary files on the target as Python's tempfile.mkstemp makes them, for modules that hand a file
// to a program running there (crontab, ssh-keygen) or keep a backup in the temp directory.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ModuleContext } from '../types.js';
import { hostPathFollow } from './target-path.js';

// Python's tempfile names: eight characters from lower-case letters, digits and the underscore.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789_';

/** The target's temp directory as a module there sees it: the task's TMPDIR, else /tmp (the controller's TMPDIR for a local target). */
export function targetTempDir(ctx: ModuleContext<unknown>): string {
  return ctx.environment.TMPDIR ?? (ctx.conn.kind === 'local' ? process.env.TMPDIR : undefined) ?? '/tmp';
}

/** Creates a new file `prefix` + 8 random characters in `dir` (mode 0600, as mkstemp) holding `content`; returns its target path. */
export async function makeTargetTemp(ctx: ModuleContext<unknown>, prefix: string, content: string, dir = targetTempDir(ctx)): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const name = [...randomBytes(8)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
    const path = posix.join(dir, `${prefix}${name}`);
    try {
      await writeFile(await hostPathFollow(ctx.conn, path), content, { flag: 'wx', mode: 0o600 });
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw err;
    }
  }
}
