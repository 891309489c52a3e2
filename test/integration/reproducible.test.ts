// Reproducible artifacts: the same content made twice, apart (other inode numbers, creation order,
// times and thread counts), archived and squashed as the stages do, gives the same bytes.
import { chown, link, lchown, mkdir, mkdtemp, readFile, realpath, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOverlayCpio, listCpio } from '../../src/image/cpio.js';
import { removeTree } from '../../src/host/mount-table.js';
import { buildSquashfs } from '../../src/image/squashfs.js';
import { mountsSnapshot } from '../support/minbase.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';

const EPOCH = 1_700_000_000;
// Files as a package would ship them (a time before the epoch, kept) and as a build makes them (now, clamped).
const SHIPPED = 1_600_000_000;
const files: Array<[string, string]> = [
  ['etc/hostname', 'micro\n'],
  ['etc/shadow', 'root:*:19675:0:99999:7:::\n'],
  ['usr/lib/tool/a.so', 'a'.repeat(70_000)],
  ['usr/lib/tool/b.so', 'b'.repeat(200_000)],
  ['usr/share/doc/tool/copyright', 'GPL\n'],
  ['var/lib/dpkg/status', 'Package: tool\nStatus: install ok installed\n'],
];

let scratch: string;
let before: string;
beforeAll(async () => {
  before = await mountsSnapshot();
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-repro-')));
});
afterAll(async () => {
  expect(await mountsSnapshot()).toBe(before);
  await removeTree(scratch);
});

// The same tree, its entries created in the given order: another order gives other inode numbers and
// (on tmpfs and ext4 alike) another readdir order.
async function makeTree(dir: string, order: 'forward' | 'backward'): Promise<string> {
  const list = order === 'forward' ? files : [...files].reverse();
  for (const [path, content] of list) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content, { mode: 0o644 });
  }
  await utimes(join(dir, 'usr/lib/tool/a.so'), SHIPPED, SHIPPED);
  await link(join(dir, 'usr/lib/tool/a.so'), join(dir, 'usr/lib/tool/a.so.1'));
  await symlink('a.so.1', join(dir, 'usr/lib/tool/liba.so'));
  await chown(join(dir, 'etc/shadow'), 0, 42);
  await lchown(join(dir, 'usr/lib/tool/liba.so'), 1000, 1000);
  await execa('chmod', ['0640', join(dir, 'etc/shadow')]);
  return dir;
}

async function twoTreesApart(name: string): Promise<[string, string]> {
  const a = await makeTree(join(scratch, name, 'a'), 'forward');
  // A second later: every time the build made differs.
  await sleep(1100);
  const b = await makeTree(join(scratch, name, 'b'), 'backward');
  return [a, b];
}

describe.skipIf(skipWithout(lacking(root, file('/usr/bin/mksquashfs', 'squashfs-tools'), file('/usr/bin/cpio', 'cpio'))))('reproducible artifacts', () => {
  it('an overlay archive of the same files made apart is byte-identical, package times kept and build times clamped', async () => {
    const [a, b] = await twoTreesApart('cpio');
    const ca = await buildOverlayCpio({ upper: a, dest: join(scratch, 'a.cpio.gz'), sourceDateEpoch: EPOCH });
    const cb = await buildOverlayCpio({ upper: b, dest: join(scratch, 'b.cpio.gz'), sourceDateEpoch: EPOCH });
    expect(cb.sha256).toBe(ca.sha256);
    expect(Buffer.compare(await readFile(ca.path), await readFile(cb.path))).toBe(0);
    const entries = new Map((await listCpio(ca.path)).map((e) => [e.path, e]));
    expect(entries.get('usr/lib/tool/a.so')?.mtime).toBe(SHIPPED);
    expect(entries.get('etc/hostname')?.mtime).toBe(EPOCH);
    expect(entries.get('etc/shadow')).toMatchObject({ uid: 0, gid: 42, mode: 0o640 });
  });

  it('a squashfs of the same files made apart is byte-identical, whatever the number of compressor threads', async () => {
    const [a, b] = await twoTreesApart('squashfs');
    // zstd 15, as the playbooks squash the base.
    const sa = await buildSquashfs({ root: a, dest: join(scratch, 'a.img'), compression: 'zstd', level: 15, processors: 1, sourceDateEpoch: EPOCH });
    const sb = await buildSquashfs({ root: b, dest: join(scratch, 'b.img'), compression: 'zstd', level: 15, processors: 2, sourceDateEpoch: EPOCH });
    expect(sb.sha256).toBe(sa.sha256);
    expect(Buffer.compare(await readFile(sa.path), await readFile(sb.path))).toBe(0);
  });

  it('without a SOURCE_DATE_EPOCH the two differ (the times are the build\'s): the comparison above can fail', async () => {
    const [a, b] = await twoTreesApart('plain');
    const sa = await buildSquashfs({ root: a, dest: join(scratch, 'plain-a.img'), compression: 'zstd', level: 3 });
    const sb = await buildSquashfs({ root: b, dest: join(scratch, 'plain-b.img'), compression: 'zstd', level: 3 });
    expect(sb.sha256).not.toBe(sa.sha256);
  });
});
