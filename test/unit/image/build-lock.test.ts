// Holding a build folder: overlays mounted side by side hold the same folder at the same moment, and one run must
// never take its own fresh run file for a dead run's (that would undo its own mounts).
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdBuildDir } from '../../../src/image/build-lock.js';

const top = await mkdtemp(join(tmpdir(), 'imgplay-build-lock-'));
afterAll(() => rm(top, { recursive: true, force: true }));

describe('holdBuildDir', () => {
  it('holds a folder once when asked twice at the same moment, taking nothing over from itself', async () => {
    const dir = join(top, 'overlays');
    const [a, b] = await Promise.all([holdBuildDir(dir), holdBuildDir(dir)]);
    expect(a).toBeUndefined();
    expect(b).toBeUndefined();
    expect(await readdir(dir)).toEqual(['.imgplay-run.json']);
    expect(JSON.parse(await readFile(join(dir, '.imgplay-run.json'), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(await holdBuildDir(dir)).toBeUndefined();
  });
});
