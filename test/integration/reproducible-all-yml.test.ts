// Bit-identical by default: all.yml built a second time, from scratch (--no-cache), gives the same bytes as
// the shared artifact set (test/support/artifact-set.ts, built through its stage cache) for every artifact,
// SHA256SUMS and manifest.json. On a difference the test names each differing artifact and its first
// differing files. It costs one more all.yml build (about 2.5 min on a quiet 2-core host), with the .deb
// cache the shared set filled, so nothing is downloaded again.
import { mkdtemp, readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
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
    for (const name of (await differingArtifacts(first.builds, second)).filter((n) => n !== 'manifest.json')) {
      report.push(name);
      if (!/\.(squashfs\.img|cpio\.gz)$|^initrd\.img-/.test(name)) continue;
      const files = differingFiles(await artifactFiles(join(first.builds, name), dir), await artifactFiles(join(second, name), dir));
      report.push(...files.slice(0, 20).map((f) => `  ${f}`), ...(files.length > 20 ? [`  ... and ${files.length - 20} more`] : []));
    }
    // manifest.json says which commit built each artifact; a stage the shared set put back from its stage
    // cache keeps the entry of the commit that built it (docs/stage-cache.md). Its bytes are compared when
    // the set is of this commit, else everything in it but gitCommit and dirty.
    const manifests = await Promise.all([first.builds, second].map(async (d) => readFile(join(d, 'manifest.json'), 'utf8')));
    const head = (await execa('git', ['-C', fileURLToPath(new URL('../..', import.meta.url)), 'rev-parse', 'HEAD'])).stdout.trim();
    const commits = new Set((JSON.parse(manifests[0]!) as { artifacts: Array<{ gitCommit?: string }> }).artifacts.map((a) => a.gitCommit));
    const sameCommit = commits.size === 1 && commits.has(head);
    const fields = manifestDifferences(manifests[0]!, manifests[1]!, sameCommit ? [] : ['gitCommit', 'dirty']);
    if (fields.length > 0 || (sameCommit && manifests[0] !== manifests[1])) {
      const but = sameCommit ? '' : ` (gitCommit and dirty left out: the shared set holds stages of ${[...commits].join(', ')}, this is ${head})`;
      report.push(`manifest.json${but}`, ...fields.slice(0, 20).map((f) => `  ${f}`));
    }
    expect(report, 'artifacts that differ between two builds (then their first differing files)').toEqual([]);
  }, 3_600_000);
});

// The fields of two manifests that differ, as `path: a -> b`, leaving out the keys named.
function manifestDifferences(a: string, b: string, ignore: string[]): string[] {
  const flat = (text: string) => {
    const out = new Map<string, string>();
    const walk = (v: unknown, path: string) => {
      if (v === null || typeof v !== 'object') {
        out.set(path, JSON.stringify(v));
        return;
      }
      for (const [k, x] of Object.entries(v)) if (!ignore.includes(k)) walk(x, Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`);
    };
    walk(JSON.parse(text), '');
    return out;
  };
  const [x, y] = [flat(a), flat(b)];
  return [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k)).map((k) => `${k}: ${x.get(k) ?? '(none)'} -> ${y.get(k) ?? '(none)'}`);
}
