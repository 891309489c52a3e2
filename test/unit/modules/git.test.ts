import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { git } from '../../../src/modules/git.js';
import type { ModuleResult } from '../../../src/modules/types.js';
import { type Case, cases, makeContext, prepare, sandbox, type Target } from '../../support/module-cases.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

// Fixed identities and dates: the same commits, so the same ids, every time.
const GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
  GIT_AUTHOR_DATE: '2020-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2020-01-01T00:00:00Z',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

async function sh(dir: string, script: string): Promise<string> {
  return (await execa('sh', ['-ec', script], { cwd: dir, env: GIT_ENV })).stdout;
}

/** A source repository: main with one commit (tag v1, annotated tag v1a), a feature branch one commit ahead. */
async function sourceRepo(dir: string): Promise<{ src: string; one: string; feat: string }> {
  const src = join(dir, 'src');
  await sh(dir, `git init -q -b main src && cd src && echo one > a.txt && git add a.txt && git commit -q -m one && git tag v1 && git tag -a -m annotated v1a
    git checkout -q -b feature && echo feat > f.txt && git add f.txt && git commit -q -m feat && git checkout -q main`);
  return { src, one: await sh(src, 'git rev-parse main'), feat: await sh(src, 'git rev-parse feature') };
}

async function runGit(args: Record<string, unknown>, check = false): Promise<ModuleResult> {
  const sb = await sandbox('local');
  return git.run(makeContext({ args: await prepare(git, args), conn: sb.conn, check, environment: GIT_ENV }));
}

// Behaviour taken from ansible-core 2.14's git on the same repositories (see also differential cases 213-214).
describe('git', () => {
  cases(
    git,
    [
      { name: 'refuses following the submodules\' branches at planning', args: { repo: '/r', dest: '/d', track_submodules: true }, invalid: 'track_submodules=true is not supported by imgplay' },
      { name: 'takes a separate git dir or bare', args: { repo: '/r', dest: '/d', separate_git_dir: '/g', bare: true }, invalid: 'parameters are mutually exclusive: separate_git_dir|bare' },
      { name: 'refuses GPG verification', args: { repo: '/r', dest: '/d', verify_commit: true }, invalid: 'verify_commit=true is not supported by imgplay' },
      { name: 'needs archive for archive_prefix', args: { repo: '/r', dest: '/d', archive_prefix: 'p/' }, invalid: "missing parameter(s) required by 'archive_prefix': archive" },
      { name: 'takes one host key policy', args: { repo: '/r', dest: '/d', accept_hostkey: true, accept_newhostkey: true }, invalid: 'parameters are mutually exclusive: accept_hostkey|accept_newhostkey' },
      { name: 'needs a repository', args: { dest: '/d' }, invalid: 'missing required arguments: repo' },
      {
        name: 'fails as Ansible does where the target has no git',
        args: { repo: '/r', dest: '/d' },
        error: 'Failed to find required executable "git" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        targets: ['confined'] as Target[],
      },
    ] as Case[],
  );

  if (skipWithout(lacking(file('/usr/bin/git', 'git')))) return;

  it('clones fresh, is ok again, and in check mode reports the clone and writes nothing', async () => {
    const sb = await sandbox('local');
    const { src, one } = await sourceRepo(sb.treeDir);
    const dest = join(sb.treeDir, 'co');
    const checked = await runGit({ repo: src, dest }, true);
    expect(checked).toMatchObject({ changed: true, before: null, after: one });
    expect(existsSync(dest)).toBe(false);
    expect(await runGit({ repo: src, dest })).toMatchObject({ changed: true, before: null, after: one });
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('one\n');
    expect(await runGit({ repo: src, dest })).toMatchObject({ changed: false, before: one, after: one, remote_url_changed: false });
    expect(await runGit({ repo: src, dest }, true)).toMatchObject({ changed: false, before: one, after: one });
  });

  it('brings a checkout to a new commit, a tag and a branch, each once', async () => {
    const sb = await sandbox('local');
    const { src, one, feat } = await sourceRepo(sb.treeDir);
    const dest = join(sb.treeDir, 'co');
    await runGit({ repo: src, dest });
    const two = await sh(src, 'echo two > a.txt && git commit -q -am two && git rev-parse HEAD');
    expect(await runGit({ repo: src, dest }, true)).toMatchObject({ changed: true, before: one, after: two });
    expect(await runGit({ repo: src, dest })).toMatchObject({ changed: true, before: one, after: two });
    expect(await runGit({ repo: `file://${src}`, dest, version: 'v1' })).toMatchObject({ changed: true, before: two, after: one });
    expect(await runGit({ repo: `file://${src}`, dest, version: 'v1' })).toMatchObject({ changed: false, after: one });
    expect(await runGit({ repo: src, dest, version: 'feature' })).toMatchObject({ changed: true, before: one, after: feat });
    expect(await runGit({ repo: src, dest, version: 'feature' })).toMatchObject({ changed: false, after: feat });
    expect(await sh(dest, 'git rev-parse --abbrev-ref HEAD')).toBe('feature');
  });

  it('clones one branch shallow, and a bare repository', async () => {
    const sb = await sandbox('local');
    const { src, feat, one } = await sourceRepo(sb.treeDir);
    const shallow = join(sb.treeDir, 'shallow');
    expect(await runGit({ repo: src, dest: shallow, version: 'feature', depth: 1, single_branch: true })).toMatchObject({ changed: true, after: feat });
    expect(await sh(shallow, 'git rev-list --count HEAD; git branch -a --no-color')).toBe('1\n* feature\n  remotes/origin/feature');
    expect(await runGit({ repo: src, dest: shallow, version: 'feature', depth: 1, single_branch: true })).toMatchObject({ changed: false });
    const bare = join(sb.treeDir, 'bare.git');
    expect(await runGit({ repo: src, dest: bare, bare: true })).toMatchObject({ changed: true, after: one });
    expect(existsSync(join(bare, 'HEAD'))).toBe(true);
    expect(await runGit({ repo: src, dest: bare, bare: true })).toMatchObject({ changed: false });
  });

  it('fetches a refspec after the clone and with each update, and borrows objects from a reference', async () => {
    const sb = await sandbox('local');
    const { src, feat } = await sourceRepo(sb.treeDir);
    await sh(src, 'git update-ref refs/pull/1/head feature');
    const dest = join(sb.treeDir, 'co');
    const refspec = '+refs/pull/*:refs/remotes/origin/pull/*';
    expect(await runGit({ repo: src, dest, refspec, reference: src })).toMatchObject({ changed: true });
    expect(await sh(dest, 'git rev-parse refs/remotes/origin/pull/1/head')).toBe(feat);
    expect(await readFile(join(dest, '.git/objects/info/alternates'), 'utf8')).toBe(`${src}/.git/objects\n`);
    const two = await sh(src, 'git checkout -q feature && echo two > f.txt && git commit -q -am two && git update-ref refs/pull/2/head HEAD && git checkout -q main && git rev-parse refs/pull/2/head');
    expect(await runGit({ repo: src, dest, refspec })).toMatchObject({ changed: false });
    expect(await sh(dest, 'git rev-parse refs/remotes/origin/pull/2/head')).toBe(two);
  });

  it('fails with ls-remote\'s words where the repository is not there', async () => {
    const sb = await sandbox('local');
    expect(await runGit({ repo: join(sb.treeDir, 'none'), dest: join(sb.treeDir, 'co') })).toMatchObject({
      failed: true,
      msg: expect.stringContaining(`fatal: '${join(sb.treeDir, 'none')}' does not appear to be a git repository`),
      cmd: expect.stringContaining('ls-remote'),
    });
  });

  it('runs git under the given umask, and wants it as a quoted octal string', async () => {
    const sb = await sandbox('local');
    const { src } = await sourceRepo(sb.treeDir);
    const dest = join(sb.treeDir, 'new/co');
    expect(await runGit({ repo: src, dest, umask: '0077' })).toMatchObject({ changed: true });
    expect((await stat(join(dest, 'a.txt'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(sb.treeDir, 'new'))).mode & 0o777).toBe(0o700);
    expect(await runGit({ repo: src, dest, umask: 22 })).toMatchObject({ failed: true, msg: 'umask must be defined as a quoted octal integer' });
    expect(await runGit({ repo: src, dest, umask: '9x' })).toMatchObject({ failed: true, msg: 'umask must be an octal integer' });
  });

  it('writes an archive of the version, and leaves one with the same bytes alone', async () => {
    const sb = await sandbox('local');
    const { src } = await sourceRepo(sb.treeDir);
    const dest = join(sb.treeDir, 'co');
    const archive = join(sb.treeDir, 'co.tar');
    expect(await runGit({ repo: src, dest, archive, archive_prefix: 'app/' })).toMatchObject({ changed: true });
    expect(await sh(sb.treeDir, 'tar tf co.tar')).toBe('app/\napp/a.txt');
    expect(await runGit({ repo: src, dest, archive, archive_prefix: 'app/' })).toMatchObject({ changed: false });
    expect(await runGit({ repo: src, dest, archive, archive_prefix: 'other/' })).toMatchObject({ changed: true });
    expect(await sh(sb.treeDir, 'tar tf co.tar')).toBe('other/\nother/a.txt');
    expect(await runGit({ repo: src, dest, archive: join(sb.treeDir, 'co.rar') })).toMatchObject({ failed: true, msg: `Unable to get file extension from archive file name : ${join(sb.treeDir, 'co.rar')}` });
  });

  it('keeps the repository in a separate git dir, and moves an existing one there', async () => {
    const sb = await sandbox('local');
    const { src, one } = await sourceRepo(sb.treeDir);
    const gitDir = join(sb.treeDir, 'repo.git');
    const dest = join(sb.treeDir, 'co');
    expect(await runGit({ repo: src, dest, separate_git_dir: gitDir })).toMatchObject({ changed: true, after: one });
    expect(await readFile(join(dest, '.git'), 'utf8')).toBe(`gitdir: ${gitDir}\n`);
    expect(await runGit({ repo: src, dest, separate_git_dir: gitDir })).toMatchObject({ changed: false });
    const other = join(sb.treeDir, 'co2');
    await runGit({ repo: src, dest: other });
    const moved = join(sb.treeDir, 'moved.git');
    expect(await runGit({ repo: src, dest: other, separate_git_dir: moved }, true)).toMatchObject({ changed: false });
    expect(await runGit({ repo: src, dest: other, separate_git_dir: moved })).toMatchObject({ changed: true, git_dir_before: join(other, '.git'), git_dir_now: moved });
    expect(await readFile(join(other, '.git'), 'utf8')).toBe(`gitdir: ${moved}`);
    expect(await runGit({ repo: src, dest: other, separate_git_dir: moved })).toMatchObject({ changed: false });
  });

  it('fails on local modifications unless forced, and forced discards them', async () => {
    const sb = await sandbox('local');
    const { src, one } = await sourceRepo(sb.treeDir);
    const dest = join(sb.treeDir, 'co');
    await runGit({ repo: src, dest });
    await writeFile(join(dest, 'a.txt'), 'mine\n');
    expect(await runGit({ repo: src, dest })).toMatchObject({ failed: true, before: one, msg: `Local modifications exist in the destination: ${dest} (force=no).` });
    expect(await runGit({ repo: src, dest, force: true }, true)).toMatchObject({ changed: false, before: one, after: one });
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('mine\n');
    expect(await runGit({ repo: src, dest, force: true })).toMatchObject({ changed: true, msg: `Local modifications exist in the destination: ${dest}` });
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('one\n');
  });

  it('only reports the remote revision with clone: false, and the checkout with update: false', async () => {
    const sb = await sandbox('local');
    const { src, one } = await sourceRepo(sb.treeDir);
    const dest = join(sb.treeDir, 'co');
    expect(await runGit({ repo: src, dest, clone: false })).toMatchObject({ changed: true, after: one });
    expect(existsSync(dest)).toBe(false);
    await runGit({ repo: src, dest });
    await sh(src, 'echo two > a.txt && git commit -q -am two');
    expect(await runGit({ repo: src, dest, update: false })).toMatchObject({ changed: false, before: one, after: one });
  });

  it('checks submodules out with the checkout, updates them when the checkout moves, and leaves them with recursive: false', async () => {
    const sb = await sandbox('local');
    const { src } = await sourceRepo(sb.treeDir);
    // Git refuses file:// submodules unless told otherwise: the task's environment tells it, for both tools alike.
    const fileOk = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'protocol.file.allow', GIT_CONFIG_VALUE_0: 'always' };
    Object.assign(GIT_ENV, fileOk);
    try {
      const lib = join(sb.treeDir, 'lib');
      await sh(sb.treeDir, `git init -q -b main lib && cd lib && echo v1 > lib.txt && git add lib.txt && git commit -q -m lib1`);
      await sh(src, `git submodule -q add ${lib} vendor/lib && git commit -q -m sub`);
      const dest = join(sb.treeDir, 'co');
      expect(await runGit({ repo: src, dest })).toMatchObject({ changed: true, submodules_changed: true });
      expect(await readFile(join(dest, 'vendor/lib/lib.txt'), 'utf8')).toBe('v1\n');
      expect(await runGit({ repo: src, dest })).toMatchObject({ changed: false });
      await sh(lib, 'echo v2 > lib.txt && git commit -q -am lib2');
      await sh(src, 'git -C vendor/lib pull -q && git commit -q -am bump');
      expect(await runGit({ repo: src, dest })).toMatchObject({ changed: true, submodules_changed: true });
      expect(await readFile(join(dest, 'vendor/lib/lib.txt'), 'utf8')).toBe('v2\n');
      const flat = join(sb.treeDir, 'flat');
      expect(await runGit({ repo: src, dest: flat, recursive: false })).toMatchObject({ changed: true });
      expect(existsSync(join(flat, 'vendor/lib/lib.txt'))).toBe(false);
    } finally {
      for (const k of Object.keys(fileOk)) delete (GIT_ENV as Record<string, string>)[k];
    }
  });
});
