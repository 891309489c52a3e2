// Measures squashfs compressors on the minbase tree: image size, build time, and the time to read
// every file back through a loop mount (what a booting microkernel does). Run: npx tsx bench/compression.ts
import { mkdir, mkdtemp, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { withMountGuard } from '../src/host/mount-guard.js';
import { removeTree } from '../src/host/mount-table.js';
import { buildSquashfs, type SquashfsCompression } from '../src/image/squashfs.js';
import { minbaseTree } from '../test/support/minbase.js';

interface Config {
  compression: SquashfsCompression;
  level?: number;
}

const CONFIGS: Config[] = [
  { compression: 'xz' },
  { compression: 'zstd', level: 3 },
  { compression: 'zstd', level: 15 },
  { compression: 'zstd', level: 19 },
  { compression: 'gzip' },
  { compression: 'lz4' },
];

const tree = await minbaseTree();
const scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-bench-')));
const du = await execa('du', ['-sb', '--', tree]);
console.log(`tree ${tree}: ${(Number(du.stdout.split('\t')[0]) / 1e6).toFixed(1)} MB`);
console.log(['compression', 'size MB', 'build s', 'read s'].map((h) => h.padEnd(14)).join(''));
try {
  for (const c of CONFIGS) {
    const name = `${c.compression}${c.level === undefined ? '' : `-${c.level}`}`;
    const dest = join(scratch, `${name}.img`);
    const built = await buildSquashfs({ root: tree, dest, compression: c.compression, level: c.level, processors: 2, sourceDateEpoch: 1 });
    const mnt = join(scratch, `mnt-${name}`);
    await mkdir(mnt);
    const readSeconds = await withMountGuard('bench', async (guard) => {
      await guard.mount({ source: dest, target: mnt, fstype: 'squashfs', options: ['ro', 'loop'] });
      const t0 = process.hrtime.bigint();
      // A fresh mount has no cached pages of its own; the image file stays in RAM as it would at boot.
      // Piped through wc: GNU tar skips reading file data when it sees its archive is /dev/null.
      await execa('sh', ['-c', 'tar -cf - -C "$1" . | wc -c >/dev/null', 'sh', mnt]);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    });
    console.log([name, (built.size / 1e6).toFixed(1), built.seconds.toFixed(1), readSeconds.toFixed(2)].map((v) => v.padEnd(14)).join(''));
  }
} finally {
  await removeTree(scratch);
}
