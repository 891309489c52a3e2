// `imgplay cache prune --debs` keeps the newest .deb of each package and architecture in the .deb cache, and
// nothing else changes there: sessions, other files and the stage cache stay.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function prune(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['node', 'imgplay', 'cache', 'prune', ...args], { stdout: (s) => void (out += s), stderr: (s) => void (out += s) });
  return { code, out };
}

describe('imgplay cache prune --debs', () => {
  it('removes every .deb a newer version of the same package and architecture supersedes, and nothing else', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'imgplay-debs-'));
    dirs.push(cache);
    const debs = join(cache, 'debs');
    await mkdir(join(debs, '.sessions', 'live'), { recursive: true });
    const files = [
      'libc6_2.36-9+deb12u9_amd64.deb',
      'libc6_2.36-9+deb12u10_amd64.deb',
      'libc6_2.36-9+deb12u9_i386.deb',
      'openssh-client_1%3a9.2p1-2+deb12u3_amd64.deb',
      'openssh-client_1%3a9.2p1-2+deb12u10_amd64.deb',
      'tzdata_2025b-0+deb12u1_all.deb',
      'tzdata_2024a-0+deb12u1_all.deb',
      'notes.txt',
      'partial',
      'stray_1%zz_amd64.deb',
    ];
    for (const f of files) await writeFile(join(debs, f), f.repeat(10));
    await writeFile(join(debs, '.sessions', 'live', 'libc6_2.36-9+deb12u9_amd64.deb'), 'x');

    const r = await prune('--cache-dir', cache, '--debs');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^removed 3 superseded \.deb file\(s\) from .*\/debs, /);
    expect((await readdir(debs)).sort()).toEqual([
      '.sessions',
      'libc6_2.36-9+deb12u10_amd64.deb',
      'libc6_2.36-9+deb12u9_i386.deb',
      'notes.txt',
      'openssh-client_1%3a9.2p1-2+deb12u10_amd64.deb',
      'partial',
      'stray_1%zz_amd64.deb',
      'tzdata_2025b-0+deb12u1_all.deb',
    ]);
    expect(await readdir(join(debs, '.sessions', 'live'))).toEqual(['libc6_2.36-9+deb12u9_amd64.deb']);
    expect((await prune('--debs', debs)).out).toMatch(/^removed 0 superseded/);
  });

  it('still asks for something to prune', async () => {
    const r = await prune('--cache-dir', '/nonexistent-imgplay');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('needs --keep N, --max-size SIZE, --debs');
  });
});
