// The stage cache with real runs of imgplay and real images: a small project (test/integration/stage-cache)
// whose play makes one squashfs image per host, each host a stage (`thing/<host>`), as all.yml's overlays are.
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { file, lacking, root, skipWithout } from '../support/needs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const imgplay = join(here, '..', '..', 'bin', 'imgplay.js');
const project = join(here, 'stage-cache');
const unavailable = lacking(root, file('/usr/bin/mksquashfs', 'squashfs-tools'));

let scratch: string;
let before: string;
beforeAll(async () => {
  before = await readFile('/proc/mounts', 'utf8');
  scratch = await mkdtemp('/var/tmp/imgplay-stage-cache-');
});
afterAll(async () => {
  expect(await readFile('/proc/mounts', 'utf8')).toBe(before);
  await rm(scratch, { recursive: true, force: true });
});

/** A copy of the project in its own folder, with its own builds folder; the cache may be shared. */
async function checkout(name: string): Promise<string> {
  const dir = join(scratch, name);
  await cp(project, dir, { recursive: true });
  return dir;
}

async function run(dir: string, cache: string, ...extra: string[]) {
  return runPlaybook('playbooks/site.yml', dir, cache, ...extra);
}

async function runPlaybook(playbook: string, dir: string, cache: string, ...extra: string[]) {
  const r = await execa('node', [imgplay, playbook, '-e', `build_dir=${dir}/build`, '-e', `artifact_dir=${dir}/builds`, '--cache-dir', cache, '-v', ...extra], {
    cwd: dir,
    reject: false,
    all: true,
    env: { NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' },
  });
  return { code: r.exitCode, out: r.all ?? '' };
}

const stageLines = (out: string) => out.split('\n').filter((l) => l.startsWith('STAGE ['));
const sums = (dir: string) => readFile(join(dir, 'builds', 'SHA256SUMS'), 'utf8');

describe.skipIf(skipWithout(unavailable))('the stage cache', () => {
  it('reuses an unchanged stage: same SHA256SUMS and manifest, no task of the stage runs, its facts are back', async () => {
    const cache = join(scratch, 'cache-same');
    const a = await checkout('same-a');
    const first = await run(a, cache);
    expect(first.code, first.out).toBe(0);
    expect(stageLines(first.out)).toEqual([
      'STAGE [thing/alpha] building: no earlier build',
      'STAGE [thing/beta] building: no earlier build',
      expect.stringMatching(/^STAGE \[thing\/alpha\] built in [\d.]+ s and kept in the cache: base\.alpha\.6\.1\.0-1-amd64\.squashfs\.img$/),
      expect.stringMatching(/^STAGE \[thing\/beta\] built in [\d.]+ s and kept in the cache: base\.beta\.6\.1\.0-1-amd64\.squashfs\.img$/),
    ]);
    // Another checkout of the same project elsewhere, with its own empty builds folder.
    const b = await checkout('same-b');
    const second = await run(b, cache);
    expect(second.code, second.out).toBe(0);
    expect(stageLines(second.out)).toEqual([
      expect.stringMatching(/^STAGE \[thing\/alpha\] cached/),
      expect.stringMatching(/^STAGE \[thing\/beta\] cached/),
    ]);
    expect(second.out).toContain('skipping: reused from the stage cache (alpha, beta)');
    expect(second.out).not.toContain('TASK [thing : write the greeting]');
    expect(second.out).toContain(`"msg": "alpha made ${b}/builds/base.alpha.6.1.0-1-amd64.squashfs.img"`);
    expect(await sums(b)).toBe(await sums(a));
    expect(await readFile(join(b, 'builds', 'manifest.json'), 'utf8')).toBe(await readFile(join(a, 'builds', 'manifest.json'), 'utf8'));
    await expect(readdir(join(b, 'build')), 'no build tree was made').rejects.toThrow(/ENOENT/);
  }, 120_000);

  it('builds a stage again, saying why, when its kept build lies under a location variable this run leaves relative', async () => {
    const cache = join(scratch, 'cache-relative');
    const dir = await checkout('relative');
    expect((await run(dir, cache)).code).toBe(0);
    const r = await execa('node', [imgplay, 'playbooks/site.yml', '-e', `build_dir=${dir}/build`, '-e', 'artifact_dir=builds-here', '--cache-dir', cache, '-v'], {
      cwd: dir,
      reject: false,
      all: true,
      env: { NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' },
    });
    expect(stageLines(r.all ?? '')).toContain(
      'STAGE [thing/alpha] building: base.alpha.6.1.0-1-amd64.squashfs.img was kept under artifact_dir, which this run does not set to an absolute path',
    );
    expect(await readdir(dir), 'a folder named after the unset variable').not.toContain('${artifact_dir}');
  }, 120_000);

  it('reuses a stage that reads an earlier stage\'s artifact when that one was put back from the cache', async () => {
    const cache = join(scratch, 'cache-chain');
    const first = await runPlaybook('playbooks/chain.yml', await checkout('chain-a'), cache);
    expect(first.code, first.out).toBe(0);
    expect(stageLines(first.out)).toContain('STAGE [copy/alpha] building: no earlier build');
    const second = await runPlaybook('playbooks/chain.yml', await checkout('chain-b'), cache);
    expect(second.code, second.out).toBe(0);
    expect(stageLines(second.out)).toEqual([
      expect.stringMatching(/^STAGE \[thing\/alpha\] cached/),
      expect.stringMatching(/^STAGE \[thing\/beta\] cached/),
      expect.stringMatching(/^STAGE \[copy\/alpha\] cached/),
    ]);
  }, 120_000);

  it('rebuilds a stage after an earlier stage it reads was rebuilt with other content, as overlays follow their base', async () => {
    const cache = join(scratch, 'cache-chain-change');
    const dir = await checkout('chain-change');
    expect((await runPlaybook('playbooks/chain.yml', dir, cache)).code).toBe(0);
    const hosts = join(dir, 'hosts.yaml');
    await writeFile(hosts, (await readFile(hosts, 'utf8')).replace('who: world', 'who: planet'));
    const changed = await runPlaybook('playbooks/chain.yml', dir, cache);
    expect(changed.code, changed.out).toBe(0);
    // The two thing stages run side by side: their lines come in either order.
    expect(stageLines(changed.out).sort()).toEqual([
      expect.stringMatching(/^STAGE \[copy\/alpha\] building: .*alpha.*changed/),
      expect.stringMatching(/^STAGE \[copy\/alpha\] built in/),
      'STAGE [thing/alpha] building: variable who of alpha changed',
      expect.stringMatching(/^STAGE \[thing\/alpha\] built in/),
      expect.stringMatching(/^STAGE \[thing\/beta\] cached/),
    ]);
  }, 120_000);

  it('rebuilds only the stage whose variable changed, says why at -v, and finds the old build again when it is put back', async () => {
    const cache = join(scratch, 'cache-vars');
    const dir = await checkout('vars');
    expect((await run(dir, cache)).code).toBe(0);
    const hosts = join(dir, 'hosts.yaml');
    const original = await readFile(hosts, 'utf8');
    await writeFile(hosts, original.replace('who: moon', 'who: sun'));
    const changed = await run(dir, cache);
    expect(changed.code, changed.out).toBe(0);
    expect(stageLines(changed.out)).toEqual([
      expect.stringMatching(/^STAGE \[thing\/alpha\] cached/),
      'STAGE [thing/beta] building: variable who of beta changed',
      expect.stringMatching(/^STAGE \[thing\/beta\] built in/),
    ]);
    await writeFile(hosts, original);
    const back = await run(dir, cache);
    expect(stageLines(back.out)).toEqual([expect.stringMatching(/^STAGE \[thing\/alpha\] cached/), expect.stringMatching(/^STAGE \[thing\/beta\] cached/)]);
  }, 120_000);

  it('--limit builds only the stages of the hosts it names, puts back the others when cached, and never builds them', async () => {
    const cache = join(scratch, 'cache-limit');
    const dir = await checkout('limit');
    expect((await run(dir, cache)).code).toBe(0);
    const hosts = join(dir, 'hosts.yaml');
    await writeFile(hosts, (await readFile(hosts, 'utf8')).replace('who: world', 'who: all').replace('who: moon', 'who: stars'));
    const r = await run(dir, cache, '--limit', 'alpha');
    expect(r.code, r.out).toBe(0);
    expect(stageLines(r.out)).toEqual([
      'STAGE [thing/beta] not built: --limit leaves out beta, and no build of it in the cache matches',
      'STAGE [thing/alpha] building: variable who of alpha changed',
      expect.stringMatching(/^STAGE \[thing\/alpha\] built in/),
    ]);
    expect(r.out).not.toContain('TASK [thing : write the greeting] *****\nchanged: [beta]');
    expect(r.out).not.toMatch(/^beta +:/m);
  }, 120_000);

  it('rebuilds every stage whose role changed, and a variable the stage never read changes nothing', async () => {
    const cache = join(scratch, 'cache-files');
    const dir = await checkout('files');
    expect((await run(dir, cache)).code).toBe(0);
    const hosts = join(dir, 'hosts.yaml');
    await writeFile(hosts, (await readFile(hosts, 'utf8')).replace('alpha: { who: world }', 'alpha: { who: world, unread: 1 }'));
    expect(stageLines((await run(dir, cache)).out).every((l) => l.includes(' cached'))).toBe(true);
    await writeFile(join(dir, 'roles/thing/templates/greeting.j2'), 'hi {{ who }}\n');
    const r = await run(dir, cache);
    expect(stageLines(r.out)).toEqual([
      // A role counts as a whole folder: a command may read any of its files.
      'STAGE [thing/alpha] building: roles/thing/templates/greeting.j2 changed',
      'STAGE [thing/beta] building: roles/thing/templates/greeting.j2 changed',
      expect.stringMatching(/^STAGE \[thing\/alpha\] built/),
      expect.stringMatching(/^STAGE \[thing\/beta\] built/),
    ]);
  }, 120_000);

  it('keeps no stage that failed, and keeps those that succeeded although the run failed later', async () => {
    const cache = join(scratch, 'cache-fail');
    const dir = await checkout('fail');
    const inRole = await run(dir, cache, '-e', 'fail_in_role=true');
    expect(inRole.code).toBe(2);
    expect(stageLines(inRole.out)).toContain('STAGE [thing/alpha] not kept in the cache: alpha failed');
    const after = await run(dir, cache, '-e', 'fail_after=true');
    expect(after.code).toBe(2);
    // fail_after is read by no stage: the stages are kept, and the next run reuses them.
    expect(stageLines(after.out).filter((l) => l.includes('kept in the cache:'))).toHaveLength(2);
    expect(stageLines((await run(dir, cache)).out).every((l) => l.includes(' cached'))).toBe(true);
  }, 120_000);

  it('--no-cache builds afresh and stores nothing, with the manifest of a build through the cache; a damaged cached image is refused and built again', async () => {
    const cache = join(scratch, 'cache-nocache');
    const dir = await checkout('nocache');
    const fresh = await run(dir, cache, '--no-cache');
    expect(fresh.code, fresh.out).toBe(0);
    expect(stageLines(fresh.out)).toEqual([
      'STAGE [thing/alpha] building: --no-cache',
      'STAGE [thing/beta] building: --no-cache',
      expect.stringMatching(/^STAGE \[thing\/alpha\] built in [\d.]+ s \(--no-cache: not kept\): base\.alpha\./),
      expect.stringMatching(/^STAGE \[thing\/beta\] built in [\d.]+ s \(--no-cache: not kept\): base\.beta\./),
    ]);
    await expect(stat(cache)).rejects.toThrow(/ENOENT/);
    const freshManifest = await readFile(join(dir, 'builds', 'manifest.json'), 'utf8');
    expect((await run(dir, cache)).code).toBe(0);
    // Each artifact's inputsDigest is its stage's key either way, so the two manifests are the same bytes.
    expect(await readFile(join(dir, 'builds', 'manifest.json'), 'utf8')).toBe(freshManifest);
    // Flip bytes of every stored object.
    for (const prefix of await readdir(join(cache, 'objects'))) {
      for (const name of await readdir(join(cache, 'objects', prefix))) {
        const p = join(cache, 'objects', prefix, name);
        const bytes = await readFile(p);
        bytes[100] = (bytes[100] ?? 0) ^ 0xff;
        await rm(p);
        await writeFile(p, bytes, { mode: 0o644 });
      }
    }
    await rm(join(dir, 'builds'), { recursive: true });
    const r = await run(dir, cache);
    expect(r.code, r.out).toBe(0);
    expect(stageLines(r.out)[0]).toMatch(/^STAGE \[thing\/alpha\] building: restoring the cached build failed: stage cache: object [0-9a-f]{64} is damaged/);
    const list = await execa('node', [imgplay, 'cache', 'list', '--cache-dir', cache]);
    expect(list.stdout).toMatch(/^thing\/alpha\n {2}[0-9a-f]{12} {2}built /m);
    // The rebuilt images are stored again: the next run reuses them.
    expect(stageLines((await run(dir, cache)).out).every((l) => l.includes(' cached'))).toBe(true);
    // Just stored: a build running beside the prune may be about to name them, so they stay until told otherwise.
    const pruned = await execa('node', [imgplay, 'cache', 'prune', '--keep', '0', '--cache-dir', cache]);
    expect(pruned.stdout).toBe(
      'removed 2 kept build(s) and 0 artifact file(s), 0 B\nleft 2 artifact file(s) no build names, stored in the last 15 minute(s): a running build may be about to name them (--grace-minutes 0 removes them)',
    );
    const now = await execa('node', [imgplay, 'cache', 'prune', '--keep', '0', '--grace-minutes', '0', '--cache-dir', cache]);
    expect(now.stdout).toMatch(/^removed 0 kept build\(s\) and 2 artifact file\(s\), \d/);
    expect((await execa('node', [imgplay, 'cache', 'list', '--cache-dir', cache])).stdout).toBe(`the stage cache in ${cache} is empty`);
  }, 120_000);
});
