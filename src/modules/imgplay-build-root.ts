// imgplay_build_root: a tmpfs to build a tree in (fast, and gone with its mounts when the run ends),
// or its removal: everything mounted inside is unmounted first and the delete never crosses a mount.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { holdBuildDir } from '../image/build-lock.js';
import { checkArtifactRoom, rememberBuildRoot } from '../image/free-space.js';
import { isMountPoint, mountTable, mountsUnder, removeTree } from '../host/mount-table.js';
import { MountError } from '../host/mount-guard.js';
import { ImgplayError } from '../errors.js';
import { defineModule } from './spec.js';
import { failed } from './types.js';

export const imgplayBuildRoot = defineModule(
  {
    name: 'imgplay_build_root',
    collection: 'imgplay',
    doc: {
      short: 'Mounts a tmpfs to build a tree in, or unmounts and deletes it (imgplay only).',
      description:
        'Runs on the build host (a play with `connection: local`). Outside check mode it holds the folder containing `path` (`build_dir`) for the whole run through a run file, `.imgplay-run.json`: a second run is refused, and a run that died is taken over ([failure.md](failure.md)).',
      returns: '`path`, and `size` when it mounted a tmpfs.',
      checkMode: 'Says what it would mount or delete; neither holds the build folder nor touches it.',
      differences: ['There is no Ansible equivalent.'],
    },
    args: {
      path: { type: 'path', required: true, description: 'The build directory (absolute, not `/`).' },
      size: { default: '4G', description: "tmpfs size (`''`: a plain directory, no tmpfs)." },
      state: {
        default: 'present',
        choices: ['present', 'absent'],
        description:
          '`present` mounts the tmpfs (no change if mounted); `absent` unmounts everything this run mounted under `path`, then deletes it, refusing if anything else is still mounted inside.',
      },
      size_var: { description: 'The playbook variable `size` came from (`basefs_tmpfs_size`): a bootstrap that fills the tmpfs says to raise it.' },
      artifact_dir: { type: 'path', description: 'A builds folder to check for room before anything is built (the sizes of its last `manifest.json`).' },
    },
    checkMode: 'full',
  },
  async ({ conn, args, check }) => {
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
);
