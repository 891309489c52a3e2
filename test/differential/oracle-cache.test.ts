// The oracle cache may skip ansible-playbook only when nothing a case's runs depend on changed; anything doubtful runs it again.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaseSpec, RunResult } from './harness.js';
import { openOracleCache } from './oracle-cache.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-oracle-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function caseDir(): Promise<CaseSpec> {
  const dir = await tempDir();
  await writeFile(join(dir, 'playbook.yml'), '- hosts: localhost\n');
  await mkdir(join(dir, 'files'));
  await writeFile(join(dir, 'files', 'a.txt'), 'a\n');
  return { name: 'NN-case', dir, args: [], exit: 0, runs: 2, inventory: undefined, oracle: 'cached', output: false };
}

/** A live oracle that counts its calls and returns what it is told. */
function oracleRun(exitCode = 0): { calls: number; run: () => Promise<RunResult[]> } {
  const counter = {
    calls: 0,
    run: async (): Promise<RunResult[]> => {
      counter.calls++;
      const one: RunResult = { tool: 'ansible', command: 'ansible-playbook playbook.yml', exitCode, stdout: `call ${counter.calls}`, stderr: '', recap: {}, tree: [{ path: 'x', type: 'file', mode: '0644', content: 'x\n' }] };
      return [one, { ...one }];
    },
  };
  return counter;
}

describe('the differential oracle cache', () => {
  it('answers a second time from the stored runs, saying so in the command', async () => {
    const cache = (await openOracleCache(await tempDir()))!;
    const spec = await caseDir();
    const oracle = oracleRun();
    const first = await cache.runs(spec, oracle.run);
    const second = await cache.runs(spec, oracle.run);
    expect(oracle.calls).toBe(1);
    expect(second.map((r) => r.stdout)).toEqual(first.map((r) => r.stdout));
    expect(second[0]?.tree).toEqual(first[0]?.tree);
    expect(second[0]?.command).toMatch(/from the oracle cache, recorded \d{4}-/);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, stored: 1 });
    expect(cache.summary()).toContain('1 cases from the cache, 1 run and 1 stored');
  });

  it('runs the oracle again when any file of the case changes, even its mode', async () => {
    const cache = (await openOracleCache(await tempDir()))!;
    const spec = await caseDir();
    const oracle = oracleRun();
    await cache.runs(spec, oracle.run);
    await writeFile(join(spec.dir, 'files', 'a.txt'), 'b\n');
    await cache.runs(spec, oracle.run);
    await chmod(join(spec.dir, 'files', 'a.txt'), 0o600);
    await cache.runs(spec, oracle.run);
    await cache.runs({ ...spec, args: ['--check'] }, oracle.run);
    expect(oracle.calls).toBe(4);
  });

  it('says which part of the key made a case miss, and keeps that line beside the entries', async () => {
    const dir = await tempDir();
    const cache = (await openOracleCache(dir))!;
    const spec = await caseDir();
    const oracle = oracleRun();
    await cache.runs(spec, oracle.run);
    await writeFile(join(spec.dir, 'files', 'a.txt'), 'b\n');
    await cache.runs(spec, oracle.run);
    const line = cache.summary();
    expect(line).toContain('missed because of: new case (1), case (1)');
    expect(await readFile(join(dir, 'runs.log'), 'utf8')).toContain(line);
  });

  it("stores the checkout's own path as a placeholder, so another clone reads its runs with its own path", async () => {
    const dir = await tempDir();
    const cache = (await openOracleCache(dir))!;
    const spec = await caseDir();
    const checkout = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
    const run = async (): Promise<RunResult[]> => {
      const one: RunResult = { tool: 'ansible', command: 'ansible-playbook playbook.yml', exitCode: 0, stdout: `playbook_dir ${checkout}/test/x`, stderr: '', recap: {}, tree: [] };
      return [one, { ...one }];
    };
    await cache.runs(spec, run);
    const [name] = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    expect(await readFile(join(dir, name!), 'utf8')).not.toContain(checkout);
    const again = await cache.runs(spec, run);
    expect(again[0]?.stdout).toBe(`playbook_dir ${checkout}/test/x`);
    expect(cache.stats.hits).toBe(1);
  });

  it('never stores or reads a case marked oracle: live', async () => {
    const dir = await tempDir();
    const cache = (await openOracleCache(dir))!;
    const spec = { ...(await caseDir()), oracle: 'live' as const };
    const oracle = oracleRun();
    await cache.runs(spec, oracle.run);
    await cache.runs(spec, oracle.run);
    expect(oracle.calls).toBe(2);
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });

  it('does not store a run that was killed or timed out', async () => {
    const cache = (await openOracleCache(await tempDir()))!;
    const spec = await caseDir();
    const oracle = oracleRun(-1);
    await cache.runs(spec, oracle.run);
    await cache.runs(spec, oracle.run);
    expect(oracle.calls).toBe(2);
  });

  it('treats a corrupt, foreign or expired entry as a miss', async () => {
    const dir = await tempDir();
    const cache = (await openOracleCache(dir))!;
    const spec = await caseDir();
    const oracle = oracleRun();
    await cache.runs(spec, oracle.run);
    const [name] = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    const file = join(dir, name!);
    const stored = JSON.parse(await readFile(file, 'utf8'));

    await writeFile(file, '{"version": 1, "key": ');
    await cache.runs(spec, oracle.run);
    expect(oracle.calls).toBe(2);

    await writeFile(file, JSON.stringify({ ...stored, case: 'other-case' }));
    await cache.runs(spec, oracle.run);
    expect(oracle.calls).toBe(3);

    await writeFile(file, JSON.stringify({ ...stored, runs: [{ ...stored.runs[0], tool: 'imgplay' }, stored.runs[1]] }));
    await cache.runs(spec, oracle.run);
    expect(oracle.calls).toBe(4);

    await writeFile(file, JSON.stringify({ ...stored, storedAt: new Date(Date.now() - 30 * 86_400_000).toISOString() }));
    await cache.runs(spec, oracle.run);
    expect(oracle.calls).toBe(5);
  });

  it('goes on uncached when its folder cannot be written', async () => {
    const blocker = join(await tempDir(), 'a-file');
    await writeFile(blocker, '');
    const cache = (await openOracleCache(join(blocker, 'cache')))!;
    const spec = await caseDir();
    const oracle = oracleRun();
    expect(await cache.runs(spec, oracle.run)).toHaveLength(2);
    expect(cache.stats).toMatchObject({ misses: 1, stored: 0, notStored: 1 });
  });

  it('is off when DIFF_ORACLE_CACHE says off', async () => {
    expect(await openOracleCache('off')).toBeUndefined();
  });
});
