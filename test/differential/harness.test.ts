// The harness itself must be trustworthy: a comparison that cannot see a difference would pass anything.
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareRuns, limiter, loadCase, parseRecap, snapshotTree, type RunResult } from './harness.js';

const recapText = `
PLAY [localhost] ***************************************************************

TASK [copy] ********************************************************************
changed: [localhost]

PLAY RECAP *********************************************************************
localhost                  : ok=2    changed=1    unreachable=0    failed=0    skipped=3    rescued=0    ignored=1   
other                      : ok=1    changed=0    unreachable=0    failed=1    skipped=0    rescued=1    ignored=0   

`;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-harness-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function run(overrides: Partial<RunResult>): RunResult {
  return { tool: 'ansible', command: 'x', exitCode: 0, stdout: '', stderr: '', recap: {}, tree: [], ...overrides };
}

describe('parseRecap', () => {
  it('reads every host line after PLAY RECAP', () => {
    expect(parseRecap(recapText)).toEqual({
      localhost: { ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 3, rescued: 0, ignored: 1 },
      other: { ok: 1, changed: 0, unreachable: 0, failed: 1, skipped: 0, rescued: 1, ignored: 0 },
    });
  });

  it('reads a recap through colour codes', () => {
    const coloured = 'PLAY RECAP\n\x1b[0;33mlocalhost\x1b[0m : \x1b[0;32mok=1\x1b[0m changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0\n';
    expect(parseRecap(coloured)?.localhost).toMatchObject({ ok: 1, changed: 1 });
  });

  it('gives undefined when no recap was printed', () => {
    expect(parseRecap('ERROR! the playbook: x.yml could not be found\n')).toBeUndefined();
  });
});

describe('snapshotTree', () => {
  it('records types, modes, contents and link targets with the root path hidden', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'd'));
    await chmod(join(root, 'd'), 0o750);
    await writeFile(join(root, 'd', 'f'), `path ${root}/x\n`);
    await chmod(join(root, 'd', 'f'), 0o600);
    await symlink(join(root, 'd', 'f'), join(root, 'abs'));
    await symlink('d/f', join(root, 'rel'));
    await writeFile(join(root, 'bin'), Buffer.from([0xff, 0x00, 0xfe]));
    await chmod(join(root, 'bin'), 0o644);
    expect(await snapshotTree(root)).toEqual([
      { path: 'abs', type: 'link', target: '$ROOT/d/f' },
      { path: 'bin', type: 'file', mode: '0644', content: 'base64:/wD+' },
      { path: 'd', type: 'dir', mode: '0750' },
      { path: 'd/f', type: 'file', mode: '0600', content: 'path $ROOT/x\n' },
      { path: 'rel', type: 'link', target: 'd/f' },
    ]);
  });
});

describe('compareRuns', () => {
  it('finds nothing to report when two runs agree', () => {
    const tree = [{ path: 'a', type: 'file' as const, mode: '0644', content: 'x' }];
    expect(compareRuns(run({ tree }), run({ tool: 'imgplay', tree }))).toEqual([]);
  });

  it('reports a differing exit code, recap counter, mode, content and a missing path', () => {
    const counts = { ok: 1, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };
    const a = run({
      exitCode: 0,
      recap: { localhost: counts },
      tree: [
        { path: 'a', type: 'file', mode: '0644', content: 'x' },
        { path: 'b', type: 'dir', mode: '0755' },
      ],
    });
    const b = run({
      tool: 'imgplay',
      exitCode: 2,
      recap: { localhost: { ...counts, changed: 0 } },
      tree: [{ path: 'a', type: 'file', mode: '0600', content: 'y' }],
    });
    expect(compareRuns(a, b)).toEqual([
      'exit code: ansible 0, imgplay 2',
      'PLAY RECAP localhost (ansible vs imgplay): changed 1 vs 0',
      'tree: a mode: ansible "0644", imgplay "0600"',
      'tree: a content: ansible "x", imgplay "y"',
      'tree: b (dir) only in ansible',
    ]);
  });

  it('shows long contents only around their first difference', () => {
    const a = run({ tree: [{ path: 'f', type: 'file', mode: '0644', content: `${'x'.repeat(200)}A${'y'.repeat(200)}` }] });
    const b = run({ tool: 'imgplay', tree: [{ path: 'f', type: 'file', mode: '0644', content: `${'x'.repeat(200)}B${'y'.repeat(200)}` }] });
    const [line] = compareRuns(a, b);
    expect(line).toContain(`"${'x'.repeat(30)}A${'y'.repeat(29)}"`);
    expect(line?.length).toBeLessThan(200);
  });

  it('reports a recap that only one tool printed', () => {
    expect(compareRuns(run({ recap: undefined }), run({ tool: 'imgplay' }))).toEqual([
      'PLAY RECAP: ansible printed none, imgplay printed one',
    ]);
  });
});

describe('loadCase', () => {
  it('applies case.yaml over the defaults and notices hosts.yaml', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'playbook.yml'), '- hosts: localhost\n');
    await writeFile(join(dir, 'hosts.yaml'), 'all: {}\n');
    await writeFile(join(dir, 'case.yaml'), 'args: [--tags, x]\nexit: 2\n');
    expect(await loadCase(dir)).toMatchObject({ args: ['--tags', 'x'], exit: 2, runs: 2, inventory: 'hosts.yaml' });
  });

  it('rejects an unknown key in case.yaml', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'playbook.yml'), '- hosts: localhost\n');
    await writeFile(join(dir, 'case.yaml'), 'exits: 2\n');
    await expect(loadCase(dir)).rejects.toThrow(/unknown key 'exits'/);
  });
});

describe('limiter', () => {
  it('never runs more jobs at once than its limit', async () => {
    const slot = limiter(2);
    let active = 0;
    let peak = 0;
    const job = async (): Promise<void> => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    };
    await Promise.all(Array.from({ length: 7 }, () => slot(job)));
    expect(peak).toBe(2);
  });
});
