import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { onToolOutput } from '../../../src/host/activity.js';
import { RunnerPool } from '../../../src/connection/runner.js';

const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
});

async function pool(): Promise<{ pool: RunnerPool; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-runner-test-'));
  made.push(dir);
  return { dir, pool: new RunnerPool({ shell: ['/bin/sh'], env: { PATH: '/usr/bin:/bin' }, jobParentHost: dir, jobParentInside: dir }) };
}

describe('the command runner', () => {
  it('runs argv without a shell, so quotes and $ reach the program as written', async () => {
    const { pool: p } = await pool();
    const r = await p.exec(['printf', '%s|', "it's", '$HOME', 'a b'], 'printf');
    expect(r).toMatchObject({ rc: 0, stdout: "it's|$HOME|a b|", stderr: '' });
    await p.close();
  });

  it('passes arguments holding newlines and quotes intact, though each job travels as one line', async () => {
    const { pool: p } = await pool();
    const r = await p.exec(['printf', '[%s]', "two\nlines 'q' \"dq\" $(x) `y`"], 'printf');
    expect(r.stdout).toBe("[two\nlines 'q' \"dq\" $(x) `y`]");
    await p.close();
  });

  it('runs a string through the shell and keeps stdout, stderr and the exit code apart', async () => {
    const { pool: p } = await pool();
    const r = await p.exec('echo out; echo err >&2; exit 7', 'sh');
    expect(r).toMatchObject({ rc: 7, stdout: 'out', stderr: 'err' });
    await p.close();
  });

  it('feeds stdin, sets the working directory and adds environment variables', async () => {
    const { pool: p } = await pool();
    const r = await p.exec('cat; pwd; echo "$GREETING"', 'sh', { stdin: 'in\n', cwd: '/usr', env: { GREETING: "hel'lo" } });
    expect(r.stdout).toBe("in\n/usr\nhel'lo");
    await p.close();
  });

  it('reports 127 for a program that does not exist', async () => {
    const { pool: p } = await pool();
    expect((await p.exec(['/nonexistent/imgplay-probe'], 'x')).rc).toBe(127);
    await p.close();
  });

  it('runs commands at the same time on separate runners', async () => {
    const { pool: p } = await pool();
    const started = Date.now();
    const rs = await Promise.all([p.exec('sleep 1; echo a', 'a'), p.exec('sleep 1; echo b', 'b')]);
    expect(rs.map((r) => r.stdout)).toEqual(['a', 'b']);
    expect(Date.now() - started).toBeLessThan(1900);
    await p.close();
  });

  it('kills a command that runs past its timeout, and keeps working after', async () => {
    const { pool: p } = await pool();
    const r = await p.exec('sleep 30', 'sleep 30', { timeoutMs: 300 });
    expect(r.rc).toBe(124);
    expect(r.stderr).toContain('timed out after 300 ms');
    expect((await p.exec(['echo', 'again'], 'echo')).stdout).toBe('again');
    await p.close();
  });

  it('kills a command when the run is interrupted', async () => {
    const { pool: p } = await pool();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await p.exec('sleep 30', 'sleep 30', { signal: ac.signal });
    expect(r.rc).toBe(130);
    await p.close();
  });

  it('leaves no job files behind once closed', async () => {
    const { pool: p, dir } = await pool();
    await p.exec(['true'], 'true');
    await p.close();
    expect(await readdir(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });
});

describe('the command runner while the live view listens', () => {
  it('reports the latest line a running command printed, named by its program, and stops when it ends', async () => {
    const { pool: p } = await pool();
    const seen: string[] = [];
    onToolOutput((tool, line) => seen.push(`${tool}: ${line}`));
    try {
      const r = await p.exec(['sh', '-c', 'echo Unpacking one; sleep 1.2; echo Setting up two >&2; sleep 1.2'], "'sh' -c ...");
      expect(r.rc).toBe(0);
      expect(seen).toContain('sh: Unpacking one');
      expect(seen).toContain('sh: Setting up two');
      const after = seen.length;
      await new Promise((res) => setTimeout(res, 700));
      expect(seen.length, 'nothing read once the command ended').toBe(after);
    } finally {
      onToolOutput(undefined);
      await p.close();
    }
  });
});

describe('job directories left by an imgplay killed outright', () => {
  it('are removed by the next pool made in that folder; a live process\'s, other names and files stay', async () => {
    const { pool: p, dir } = await pool();
    // /proc/sys/kernel/pid_max is at most 4194304: no process has a larger pid.
    for (const name of ['.imgplay-run-4194999-Ab12Cd', '.imgplay-run-1-Xy34Zw', `.imgplay-run-${process.pid}-Qq11Rr`, '.imgplay-run-Mn56Op', 'user-folder']) {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, '1.out'), 'left\n');
    }
    await writeFile(join(dir, '.imgplay-run-4194998-Ef78Gh'), 'a file, not a job directory');
    expect((await p.exec('echo hi', 'echo')).stdout).toBe('hi');
    const names = await readdir(dir);
    expect(names.filter((n) => !n.startsWith(`.imgplay-run-${process.pid}-`) || n.endsWith('Qq11Rr')).sort()).toEqual(
      ['.imgplay-run-1-Xy34Zw', '.imgplay-run-4194998-Ef78Gh', `.imgplay-run-${process.pid}-Qq11Rr`, '.imgplay-run-Mn56Op', 'user-folder'].sort(),
    );
    expect(names.filter((n) => n.startsWith(`.imgplay-run-${process.pid}-`)), "the pool's own job directory, named by its pid").toHaveLength(2);
    await p.close();
    expect(existsSync(join(dir, '.imgplay-run-1-Xy34Zw'))).toBe(true);
  });
});
