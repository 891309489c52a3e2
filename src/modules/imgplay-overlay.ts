// imgplay_overlay: a writable overlay over the read-only base image, to provision an overlay in.
// The base is loop-mounted read-only inside the overlay's folder (or at a shared `lower`); the upper and
// work directories live on a tmpfs; every mount goes through the build host connection's guard.
import { existsSync } from 'node:fs';
import { ARTIFACT_KINDS } from '../image/artifact-kinds.js';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { holdBuildDir } from '../image/build-lock.js';
import { MountError } from '../host/mount-guard.js';
import { isMountPoint, mountTable, removeTree } from '../host/mount-table.js';
import { ImgplayError } from '../errors.js';
import { noteRead } from '../host/reads.js';
import { BASE_IMAGE_FACT, baseArgDoc, baseImageOf } from './support/artifact.js';
import { overlayLayout } from './support/overlay-layout.js';
import { defineModule } from './spec.js';
import { failed } from './types.js';
export const imgplayOverlay = defineModule(
  {
    name: 'imgplay_overlay',
    collection: 'imgplay',
    doc: {
      short: 'Mounts a writable overlay over the read-only base image to provision in, or takes it down (imgplay only).',
      description:
        'Runs on the build host (a play with `connection: local`). `state: mounted` loop-mounts `base` read-only at `lower`, a tmpfs of `size` at `dir/rw` for the upper and work directories (`dir/rw/upper`, `dir/rw/work`), and an overlay at `dir/merged`; `state: unmounted` unmounts the merged view and keeps the upper layer for archiving (imgplay_cpio with `overlay: <dir>`); `state: absent` unmounts everything under `dir` and deletes it. The result names every folder, so later tasks take them from it (`register`) instead of spelling them again.',
      returns: '`dir`, `merged`, `upper` and `work` (paths) in every state; with `state: mounted` also `lower` and `base` (the image mounted there, or to be).',
      checkMode: 'Says what it would mount, unmount or delete, with the same paths; nothing is touched.',
      differences: ['There is no Ansible equivalent.'],
    },
    args: {
      base: { type: 'path', description: `The base squashfs image on the build host (needed by \`state: mounted\`). ${baseArgDoc}` },
      dir: { type: 'path', required: true, description: "This overlay's working directory: `rw/upper`, `rw/work`, `merged/` (and by default `lower/`) are made inside it." },
      lower: { type: 'path', description: 'Where the base is mounted read-only (default: `lower` inside `dir`, so `state: absent` takes it down with the rest; several overlays may share one by naming the same folder).' },
      size: { default: '4G', description: 'tmpfs size for the upper and work directories.' },
      state: {
        default: 'mounted',
        choices: ['mounted', 'unmounted', 'absent'],
        description: '`mounted`: ready to provision; `unmounted`: merged view gone, upper kept for archiving; `absent`: all gone.',
      },
    },
    checkMode: 'full',
  },
  async ({ conn, args, check, vars }) => {
    if (conn.kind !== 'local') return failed('imgplay_overlay runs on the build host (a play with connection: local)');
    const paths = overlayLayout(args.dir);
    const { dir, merged, upper, work } = paths;
    const rw = join(dir, 'rw');
    try {
      const table = await mountTable();
      if (args.state === 'mounted') {
        const lower = join(args.lower ?? paths.lower).replace(/\/+$/, '');
        const base = baseImageOf(args.base, vars);
        if (base === undefined) return failed(`no base image to mount: give base, or build the base first (imgplay_squashfs sets the ${BASE_IMAGE_FACT} fact of the build host)`);
        const made = { ...paths, lower, base };
        if (isMountPoint(table, merged)) return { changed: false, ...made };
        // The base is an input of the stage: the stage cache keys on its bytes.
        noteRead({ kind: 'file', path: base });
        if (!existsSync(base)) return failed(`the base image ${base} does not exist (build the base first)`);
        if (check) return { changed: true, ...made };
        // Held like a build root's folder: one run at a time, a dead run's mounts taken over, and the folders this
        // run made removed at its end when empty (an overlay that failed under --limit has no later task to do it).
        const tookOver = await holdBuildDir(dirname(dir));
        if (tookOver !== undefined) process.emitWarning(tookOver, { code: 'IMGPLAY_TAKEOVER' });
        if (!isMountPoint(table, lower)) {
          await mkdir(lower, { recursive: true });
          await conn.mounts.mount({ source: base, target: lower, fstype: ARTIFACT_KINDS.base.fsType, options: ['loop', 'ro'] });
        }
        await mkdir(rw, { recursive: true });
        if (!isMountPoint(table, rw)) await conn.mounts.mount({ source: 'imgplay-overlay', target: rw, fstype: 'tmpfs', options: [`size=${args.size}`, 'mode=0755'] });
        await mkdir(upper, { recursive: true });
        await mkdir(work, { recursive: true });
        await mkdir(merged, { recursive: true });
        await conn.mounts.mount({ source: 'overlay', target: merged, fstype: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] });
        return { changed: true, ...made };
      }
      const named = { dir, merged, upper, work };
      if (args.state === 'unmounted') {
        if (!isMountPoint(table, merged)) return { changed: false, ...named };
        if (!check) await conn.mounts.unmount(merged);
        return { changed: true, ...named };
      }
      if (!existsSync(dir)) return { changed: false, ...named };
      if (!check) {
        await conn.mounts.unmount(dir);
        await removeTree(dir);
      }
      return { changed: true, ...named };
    } catch (err) {
      if (err instanceof MountError || err instanceof ImgplayError) return failed(err.hint ? `${err.message}\n${err.hint}` : err.message);
      throw err;
    }
  },
);

