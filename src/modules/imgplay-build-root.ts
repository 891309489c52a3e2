// imgplay_build_root: a tmpfs to build a tree in (fast, and gone with its mounts when the run ends),
// or its removal: everything mounted inside is unmounted first and the delete never crosses a mount.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { holdBuildDir } from '../image/build-lock.js';
import { checkArtifactRoom, rememberBuildRoot } from '../image/free-space.js';
import { isMountPoint, mountTable, mountsUnder, removeTree } from '../image/mount-table.js';
import { MountError } from '../image/mount-guard.js';
import { ImgplayError } from '../errors.js';
import { strArg } from './support/schema.js';
import { type Module, failed } from './types.js';

/** imgplay_build_root's arguments. */
export interface BuildRootArgs {
  path: string;
  /** tmpfs size, e.g. 4G or 50%; an empty string gives a plain directory instead of a tmpfs. */
  size: string;
  state: 'present' | 'absent';
  /** The playbook variable `size` comes from, named when the tmpfs fills up. */
  size_var?: string;
  /** A builds folder to check for room (from its last manifest.json) before anything is built. */
  artifact_dir?: string;
}

export const imgplayBuildRoot: Module<BuildRootArgs> = {
  name: 'imgplay_build_root',
  schema: {
    type: 'object',
    required: ['path'],
    properties: {
      path: strArg,
      size: { type: 'string', default: '4G' },
      state: { enum: ['present', 'absent'], default: 'present' },
      size_var: strArg,
      artifact_dir: strArg,
    },
    additionalProperties: false,
  },
  checkMode: true,
  async run({ conn, args, check }) {
    if (conn.kind !== 'local') return failed('imgplay_build_root runs on the build host (a play with connection: local)');
    if (!args.path.startsWith('/') || args.path === '/') return failed(`path must be an absolute directory other than /, got '${args.path}'`);
    const path = args.path.replace(/\/+$/, '');
    try {
      // The folder holding the build roots (build_dir) is held for the whole run: one run at a time.
      let tookOver: string | undefined;
      if (!check) tookOver = await holdBuildDir(dirname(path));
      if (tookOver !== undefined) process.emitWarning(tookOver, { code: 'IMGPLAY_TAKEOVER' });
      if (args.state === 'present' && args.artifact_dir) await checkArtifactRoom(args.artifact_dir);
      const table = await mountTable();
      if (args.state === 'present') {
        rememberBuildRoot(path, args.size, args.size_var || undefined);
        if (args.size === '' || isMountPoint(table, path)) {
          if (!check) await mkdir(path, { recursive: true });
          return { changed: false, path };
        }
        if (!check) {
          await mkdir(path, { recursive: true });
          await conn.mounts.mount({ source: 'imgplay-build', target: path, fstype: 'tmpfs', options: [`size=${args.size}`, 'mode=0755'] });
        }
        return { changed: true, path, size: args.size };
      }
      const present = mountsUnder(table, path).length > 0 || existsSync(path);
      if (!present) return { changed: false, path };
      if (check) return { changed: true, path };
      await conn.mounts.unmount(path);
      // Whatever is still mounted was not made by this run: removeTree refuses rather than cross it.
      await removeTree(path);
      return { changed: true, path };
    } catch (err) {
      if (err instanceof MountError || err instanceof ImgplayError) return failed(err.hint ? `${err.message}\n${err.hint}` : err.message);
      throw err;
    }
  },
};
