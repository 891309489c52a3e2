// How an overlay's folder is laid out: imgplay_overlay makes these folders, imgplay_cpio archives from them.
import { join } from 'node:path';

/** An overlay's folders: its own, the merged view, the upper and work directories (on one tmpfs), the base's mount. */
export interface OverlayLayout {
  dir: string;
  merged: string;
  upper: string;
  work: string;
  lower: string;
}

/** Where imgplay_overlay puts an overlay's folders inside `dir` (imgplay_cpio's `overlay` reads the same layout). */
export function overlayLayout(dirArg: string): OverlayLayout {
  const dir = dirArg.replace(/\/+$/, '');
  return { dir, merged: join(dir, 'merged'), upper: join(dir, 'rw', 'upper'), work: join(dir, 'rw', 'work'), lower: join(dir, 'lower') };
}
