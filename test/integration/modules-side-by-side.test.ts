// Differential cases over a chroot (test/integration/side-by-side/NNN-name): modules whose work lands in
// fixed paths of the target (pip, modprobe's files, file attributes) run with ansible-playbook
// (community.general.chroot) and with imgplay on two copies of one tree, twice each. Exit codes, recaps,
// the results each playbook writes and the trees must agree; the build host must not change.
// SBS_CASES=220,modprobe narrows the cases as CASES does for the corpus.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listingDifferences, runSideBySide, type ChrootRun, type TreeCopy } from '../support/chroot-side-by-side.js';
import { mountPointsUnder } from '../support/minbase.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';
import { pipTree, pipTreeCopy, pipTreeUnavailable } from '../support/pip-tree.js';
import { type OracleCache, openOracleCache } from '../differential/oracle-cache.js';

const here = fileURLToPath(new URL('./side-by-side', import.meta.url));
const chrootPlugin = '/usr/lib/python3/dist-packages/ansible_collections/community/general/plugins/connection/chroot.py';
const skip = skipWithout(lacking(root, file('/usr/bin/ansible-playbook', 'ansible'), file(chrootPlugin, 'ansible (community.general)'), await pipTreeUnavailable()));

const wanted = process.env.SBS_CASES?.split(',').map((s) => s.trim()).filter(Boolean);
const cases = (await readdir(here)).filter((n) => !wanted || wanted.some((w) => (/^\d+$/.test(w) ? n.startsWith(`${w}-`) : n.includes(w)))).sort();

// What of the build host these cases could reach: its Python packages, its loaded modules and their config.
async function hostState(): Promise<string> {
  const pip = await execa('/usr/bin/python3', ['-m', 'pip', 'list', '--format=freeze'], { reject: false });
  const modules = await readFile('/proc/modules', 'utf8').catch(() => '(no /proc/modules)');
  const conf = await execa('sh', ['-c', 'ls -la /etc/modules-load.d /etc/modprobe.d /etc/modules 2>&1; cat /etc/modules-load.d/* /etc/modprobe.d/* 2>&1'], { reject: false });
  return [pip.stdout, modules.split('\n').map((l) => l.split(' ')[0]).sort().join(' '), conf.stdout].join('\n---\n');
}

// What a stored ansible run must look like to be used.
const isChrootRun = (r: unknown): boolean =>
  typeof r === 'object' && r !== null && typeof (r as ChrootRun).output === 'string' && typeof (r as ChrootRun).results === 'string' && Array.isArray((r as ChrootRun).listing);

let oracle: Promise<OracleCache | undefined>;
let treeKey = '';

describe.skipIf(skip)('modules over a chroot, against ansible-playbook', () => {
  let hostBefore = '';
  beforeAll(async () => {
    hostBefore = await hostState();
    oracle = openOracleCache();
    // The cached tree is built once per machine; its package set and this harness's code name it in the key.
    const tree = await pipTree();
    const harness = await Promise.all(
      ['../support/chroot-side-by-side.ts', '../support/pip-tree.ts', './modules-side-by-side.test.ts'].map((f) => readFile(fileURLToPath(new URL(f, import.meta.url)), 'utf8')),
    );
    treeKey = `${await readFile(join(tree, 'var/lib/dpkg/status'), 'utf8')}\n${harness.join('\n')}`;
  }, 900_000);
  afterAll(async () => {
    const cache = await oracle;
    if (cache) console.log(cache.summary());
    expect(await hostState()).toBe(hostBefore);
  });

  for (const name of cases) {
    describe(name, () => {
      const trees: TreeCopy[] = [];
      let runs: { ansible: ChrootRun[]; imgplay: ChrootRun[] } = { ansible: [], imgplay: [] };
      let expected: { exit?: number } = {};
      beforeAll(async () => {
        expected = JSON.parse(await readFile(join(here, name, 'expect.json'), 'utf8').catch(() => '{}')) as { exit?: number };
        const ansible = await pipTreeCopy();
        trees.push(ansible);
        const imgplay = await pipTreeCopy();
        trees.push(imgplay);
        // A case's prepare.sh readies both trees on the build host first (e.g. what Ansible's module reads).
        if (existsSync(join(here, name, 'prepare.sh'))) for (const t of trees) await execa('sh', [join(here, name, 'prepare.sh'), t.root]);
        // ansible-playbook's runs come from the oracle cache when nothing they depend on changed: the case's
        // files, the tree (its package set), this harness, and what the corpus's key covers.
        const cache = await oracle;
        const spec = { name: `side-by-side/${name}`, dir: join(here, name), args: [], exit: expected.exit ?? 0, runs: 2, inventory: 'hosts.yaml', oracle: 'cached' as const, output: false };
        runs = await runSideBySide(join(here, name), { ansible, imgplay }, 2, (live) =>
          cache ? cache.runsOf(spec, treeKey, live, isChrootRun, (r: ChrootRun) => r.exitCode !== undefined) : live(),
        );
      }, 900_000);
      afterAll(async () => {
        for (const t of trees) expect(await mountPointsUnder(t.root)).toEqual([]);
        for (const t of trees) await t.cleanup();
      });

      it('ends every run with the exit code and recap Ansible ends it with', () => {
        for (let i = 0; i < runs.ansible.length; i++) {
          expect(runs.ansible[i]?.exitCode, runs.ansible[i]?.output).toBe(expected.exit ?? 0);
          expect(runs.imgplay[i]?.exitCode, runs.imgplay[i]?.output).toBe(runs.ansible[i]?.exitCode);
          expect(runs.imgplay[i]?.recap, runs.imgplay[i]?.output).toEqual(runs.ansible[i]?.recap);
        }
      });

      it('returns what Ansible returns from every task', () => {
        for (let i = 0; i < runs.ansible.length; i++) expect(runs.imgplay[i]?.results).toBe(runs.ansible[i]?.results);
      });

      it('leaves the tree Ansible leaves', () => {
        for (let i = 0; i < runs.ansible.length; i++) expect(listingDifferences(runs.ansible[i]?.listing ?? [], runs.imgplay[i]?.listing ?? [])).toEqual([]);
      });
    });
  }
});
