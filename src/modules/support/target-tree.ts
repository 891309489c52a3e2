// Copying a directory that is already on the target into another place on the target (copy with remote_src).
import { chmod, copyFile, lstat, mkdir, readFile, readdir, readlink, symlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { applyFileAttrs } from './file-attrs.js';
import type { FsContext } from './file-states.js';
import { hostPathFollow, hostPathNoFollow, lstatOrUndefined } from './target-path.js';

/**
 * Merges the directory `src` into `dest` (created if missing): new and differing files are copied with
 * their modes, symlinks are recreated as links, nothing in `dest` is removed. owner/group then apply to
 * everything below `dest`. Returns whether anything changed (or would, in check mode).
 */
export async function mergeTree(ctx: FsContext, src: string, dest: string, attrs: { owner?: string | number | undefined; group?: string | number | undefined }): Promise<boolean> {
  const srcHost = await hostPathFollow(ctx.conn, src);
  let changed = false;
  const merge = async (from: string, to: string): Promise<void> => {
    const toHost = await hostPathNoFollow(ctx.conn, to);
    if ((await lstatOrUndefined(toHost)) === undefined) {
      changed = true;
      if (ctx.check) return;
      await mkdir(toHost);
      await chmod(toHost, (await lstat(from)).mode & 0o7777);
    }
    for (const e of await readdir(from, { withFileTypes: true })) {
      const fromEntry = posix.join(from, e.name);
      const toEntry = posix.join(to, e.name);
      const there = await lstatOrUndefined(await hostPathNoFollow(ctx.conn, toEntry));
      if (e.isDirectory()) {
        await merge(fromEntry, toEntry);
      } else if (e.isSymbolicLink()) {
        if (there !== undefined) continue;
        changed = true;
        if (!ctx.check) await symlink(await readlink(fromEntry), await hostPathNoFollow(ctx.conn, toEntry));
      } else if (there === undefined || !there.isFile() || !(await sameBytes(fromEntry, await hostPathNoFollow(ctx.conn, toEntry)))) {
        changed = true;
        if (ctx.check) continue;
        const toHostEntry = await hostPathNoFollow(ctx.conn, toEntry);
        await copyFile(fromEntry, toHostEntry);
        await chmod(toHostEntry, (await lstat(fromEntry)).mode & 0o7777);
      }
    }
  };
  await merge(srcHost, dest);
  if ((attrs.owner ?? attrs.group) !== undefined) {
    const chownAll = async (path: string): Promise<void> => {
      const host = await hostPathNoFollow(ctx.conn, path);
      const st = await lstatOrUndefined(host);
      if (st === undefined) return;
      changed = (await applyFileAttrs(ctx, host, path, attrs)) || changed;
      if (st.isDirectory()) for (const name of await readdir(host)) await chownAll(posix.join(path, name));
    };
    await chownAll(dest);
  }
  return changed;
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = [await lstat(a), await lstat(b)];
  if (x.size !== y.size) return false;
  return (await readFile(a)).equals(await readFile(b));
}
