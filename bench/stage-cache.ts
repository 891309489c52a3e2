// Issue 12's build-loop benchmark, in one run on one machine, against baselines measured in the same run:
// 1. a cold `imgplay all.yml` (base, kernel+initrd, the discovery and oem-example overlays) into an empty
//    stage cache: each stage's own build time is the baseline of what follows;
// 2. the same all.yml again, nothing changed (goal: under 2 s, every stage reused);
// 3. one overlay's role changed (oem-example): the whole run against that overlay's own build time in 1
//    (goal: within 1.2x), every other stage reused;
// 4. `--limit oem-example` after another change to it: the same ratio, nothing else built;
// 5. a cold all.yml into a second empty stage cache with the .deb cache the first run filled: what the one
//    .deb cache saves a full build against 1 (every package came from the mirror there).
// Prints a table and writes bench/results/stage-cache.json. Run: npm run bench:stage-cache
import { appendFile, cp, mkdir, mkdtemp, realpath, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { removeTree } from '../src/host/mount-table.js';
import { allYmlInventory } from '../test/support/all-yml-inventory.js';
import { aptProxyVars } from '../test/support/apt-proxy.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const imgplay = join(repo, 'bin', 'imgplay.js');

interface StageEvent {
  type: 'stage';
  stage: string;
  status: string;
  seconds?: number;
}

interface Run {
  seconds: number;
  stages: Record<string, string>;
  built: Record<string, number>;
}

async function allYml(dir: string, project: string, builds: string, extra: string[] = [], cache = join(dir, 'cache')): Promise<Run> {
  const started = performance.now();
  const r = await execa(
    'node',
    [imgplay, join(project, 'playbooks', 'all.yml'), '-i', join(dir, 'hosts.yaml'), '-e', `build_dir=${dir}/build`, '-e', `artifact_dir=${builds}`, '--cache-dir', cache, '-f', '2', '--json', ...aptProxyVars(), ...extra],
    { reject: false, env: { SOURCE_DATE_EPOCH: '1700000000' } },
  );
  const seconds = (performance.now() - started) / 1000;
  if (r.exitCode !== 0) throw new Error(`all.yml failed (exit ${r.exitCode}):\n${r.stdout.split('\n').slice(-20).join('\n')}\n${r.stderr}`);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string })
    .filter((e): e is StageEvent => e.type === 'stage');
  const stages: Record<string, string> = {};
  const built: Record<string, number> = {};
  for (const e of events) {
    if (e.status !== 'build') stages[e.stage] = e.status;
    if (e.status === 'built') built[e.stage] = e.seconds ?? 0;
  }
  return { seconds, stages, built };
}

const changeRole = (project: string, note: string) =>
  appendFile(join(project, 'roles/oem/provision_oem_example/tasks/main.yml'), `\n- name: ${note}\n  copy:\n    content: "${note}\\n"\n    dest: /etc/${note}\n`);

async function main(): Promise<void> {
  const dir = await realpath(await mkdtemp('/var/tmp/imgplay-bench-cache-'));
  try {
    const project = join(dir, 'project');
    for (const part of ['playbooks', 'roles', 'hosts.yaml']) await cp(join(repo, part), join(project, part), { recursive: true });
    await writeFile(join(dir, 'hosts.yaml'), allYmlInventory({ discovery: 'overlay/provision_discovery_overlay', 'oem-example': 'oem/provision_oem_example' }));
    console.log('1. cold all.yml into an empty stage cache...');
    const cold = await allYml(dir, project, join(dir, 'cold'));
    const overlayOwn = cold.built['overlay/oem-example'];
    if (overlayOwn === undefined) throw new Error(`the cold build built no overlay/oem-example: ${JSON.stringify(cold.stages)}`);
    console.log('2. again, nothing changed...');
    const noop = await allYml(dir, project, join(dir, 'noop'));
    console.log('3. the oem-example role changed...');
    await changeRole(project, 'bench-note-one');
    const one = await allYml(dir, project, join(dir, 'one'));
    console.log('4. changed again, --limit oem-example...');
    await changeRole(project, 'bench-note-two');
    const limited = await allYml(dir, project, join(dir, 'limited'), ['--limit', 'oem-example']);
    console.log('5. cold all.yml into another empty stage cache, with the .deb cache of 1...');
    await changeRole(project, 'bench-note-three');
    const warmDebs = await allYml(dir, project, join(dir, 'warm-debs'), ['-e', `imgplay_deb_cache=${join(dir, 'cache', 'debs')}`], join(dir, 'cache-two'));
    const reusedAll = Object.values(noop.stages).every((s) => s === 'cached');
    const onlyOne = (r: Run) => Object.keys(r.built).join(',') === 'overlay/oem-example';
    const rows = [
      ['cold all.yml (4 stages built)', `${cold.seconds.toFixed(1)} s`, ''],
      ['oem-example overlay, its own build in the cold run (baseline)', `${overlayOwn.toFixed(1)} s`, ''],
      ['no-op all.yml', `${noop.seconds.toFixed(2)} s${reusedAll ? ', every stage reused' : `, NOT all reused: ${JSON.stringify(noop.stages)}`}`, 'under 2 s'],
      ['one overlay changed: whole all.yml', `${one.seconds.toFixed(1)} s (${(one.seconds / overlayOwn).toFixed(2)}x the overlay's own build)${onlyOne(one) ? '' : `, built: ${Object.keys(one.built).join(', ')}`}`, 'within 1.2x'],
      ['cold all.yml, the .deb cache of the first cold run (no download)', `${warmDebs.seconds.toFixed(1)} s (${(warmDebs.seconds / cold.seconds).toFixed(2)}x the cold run)`, ''],
      ['one overlay changed: --limit oem-example', `${limited.seconds.toFixed(1)} s (${(limited.seconds / overlayOwn).toFixed(2)}x)${onlyOne(limited) ? '' : `, built: ${Object.keys(limited.built).join(', ')}`}`, 'within 1.2x'],
    ];
    console.log(`\n| measurement | result | goal |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`);
    await mkdir(join(repo, 'bench', 'results'), { recursive: true });
    const result = { date: new Date().toISOString(), cpus: cpus().length, loadavg: loadavg(), cold, noop, one, limited, warmDebs, overlayOwnSeconds: overlayOwn, ratios: { one: one.seconds / overlayOwn, limited: limited.seconds / overlayOwn } };
    await writeFile(join(repo, 'bench', 'results', 'stage-cache.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await removeTree(dir);
  }
}

await main();
