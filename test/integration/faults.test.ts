// Builds under faults: SIGINT and SIGTERM (to imgplay alone, as CI runners send them, and to its
// process group, as a terminal does) at each stage, SIGKILL and a rerun, a full artifact file system,
// a full build tmpfs, and two runs on one build_dir. After each: exit 99 within 10 s, no mount, loop
// device or child process left, no build directory left, and only complete artifacts, which
// SHA256SUMS describes exactly.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ResultPromise, execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { RUN_FILE, holdBuildDir, releaseAll } from '../../src/image/build-lock.js';
import { hostAptMirror } from '../../src/image/mirror.js';
import { withMountGuard } from '../../src/host/mount-guard.js';
import { removeTree } from '../../src/host/mount-table.js';
import { minbaseTree, minbaseUnavailable, mountPointsUnder } from '../support/minbase.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixtures = join(here, 'faults');
const imgplay = join(here, '..', '..', 'bin', 'imgplay.js');
const mirror = (await hostAptMirror()) !== undefined;
const skip = skipWithout(
  lacking(root, file('/usr/bin/mmdebstrap', 'mmdebstrap'), file('/usr/bin/mksquashfs', 'squashfs-tools'), [mirror, 'a Debian mirror in the apt sources'], await minbaseUnavailable()),
);

type Target = 'imgplay alone' | 'its process group';
const SIGNALS: ReadonlyArray<{ sig: 'SIGINT' | 'SIGTERM'; to: Target }> = [
  { sig: 'SIGINT', to: 'imgplay alone' },
  { sig: 'SIGTERM', to: 'imgplay alone' },
  { sig: 'SIGINT', to: 'its process group' },
  { sig: 'SIGTERM', to: 'its process group' },
];

// Each stage: its playbook, the task line that says it has begun, and how long to let it run first.
// The archive runs while the base image is loop-mounted under the overlays, as in all.yml.
const STAGES = [
  { stage: 'bootstrap', playbook: 'bootstrap.yml', task: 'TASK [bootstrap the base]', afterMs: 3000, loop: false },
  { stage: 'provisioning', playbook: 'provision.yml', task: 'TASK [a long command in the chroot]', afterMs: 1000, loop: false },
  { stage: 'squash', playbook: 'squash.yml', task: 'TASK [make the base image]', afterMs: 2000, loop: false },
  { stage: 'archive', playbook: 'archive.yml', task: 'TASK [archive the upper layer]', afterMs: 2000, loop: true },
] as const;

let scratch: string;
let minbase: string;
const timings: string[] = [];

beforeAll(async () => {
  if (skip) return;
  minbase = await minbaseTree();
  scratch = await realpath(await mkdtemp('/var/tmp/imgplay-faults-'));
}, 1_800_000);

afterAll(async () => {
  if (skip) return;
  if (timings.length > 0) console.log(`signal to exit:\n  ${timings.join('\n  ')}`);
  const left = await mountPointsUnder(scratch);
  // A failed test may leave a killed run's debris: taken over as the next run would, so nothing outlives the suite.
  for (const name of await readdir(scratch)) {
    const build = join(scratch, name, 'build');
    if (existsSync(join(build, RUN_FILE))) await holdBuildDir(build);
  }
  releaseAll();
  await removeTree(scratch);
  expect(left, 'mounts left under the scratch folder').toEqual([]);
}, 60_000);

/** A run of imgplay in a process group of its own, its output collected as it comes. */
class Run {
  readonly child: ResultPromise<{ detached: true; reject: false; all: true }>;
  output = '';
  #waiters: Array<{ text: string; resolve: () => void }> = [];

  constructor(playbook: string, vars: Record<string, string>, extra: string[] = []) {
    const e = Object.entries(vars).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    // A TMPDIR of the run's own, so what the run and its tools leave there is seen (expectClean).
    const tmp = join(vars.build_dir ?? scratch, '..', 'tmp');
    mkdirSync(tmp, { recursive: true });
    this.child = execa('node', [imgplay, playbook, '-i', join(fixtures, 'hosts.yaml'), ...e, ...extra], {
      cwd: fixtures,
      detached: true,
      reject: false,
      all: true,
      env: { NO_COLOR: '1', TMPDIR: tmp },
    });
    this.child.all.setEncoding('utf8');
    this.child.all.on('data', (chunk: string) => {
      this.output += chunk;
      this.#waiters = this.#waiters.filter((w) => (this.output.includes(w.text) ? (w.resolve(), false) : true));
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves once the output holds `text`; fails if the run ends first. */
  async waitFor(text: string, timeoutMs = 120_000): Promise<void> {
    if (this.output.includes(text)) return;
    const seen = new Promise<void>((resolve) => this.#waiters.push({ text, resolve }));
    const ended = this.child.then(() => {
      throw new Error(`imgplay ended before printing '${text}':\n${this.output}`);
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no '${text}' within ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
    });
    try {
      await Promise.race([seen, ended, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `sig` to imgplay alone or to its whole process group; resolves with the exit and how long it took. */
  async signal(sig: NodeJS.Signals, to: Target): Promise<{ exitCode: number | undefined; ms: number }> {
    const exited = new Promise<number | undefined>((resolve) => this.child.once('exit', (code) => resolve(code ?? undefined)));
    const sent = performance.now();
    process.kill(to === 'imgplay alone' ? this.pid : -this.pid, sig);
    const exitCode = await exited;
    const ms = performance.now() - sent;
    // After SIGKILL the dead run's orphans still hold its output pipes: only the next run ends them.
    if (sig !== 'SIGKILL') await this.child;
    return { exitCode, ms };
  }
}

function fresh(name: string): { build: string; builds: string; vars: Record<string, string> } {
  const dir = join(scratch, name.replace(/[^a-z0-9]+/gi, '-'));
  const build = join(dir, 'build');
  const builds = join(dir, 'builds');
  return { build, builds, vars: { build_dir: build, artifact_dir: builds, minbase } };
}

// Processes that still work on a test's folder: by command line, working directory or root; and
// whatever is left in imgplay's own process group.
async function leftovers(dir: string, pgid: number): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => '');
    const rootDir = await readlink(`/proc/${name}/root`).catch(() => '');
    if (cmd.includes(dir) || cwd.startsWith(dir) || rootDir.startsWith(dir) || (group === pgid && cmd !== '')) found.push(`${name} ${cmd}`);
  }
  return found;
}

async function loopDevicesOf(dir: string): Promise<string[]> {
  const r = await execa('losetup', ['-a'], { reject: false });
  return r.stdout.split('\n').filter((l) => l.includes(dir));
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The artifact folder holds complete artifacts only, and SHA256SUMS lists exactly those, rightly. */
async function expectConsistentArtifacts(builds: string): Promise<void> {
  const names = existsSync(builds) ? await readdir(builds) : [];
  const artifacts = names.filter((n) => n !== 'SHA256SUMS' && n !== 'manifest.json');
  expect(artifacts.filter((n) => n.includes('.tmp-') || n.startsWith('.')), 'temporary files in the artifact folder').toEqual([]);
  const sums = names.includes('SHA256SUMS') ? await readFile(join(builds, 'SHA256SUMS'), 'utf8') : '';
  const listed = new Map(sums.split('\n').filter(Boolean).map((l) => [l.slice(66), l.slice(0, 64)] as const));
  expect([...listed.keys()].sort(), 'SHA256SUMS against the folder').toEqual(artifacts.sort());
  for (const [name, sum] of listed) expect(await sha256(join(builds, name)), name).toBe(sum);
}

async function expectClean(dir: string, build: string, builds: string, run: { pid: number }): Promise<void> {
  expect(await mountPointsUnder(dir), 'mounts left').toEqual([]);
  expect(await loopDevicesOf(dir), 'loop devices left').toEqual([]);
  expect(await leftovers(dir, run.pid), 'processes left').toEqual([]);
  expect(existsSync(join(dir, 'tmp')) ? await readdir(join(dir, 'tmp')) : [], "what is left in the run's TMPDIR").toEqual([]);
  expect(existsSync(build) ? await readdir(build) : [], 'what is left in build_dir').toEqual([]);
  expect(existsSync(build), 'build_dir, which the run created').toBe(false);
  await expectConsistentArtifacts(builds);
}

describe.skipIf(skip)('an interrupted build', () => {
  describe.each(STAGES)('during the $stage', ({ stage, playbook, task, afterMs, loop }) => {
    it.each(SIGNALS)('stops at once on $sig to $to: exit 99 within 10 s, nothing left behind', async ({ sig, to }) => {
      const t = fresh(`${stage}-${sig}-${to}`);
      const run = new Run(playbook, t.vars);
      await run.waitFor(task);
      await new Promise((r) => setTimeout(r, afterMs));
      expect((await loopDevicesOf(join(t.build, '..'))).length > 0, 'a loop device while the stage runs').toBe(loop);
      const { exitCode, ms } = await run.signal(sig, to);
      timings.push(`${stage}, ${sig} to ${to}: ${Math.round(ms)} ms`);
      expect(exitCode, run.output).toBe(99);
      expect(ms).toBeLessThan(10_000);
      expect(run.output).toMatch(/interrupting\.\.\./);
      expect(run.output).toMatch(/User interrupted execution/);
      // The task cut short is not counted as failed (issue 11): the run says it was interrupted.
      expect(run.output).toMatch(/PLAY RECAP[\s\S]*failed=0/);
      expect(run.output).not.toContain('unmounted lazily');
      expect(run.output).not.toContain('TASK [never reached');
      await expectClean(join(t.build, '..'), t.build, t.builds, run);
    }, 120_000);
  });

  it('lets a second Ctrl-C hurry the stop, still without leaving mounts', async () => {
    const t = fresh('second-ctrl-c');
    const run = new Run('provision.yml', t.vars);
    await run.waitFor('TASK [a long command in the chroot]');
    await new Promise((r) => setTimeout(r, 500));
    process.kill(run.pid, 'SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    const { exitCode, ms } = await run.signal('SIGINT', 'imgplay alone');
    timings.push(`provisioning, two Ctrl-C: ${Math.round(ms)} ms`);
    expect(exitCode, run.output).toBe(99);
    expect(run.output).toContain('again: killing child tools now');
    await expectClean(join(t.build, '..'), t.build, t.builds, run);
  }, 120_000);
});

describe.skipIf(skip)('a build killed outright (SIGKILL)', () => {
  it('is taken over by the next run: its processes stopped, its mounts undone, the stage restarted clean', async () => {
    const t = fresh('sigkill-provision');
    const first = new Run('provision.yml', t.vars);
    await first.waitFor('TASK [a long command in the chroot]');
    await new Promise((r) => setTimeout(r, 1000));
    await first.signal('SIGKILL', 'imgplay alone');
    // What a killed run leaves: its mounts, its chroot's processes, its run file, and a tree.
    expect((await mountPointsUnder(t.build)).length).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(join(t.build, '.imgplay-run.json'), 'utf8'))).toMatchObject({ pid: first.pid });
    const orphans = await leftovers(t.build, -1);
    expect(orphans.length).toBeGreaterThan(0);
    await writeFile(join(t.build, 'basefs/root/debris-of-the-dead-run'), '');

    const second = new Run('provision.yml', t.vars);
    await second.waitFor('TASK [a long command in the chroot]');
    expect(second.output).toContain(`took over build_dir ${t.build} from run ${first.pid}`);
    expect(second.output).toMatch(/unmounted .*basefs\/root\/dev\/pts/);
    expect(existsSync(join(t.build, 'basefs/root/debris-of-the-dead-run')), 'the dead run\'s tree').toBe(false);
    const stillThere = (await leftovers(t.build, -1)).filter((p) => orphans.includes(p));
    expect(stillThere, 'the dead run\'s processes').toEqual([]);
    expect((await second.signal('SIGINT', 'imgplay alone')).exitCode).toBe(99);
    await expectClean(join(t.build, '..'), t.build, t.builds, second);
  }, 180_000);

  it('during the bootstrap into a plain directory: the rerun removes the half-made tree and bootstraps afresh', async () => {
    const t = fresh('sigkill-bootstrap');
    const root = join(t.build, 'basefs/root');
    const first = new Run('bootstrap.yml', { ...t.vars, basefs_tmpfs_size: '' });
    await first.waitFor('TASK [bootstrap the base]');
    for (let i = 0; i < 600 && ((await readdir(join(root, 'var')).catch(() => [])).length === 0); i++) await new Promise((r) => setTimeout(r, 100));
    // Everything dies at once (the OOM killer, a power cut of the container): imgplay and mmdebstrap's group.
    const { groups } = JSON.parse(await readFile(join(t.build, '.imgplay-run.json'), 'utf8')) as { groups: Array<{ pgid: number }> };
    await first.signal('SIGKILL', 'imgplay alone');
    for (const g of groups) process.kill(-g.pgid, 'SIGKILL');
    expect(await readdir(root), 'the half-made tree').not.toEqual([]);

    const second = new Run('bootstrap.yml', { ...t.vars, basefs_tmpfs_size: '' }, ['-v']);
    await second.waitFor('removing the unfinished bootstrap');
    expect(second.output).toContain(`took over build_dir ${t.build} from run ${first.pid}`);
    expect((await second.signal('SIGINT', 'imgplay alone')).exitCode).toBe(99);
    expect(await leftovers(t.build, second.pid)).toEqual([]);
    expect(await mountPointsUnder(t.build)).toEqual([]);
    // mmdebstrap's keyring folder, which SIGKILL left, went with the rerun's bootstrap folder.
    expect(await readdir(join(t.build, '..', 'tmp')), "what is left in the runs' TMPDIR").toEqual([]);
    expect(existsSync(join(t.build, 'basefs/.root.imgplay-tmp')), "the bootstrap's TMPDIR").toBe(false);
    // A plain directory is the user's: the unfinished tree stays, marked, for the next run to remove.
    await removeTree(t.build);
  }, 180_000);
});

describe.skipIf(skip)('two runs on one build_dir', () => {
  it('refuses the second at once, naming the first one\'s pid and command', async () => {
    const t = fresh('two-runs');
    const first = new Run('provision.yml', t.vars);
    await first.waitFor('TASK [a long command in the chroot]');
    const started = performance.now();
    const second = await new Run('squash.yml', t.vars).child;
    const ms = performance.now() - started;
    timings.push(`second run on a busy build_dir refused after ${Math.round(ms)} ms`);
    expect(second.exitCode).toBe(2);
    expect(ms).toBeLessThan(10_000);
    expect(second.all).toContain(`is in use by another imgplay run: pid ${first.pid}`);
    expect(second.all).toContain('provision.yml');
    expect((await first.signal('SIGINT', 'imgplay alone')).exitCode).toBe(99);
    await expectClean(join(t.build, '..'), t.build, t.builds, first);
  }, 120_000);
});

describe.skipIf(skip)('a file system that fills up', () => {
  it('refuses an artifact_dir without room for the last build\'s artifacts before any stage, saying what is needed and free', async () => {
    const t = fresh('no-room');
    await mkdir(t.builds, { recursive: true });
    await withMountGuard('faults test', async (guard) => {
      await guard.mount({ source: 'faults-builds', target: t.builds, fstype: 'tmpfs', options: ['size=16M'] });
      await writeFile(join(t.builds, 'manifest.json'), JSON.stringify({ schemaVersion: 1, artifacts: [{ name: 'base.squashfs.img', size: 300 * 1024 * 1024 }] }));
      const started = performance.now();
      const r = await new Run('bootstrap.yml', t.vars).child;
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(r.exitCode).toBe(2);
      expect(r.all).toMatch(/not enough room in artifact_dir .*need 300\.0 MiB, 1\d\.\d MiB is free/);
      expect(r.all).not.toContain('TASK [bootstrap the base]');
    });
    expect(existsSync(t.build)).toBe(false);
  }, 60_000);

  it('says the artifact folder is full when the squashfs does not fit, and leaves no partial image', async () => {
    const t = fresh('full-builds');
    let run: Run | undefined;
    await mkdir(t.builds, { recursive: true });
    await withMountGuard('faults test', async (guard) => {
      await guard.mount({ source: 'faults-builds', target: t.builds, fstype: 'tmpfs', options: ['size=16M'] });
      run = new Run('squash.yml', t.vars);
      const r = await run.child;
      expect(r.exitCode).toBe(2);
      expect(r.all).toMatch(new RegExp(`the file system holding ${t.builds} is full: ${t.builds} \\(tmpfs`));
      expect(r.all).toContain('(artifact_dir) or point artifact_dir elsewhere');
      await expectConsistentArtifacts(t.builds);
    });
    await expectClean(join(t.build, '..'), t.build, t.builds, { pid: run?.pid ?? -1 });
  }, 120_000);

  it('names basefs_tmpfs_size when the build tmpfs is too small for the bootstrap', async () => {
    const t = fresh('small-tmpfs');
    const run = new Run('bootstrap.yml', { ...t.vars, basefs_tmpfs_size: '60M' });
    const r = await run.child;
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/is full: .*\/build\/basefs \(tmpfs, 60\.0 MiB/);
    expect(r.all).toContain('raise basefs_tmpfs_size (now 60M)');
    await expectClean(join(t.build, '..'), t.build, t.builds, run);
  }, 180_000);
});

describe.skipIf(skip)('writes through symlinks inside a chroot', () => {
  it('stay inside the tree, whether the link is absolute or relative', async () => {
    const t = fresh('symlinks');
    const tree = join(t.build, 'root');
    await mkdir(t.build, { recursive: true });
    await execa('cp', ['-a', '--reflink=auto', '--', minbase, tree]);
    // /root exists on the host and in the tree: a write that escaped would land in the host's.
    const name = `imgplay-faults-${process.pid}`;
    await symlink(`/root/${name}.abs`, join(tree, 'abs-link'));
    await symlink(`../../../../root/${name}.rel`, join(tree, 'tmp', 'rel-link'));
    await writeFile(join(t.build, 'payload'), 'put\n');
    const conn = await ChrootConnection.open(tree);
    try {
      const r = await conn.exec('echo absolute > /abs-link && echo relative > /tmp/rel-link');
      expect(r.rc, r.stderr).toBe(0);
      await conn.putFile(join(t.build, 'payload'), '/abs-link');
    } finally {
      await conn.close();
    }
    expect(existsSync(`/root/${name}.abs`) || existsSync(`/root/${name}.rel`), 'a file written on the host').toBe(false);
    expect(await readFile(join(tree, 'root', `${name}.abs`), 'utf8')).toBe('put\n');
    expect(await readFile(join(tree, 'root', `${name}.rel`), 'utf8')).toBe('relative\n');
    await removeTree(t.build);
  }, 60_000);
});
