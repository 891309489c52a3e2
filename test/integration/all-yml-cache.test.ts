// all.yml through the stage cache, on the real artifact set: the shared set (test/support/artifact-set.ts) is
// built with its stage cache in its folder; a copy of the project elsewhere then reuses every stage, and a
// change to one overlay's role rebuilds that overlay alone.
import { cp, mkdtemp, readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountTable, mountsUnder, removeTree } from '../../src/host/mount-table.js';
import { allYmlInventory, artifactSetUnavailable, runAllYml, sharedArtifacts, type ArtifactSet } from '../support/artifact-set.js';
import { mountsSnapshot } from '../support/minbase.js';
import { skipWithout } from '../support/needs.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const stageLines = (out: string) => out.split('\n').filter((l) => l.startsWith('STAGE ['));
const sumsOf = async (builds: string) =>
  Object.fromEntries(
    (await readFile(join(builds, 'SHA256SUMS'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+\*?/).reverse()),
  ) as Record<string, string>;

describe.skipIf(skipWithout(artifactSetUnavailable))('all.yml with the stage cache', () => {
  let before: string;
  let dir: string;
  let project: string;
  let set: ArtifactSet;
  beforeAll(async () => {
    set = await sharedArtifacts();
    before = await mountsSnapshot();
    dir = await realpath(await mkdtemp('/var/tmp/imgplay-all-cache-'));
    // The project copied elsewhere: paths are recorded relative to it, so the copy reuses the set's stages.
    project = join(dir, 'project');
    for (const part of ['playbooks', 'roles', 'hosts.yaml']) await cp(join(repo, part), join(project, part), { recursive: true });
    await writeFile(join(dir, 'hosts.yaml'), allYmlInventory({ discovery: 'overlay/provision_discovery_overlay', 'oem-example': 'oem/provision_oem_example' }));
  }, 3_600_000);
  afterAll(async () => {
    expect(await mountsSnapshot(), 'mounts after the builds').toBe(before);
    if (dir !== undefined && mountsUnder(await mountTable(), dir).length === 0) await removeTree(dir);
  });

  const build = (builds: string) =>
    runAllYml(dir, ['--cache-dir', join(set.home, 'cache'), '-e', `artifact_dir=${builds}`, '-v'], { playbook: join(project, 'playbooks', 'all.yml') });

  it('reuses every stage of an unchanged checkout: no bootstrap, the same SHA256SUMS and manifest.json', async () => {
    const builds = join(dir, 'same');
    const r = await build(builds);
    expect(r.exitCode, r.all).toBe(0);
    expect(stageLines(r.all ?? '')).toEqual([
      expect.stringMatching(/^STAGE \[base\] cached/),
      expect.stringMatching(/^STAGE \[initrd\] cached/),
      expect.stringMatching(/^STAGE \[overlay\/discovery\] cached/),
      expect.stringMatching(/^STAGE \[overlay\/oem-example\] cached/),
    ]);
    expect(r.all).not.toMatch(/TASK \[bootstrap/);
    expect(await readFile(join(builds, 'SHA256SUMS'), 'utf8')).toBe(await readFile(join(set.builds, 'SHA256SUMS'), 'utf8'));
    expect(await readFile(join(builds, 'manifest.json'), 'utf8')).toBe(await readFile(join(set.builds, 'manifest.json'), 'utf8'));
  }, 600_000);

  it('rebuilds only the overlay whose role changed, and puts the old one back when the change is undone', async () => {
    const tasks = join(project, 'roles/oem/provision_oem_example/tasks/main.yml');
    const original = await readFile(tasks, 'utf8');
    await writeFile(tasks, `${original}\n- name: a vendor note\n  copy:\n    content: "changed\\n"\n    dest: /etc/oem-note\n`);
    const changed = join(dir, 'changed');
    const r = await build(changed);
    expect(r.exitCode, r.all).toBe(0);
    expect(stageLines(r.all ?? '')).toEqual([
      expect.stringMatching(/^STAGE \[base\] cached/),
      expect.stringMatching(/^STAGE \[initrd\] cached/),
      expect.stringMatching(/^STAGE \[overlay\/discovery\] cached/),
      'STAGE [overlay/oem-example] building: roles/oem/provision_oem_example/tasks/main.yml changed',
      expect.stringMatching(/^STAGE \[overlay\/oem-example\] built in [\d.]+ s and kept in the cache: oem-example\.overlay\.cpio\.gz$/),
    ]);
    expect(r.all).not.toMatch(/TASK \[bootstrap/);
    const old = await sumsOf(set.builds);
    const now = await sumsOf(changed);
    for (const name of [set.base, set.kernel, set.initrd, set.overlays.discovery]) expect(now[name], name).toBe(old[name]);
    expect(now[set.overlays['oem-example']]).not.toBe(old[set.overlays['oem-example']]);

    await writeFile(tasks, original);
    const back = join(dir, 'back');
    const again = await build(back);
    expect(again.exitCode, again.all).toBe(0);
    expect(stageLines(again.all ?? '').every((l) => / cached/.test(l))).toBe(true);
    expect(await readFile(join(back, 'SHA256SUMS'), 'utf8')).toBe(await readFile(join(set.builds, 'SHA256SUMS'), 'utf8'));
  }, 1_200_000);
});
