// Bit-identical by default: all.yml built a second time, from scratch, gives the same bytes as the
// shared artifact set (test/support/artifact-set.ts) for every artifact, SHA256SUMS and manifest.json.
// On a difference the test names each differing artifact and its first differing files. It costs one
// more all.yml build (2.5 min on a quiet 2-core host with a warm apt cache; more with a cold one), which is
// more than CI's 40 minutes allow on every run: it lives in test/slow/ (`npm run test:slow`).
import { mkdtemp, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountTable, mountsUnder, removeTree } from '../../src/host/mount-table.js';
import { artifactFiles, differingArtifacts, differingFiles } from '../support/artifact-diff.js';
import { allYmlInventory, artifactSetUnavailable, runAllYml, sharedArtifacts } from '../support/artifact-set.js';
import { mountsSnapshot } from '../support/minbase.js';
import { skipWithout } from '../support/needs.js';

describe.skipIf(skipWithout(artifactSetUnavailable))('all.yml built twice', () => {
  let before: string;
  let dir: string;
  beforeAll(async () => {
    before = await mountsSnapshot();
    dir = await realpath(await mkdtemp('/var/tmp/imgplay-repro-'));
  });
  afterAll(async () => {
    expect(await mountsSnapshot(), 'mounts after the build').toBe(before);
    if (dir !== undefined && mountsUnder(await mountTable(), dir).length === 0) await removeTree(dir);
  });

  it('gives byte-identical artifacts, SHA256SUMS and manifest.json', async () => {
    const first = await sharedArtifacts();
    await writeFile(join(dir, 'hosts.yaml'), allYmlInventory({ discovery: 'overlay/provision_discovery_overlay', 'oem-example': 'oem/provision_oem_example' }));
    const run = await runAllYml(dir, ['--no-cache', '--cache-dir', join(first.home, 'cache')]);
    expect(run.exitCode, (run.all ?? '').split('\n').slice(-25).join('\n')).toBe(0);
    const second = join(dir, 'builds');
    const report: string[] = [];
    for (const name of await differingArtifacts(first.builds, second)) {
      report.push(name);
      if (!/\.(squashfs\.img|cpio\.gz)$|^initrd\.img-/.test(name)) continue;
      const files = differingFiles(await artifactFiles(join(first.builds, name), dir), await artifactFiles(join(second, name), dir));
      report.push(...files.slice(0, 20).map((f) => `  ${f}`), ...(files.length > 20 ? [`  ... and ${files.length - 20} more`] : []));
    }
    expect(report, 'artifacts that differ between two builds (then their first differing files)').toEqual([]);
  }, 3_600_000);
});
