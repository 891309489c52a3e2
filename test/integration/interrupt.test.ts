// Ctrl-C during a long task: the command is killed, no further task runs, and the exit code is 99.
// During a long host tool (mksquashfs) too, with SIGINT to imgplay alone as CI runners send it: said at
// once, exit within 10 s, the tool's group gone, its mount undone and no half-written image left.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { mountPointsUnder } from '../support/minbase.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const imgplay = join(here, '..', '..', 'bin', 'imgplay.js');

describe('an interrupted run', () => {
  it('kills the running command and exits 99 without running later tasks', async () => {
    const child = execa('node', [imgplay, 'playbook.yml'], { cwd: join(here, 'interrupt'), reject: false, env: { NO_COLOR: '1' } });
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('TASK [a long step]')) resolve();
      });
    });
    const sent = Date.now();
    child.kill('SIGINT');
    const r = await child;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(r.exitCode, String(r.stdout)).toBe(99);
    expect(String(r.stdout)).not.toContain('TASK [never reached]');
    expect(String(r.stdout), 'the hosts did not run out: the run was interrupted').not.toContain('NO MORE HOSTS LEFT');
    expect(String(r.stdout)).toContain('PLAY RECAP');
  });
});

describe.skipIf(skipWithout(lacking(file('/usr/bin/script', 'bsdutils'))))('Ctrl-C at a terminal (the live view)', () => {
  it('interrupts the run like plain output: exit 99 with the recap, not listr2\'s own exit 127', async () => {
    // script(1) gives imgplay a terminal; ^C typed into it reaches the foreground group as a real Ctrl-C does.
    // exec: no shell stays between script and node, or the shell's own death by that SIGINT (130) would be
    // reported instead of node's exit code (seen once in CI).
    const child = execa('script', ['-qfec', `stty cols 120 rows 40; exec env -u CI -u NO_COLOR node ${imgplay} playbook.yml`, '/dev/null'], {
      cwd: join(here, 'interrupt'),
      reject: false,
      all: true,
    });
    let seen = '';
    await new Promise<void>((resolve) => {
      child.all?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        // The live view is on and the task has run a second: its title counts the seconds.
        if (/TASK \[a long step\] [1-9]s/.test(seen)) resolve();
      });
    });
    const sent = Date.now();
    child.stdin?.write('\x03');
    const r = await child;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(r.exitCode, r.all).toBe(99);
    expect(r.all).toContain('interrupting...');
    expect(r.all).toContain('(interrupted)');
    expect(r.all).toMatch(/PLAY RECAP[\s\S]*localhost +: ok=0/);
    expect(r.all).not.toContain('never reached');
  }, 60_000);
});

const mounts = () => readFile('/proc/mounts', 'utf8');

describe.skipIf(skipWithout(lacking(root, file('/usr/bin/mksquashfs', 'squashfs-tools'))))('Ctrl-C during a long host tool', () => {
  it('says interrupting at once and exits 99 within 10 s, with the mount undone and no image left', async () => {
    const dir = await mkdtemp('/var/tmp/imgplay-interrupt-');
    const build = join(dir, 'build');
    const builds = join(dir, 'builds');
    const before = await mounts();
    try {
      // A process group of its own, as a CI runner's child: the signal goes to imgplay alone.
      const child = execa('node', [imgplay, 'host-tool.yml', '-e', `build_dir=${build}`, '-e', `artifact_dir=${builds}`], {
        cwd: join(here, 'interrupt'),
        reject: false,
        all: true,
        detached: true,
        env: { NO_COLOR: '1' },
      });
      let seen = '';
      let saidAt = 0;
      await new Promise<void>((resolve, reject) => {
        child.all?.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (!saidAt && seen.includes('interrupting...')) saidAt = performance.now();
          if (seen.includes('TASK [squash it slowly]')) resolve();
        });
        void child.then(() => reject(new Error(`imgplay ended before the squash:\n${seen}`)));
      });
      // mksquashfs started and writing its image for a while.
      const running = async () => (await execa('pgrep', ['-x', 'mksquashfs'], { reject: false })).stdout.trim();
      let tool = '';
      for (let i = 0; i < 300 && !(tool = await running()); i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await running(), 'mksquashfs running when the signal is sent').not.toBe('');
      expect((await mountPointsUnder(dir)).length, 'the tmpfs mounted while it runs').toBeGreaterThan(0);
      const sent = performance.now();
      process.kill(child.pid!, 'SIGINT');
      const r = await child;
      const ms = performance.now() - sent;
      console.log(`SIGINT during mksquashfs: "interrupting..." after ${Math.round(saidAt - sent)} ms, exit after ${Math.round(ms)} ms`);
      expect(r.exitCode, r.all).toBe(99);
      expect(ms).toBeLessThan(10_000);
      expect(saidAt, 'interrupting... said').toBeGreaterThan(0);
      expect(saidAt - sent, 'interrupting... said at once').toBeLessThan(1000);
      expect(r.all).toContain('User interrupted execution');
      expect(r.all).not.toContain('TASK [never reached]');
      // Only this run's mounts: other runs on the machine may mount and unmount meanwhile.
      expect(await mountPointsUnder(dir), 'mounts left').toEqual([]);
      expect(before.includes(dir)).toBe(false);
      expect(existsSync(build) ? await readdir(join(build, 'tree')).catch(() => []) : [], 'the tree, unmounted').toEqual([]);
      expect(existsSync(builds) ? await readdir(builds) : [], 'half-written images').toEqual([]);
      for (const pid of tool.split('\n')) expect(existsSync(`/proc/${pid}`), `mksquashfs ${pid} still running`).toBe(false);
    } finally {
      if ((await mountPointsUnder(dir)).length === 0) await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('output piped into a reader that goes away', () => {
  it('finishes the run quietly instead of dying with EPIPE', async () => {
    const r = await execa('sh', ['-c', `node ${imgplay} playbook.yml | head -c 10 >/dev/null; echo "rc=\${PIPESTATUS:-done}"`], {
      cwd: join(here, 'pipe'),
      reject: false,
      env: { NO_COLOR: '1' },
    });
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.exitCode).toBe(0);
  });
});
