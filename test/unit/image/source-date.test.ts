import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSourceDate, parseSourceDateEpoch, pinSourceDate } from '../../../src/image/source-date.js';
import { buildsArtifacts } from '../../../src/playbook/builds-artifacts.js';
import { provenance, NO_EPOCH } from '../../../src/modules/support/artifact.js';
import { main } from '../../../src/cli.js';
import { loadPlaybook } from '../../../src/playbook/resolve.js';
import { thrown } from '../../support/thrown.js';

const dirs: string[] = [];
const envBefore = process.env.SOURCE_DATE_EPOCH;
afterEach(async () => {
  if (envBefore === undefined) delete process.env.SOURCE_DATE_EPOCH;
  else process.env.SOURCE_DATE_EPOCH = envBefore;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-sde-'));
  dirs.push(dir);
  return dir;
}

// A repository whose one commit was made at `epoch` (author and committer), playbooks in a subdirectory.
async function repoCommittedAt(epoch: number): Promise<{ top: string; playbooks: string; head: string }> {
  const top = await tempDir();
  const env = { GIT_AUTHOR_DATE: `@${epoch} +0000`, GIT_COMMITTER_DATE: `@${epoch} +0000` };
  const git = (...args: string[]) => execa('git', ['-C', top, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { env });
  await git('init', '-q');
  await mkdir(join(top, 'playbooks'));
  await writeFile(join(top, 'playbooks/all.yml'), '- hosts: all\n');
  await git('add', '.');
  await git('commit', '-q', '-m', 'playbooks');
  return { top, playbooks: join(top, 'playbooks'), head: (await git('rev-parse', 'HEAD')).stdout.trim() };
}

describe('parseSourceDateEpoch', () => {
  it('reads whole seconds and treats unset or empty as no value', () => {
    expect(parseSourceDateEpoch('1700000000')).toBe(1700000000);
    expect(parseSourceDateEpoch('0')).toBe(0);
    expect(parseSourceDateEpoch(undefined)).toBeUndefined();
    expect(parseSourceDateEpoch('')).toBeUndefined();
  });

  it('refuses anything that is not a whole number of seconds', () => {
    for (const bad of ['-1', '1.5', '17e8', ' 1700000000', '2023-11-14', '9'.repeat(13)]) {
      expect(thrown(() => parseSourceDateEpoch(bad)).message).toBe(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got '${bad}'`);
    }
  });
});

describe('buildSourceDate', () => {
  it('takes the environment first', async () => {
    const { playbooks } = await repoCommittedAt(1600000000);
    expect(await buildSourceDate({ SOURCE_DATE_EPOCH: '1700000000' }, playbooks)).toEqual({ epoch: 1700000000, origin: { from: 'environment' } });
  });

  it("else the last commit's date of the repository holding the playbooks, whatever the clock says", async () => {
    const { top, playbooks, head } = await repoCommittedAt(1600000000);
    expect(await buildSourceDate({}, playbooks)).toEqual({ epoch: 1600000000, origin: { from: 'commit', commit: head, repository: top } });
    // An uncommitted edit does not move it (the manifest's `dirty` says the checkout was edited).
    await writeFile(join(playbooks, 'all.yml'), '- hosts: micro\n');
    expect((await buildSourceDate({ SOURCE_DATE_EPOCH: '' }, playbooks))?.epoch).toBe(1600000000);
  });

  it('has none outside a repository, or in one without a commit', async () => {
    expect(await buildSourceDate({}, await tempDir())).toBeUndefined();
    const empty = await tempDir();
    await execa('git', ['-C', empty, 'init', '-q']);
    expect(await buildSourceDate({}, empty)).toBeUndefined();
  });
});

describe('pinSourceDate', () => {
  it("sets the commit's date in the environment it is given, silently", async () => {
    const { playbooks } = await repoCommittedAt(1600000000);
    const env: NodeJS.ProcessEnv = {};
    const r = await pinSourceDate(env, playbooks);
    expect(env.SOURCE_DATE_EPOCH).toBe('1600000000');
    expect(r.warning).toBeUndefined();
  });

  it('warns, and sets nothing, when there is no stable time', async () => {
    const dir = await tempDir();
    const env: NodeJS.ProcessEnv = {};
    const r = await pinSourceDate(env, dir);
    expect(env.SOURCE_DATE_EPOCH).toBeUndefined();
    expect(r.warning).toContain(`no SOURCE_DATE_EPOCH: it is not set and ${dir} is not in a git repository with a commit`);
    expect(r.warning).toContain('two builds will differ');
  });
});

describe('buildsArtifacts', () => {
  it('is true for a playbook using an artifact module, in a block too, and false for one that does not', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'image.yml'), '- hosts: localhost\n  tasks:\n    - block:\n        - imgplay_squashfs: { root: /r, dest: /d }\n');
    await writeFile(join(dir, 'plain.yml'), '- hosts: localhost\n  tasks:\n    - debug: { msg: hi }\n');
    expect(buildsArtifacts(await loadPlaybook(join(dir, 'image.yml')))).toBe(true);
    expect(buildsArtifacts(await loadPlaybook(join(dir, 'plain.yml')))).toBe(false);
  });
});

describe('provenance', () => {
  it('records the SOURCE_DATE_EPOCH as builtAt and as itself, so two builds record the same', async () => {
    const dir = await tempDir();
    const p = await provenance(undefined, dir, 1700000000);
    expect(p).toMatchObject({ builtAt: '2023-11-14T22:13:20.000Z', sourceDateEpoch: 1700000000 });
    expect(p.varies).toBeUndefined();
    expect(await provenance(undefined, dir, 1700000000)).toEqual(p);
  });

  it("without one, records the clock's time and says the artifact's times are the build's", async () => {
    const before = Date.now();
    const p = await provenance(undefined, await tempDir(), undefined);
    expect(Date.parse(p.builtAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(p.sourceDateEpoch).toBeUndefined();
    expect(p.varies).toEqual([NO_EPOCH]);
  });
});

describe('imgplay run', () => {
  // An image build (an artifact module, skipped here) and a task that shows the time the run has.
  const imageBuild = `- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - imgplay_kernel: { root: /nonexistent, dest: /nonexistent }
      when: false
    - debug: { msg: "epoch={{ lookup('env', 'SOURCE_DATE_EPOCH') }}" }
    - shell: umask
      register: mask
    - debug: { msg: "umask={{ mask.stdout }}" }
`;
  const run = async (file: string): Promise<string> => {
    let out = '';
    const code = await main(['node', 'imgplay', file], { stdout: (s) => void (out += s), stderr: (s) => void (out += s) });
    expect(code, out).toBe(0);
    return out;
  };

  it("gives an image build the last commit's date, where lookup('env') and the tasks see it, and umask 022", async () => {
    delete process.env.SOURCE_DATE_EPOCH;
    const { playbooks } = await repoCommittedAt(1600000000);
    await writeFile(join(playbooks, 'image.yml'), imageBuild);
    const mask = process.umask(0o077);
    try {
      const out = await run(join(playbooks, 'image.yml'));
      expect(out).toContain('epoch=1600000000');
      expect(out).toContain('umask=0022');
      expect(out).not.toContain('no SOURCE_DATE_EPOCH');
    } finally {
      process.umask(mask);
    }
  });

  it('keeps a SOURCE_DATE_EPOCH the environment sets', async () => {
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    const { playbooks } = await repoCommittedAt(1600000000);
    await writeFile(join(playbooks, 'image.yml'), imageBuild);
    expect(await run(join(playbooks, 'image.yml'))).toContain('epoch=1700000000');
  });

  it('warns that two builds will differ when there is no stable time', async () => {
    delete process.env.SOURCE_DATE_EPOCH;
    const dir = await tempDir();
    await writeFile(join(dir, 'image.yml'), imageBuild);
    const out = await run(join(dir, 'image.yml'));
    expect(out).toContain(`no SOURCE_DATE_EPOCH: it is not set and ${dir} is not in a git repository with a commit`);
    expect(out).toContain('"msg": "epoch="');
  });

  it('leaves a playbook that builds nothing alone', async () => {
    delete process.env.SOURCE_DATE_EPOCH;
    const { playbooks } = await repoCommittedAt(1600000000);
    await writeFile(join(playbooks, 'plain.yml'), imageBuild.replace(/    - imgplay_kernel.*\n.*\n/, ''));
    const mask = process.umask(0o077);
    try {
      const out = await run(join(playbooks, 'plain.yml'));
      expect(out).toContain('"msg": "epoch="');
      expect(out).toContain('umask=0077');
      expect(process.env.SOURCE_DATE_EPOCH).toBeUndefined();
    } finally {
      process.umask(mask);
    }
  });
});
