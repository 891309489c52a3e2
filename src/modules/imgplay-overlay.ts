// imgplay_overlay: a writable overlay over the read-only base image, to provision an overlay in.
// The base is loop-mounted once and shared by every overlay of the run; the upper and work
// directories live on a tmpfs; every mount goes through the build host connection's guard.
import { existsSync } from 'node:fs';
import { ARTIFACT_KINDS } from '../image/artifact-kinds.js';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { holdBuildDir } from '../image/build-lock.js';
import { MountError } from '../host/mount-guard.js';
import { isMountPoint, mountTable, removeTree } from '../host/mount-table.js';
import { ImgplayError } from '../errors.js';
import { noteRead } from '../host/reads.js';
import { defineModule } from './spec.js';
import { failed } from './types.js';
export const imgplayOverlay = defineModule(
  {
    name: 'imgplay_overlay',
    collection: 'imgplay',
    doc: {
      short: 'Mounts a writable overlay over the read-only base image to provision in, or takes it down (imgplay only).',
      description:
        'Runs on the build host (a play with `connection: local`). `state: mounted` loop-mounts `base` read-only at `lower` (once: every overlay shares it), a tmpfs of `size` at `dir/rw` for the upper and work directories, and an overlay at `dir/merged`; `state: unmounted` unmounts the merged view and keeps the upper layer for archiving; `state: absent` unmounts everything under `dir` and deletes it.',
      returns: '`dir`, `merged` and `upper` (paths), and `lower` when it mounted.',
      checkMode: 'Says what it would mount, unmount or delete; nothing is touched.',
      differences: ['There is no Ansible equivalent.'],
    },
    args: {
      base: { type: 'path', description: 'The base squashfs image on the build host.' },
      dir: { type: 'path', required: true, description: "This overlay's working directory: `rw/upper`, `rw/work` and `merged/` are made inside it." },
      lower: { type: 'path', description: 'Where the base is mounted read-only, shared by all overlays (default: `base-lower` beside `dir`).' },
      size: { default: '4G', description: 'tmpfs size for the upper and work directories.' },
      state: {
        default: 'mounted',
        choices: ['mounted', 'unmounted', 'absent'],
        description: '`mounted`: ready to provision; `unmounted`: merged view gone, upper kept for archiving; `absent`: all gone.',
      },
    },
    requiredIf: [['state', 'mounted', ['base']]],
    checkMode: 'full',
  },
  async ({ conn, args, check }) => {
    if (conn.kind !== 'local') return failed('imgplay_overlay runs on the build host (a play with connection: local)');
    const dir = args.dir.replace(/\/+$/, '');
    const rw = join(dir, 'rw');
    const upper = join(rw, 'upper');
    const work = join(rw, 'work');
    const merged = join(dir, 'merged');
    const paths = { dir, merged, upper };
    try {
      const table = await mountTable();
      if (args.state === 'mounted') {
        if (isMountPoint(table, merged)) return { changed: false, ...paths };
        // The spec's required_if makes base present whenever state is mounted.
        const base = args.base as string;
        // The base is an input of the stage: the stage cache keys on its bytes.
        if (base !== '') noteRead({ kind: 'file', path: base });
        if (!existsSync(base)) return failed(`the base image ${base} does not exist (build the base first)`);
        if (check) return { changed: true, ...paths };
        // Held like a build root's folder: one run at a time, a dead run's mounts taken over, and the folders this
        // run made removed at its end when empty (an overlay that failed under --limit has no later task to do it).
        const tookOver = await holdBuildDir(dirname(dir));
        if (tookOver !== undefined) process.emitWarning(tookOver, { code: 'IMGPLAY_TAKEOVER' });
        const lower = (args.lower ?? join(dir, '..', 'base-lower')).replace(/\/+$/, '');
        const lowerPath = join(lower);
        if (!isMountPoint(table, lowerPath)) {
          await mkdir(lowerPath, { recursive: true });
          await conn.mounts.mount({ source: base, target: lowerPath, fstype: ARTIFACT_KINDS.base.fsType, options: ['loop', 'ro'] });
        }
        await mkdir(rw, { recursive: true });
        if (!isMountPoint(table, rw)) await conn.mounts.mount({ source: 'imgplay-overlay', target: rw, fstype: 'tmpfs', options: [`size=${args.size}`, 'mode=0755'] });
        await mkdir(upper, { recursive: true });
        await mkdir(work, { recursive: true });
        await mkdir(merged, { recursive: true });
        await conn.mounts.mount({ source: 'overlay', target: merged, fstype: 'overlay', options: [`lowerdir=${lowerPath}`, `upperdir=${upper}`, `workdir=${work}`] });
        return { changed: true, ...paths, lower: lowerPath };
      }
      if (args.state === 'unmounted') {
        if (!isMountPoint(table, merged)) return { changed: false, ...paths };
        if (!check) await conn.mounts.unmount(merged);
        return { changed: true, ...paths };
      }
      if (!existsSync(dir)) return { changed: false, ...paths };
      if (!check) {
        await conn.mounts.unmount(dir);
        await removeTree(dir);
      }
      return { changed: true, ...paths };
    } catch (err) {
      if (err instanceof MountError || err instanceof ImgplayError) return failed(err.hint ? `${err.message}\n${err.hint}` : err.message);
      throw err;
    }
  },
);
