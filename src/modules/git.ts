// Clones and updates git checkouts on the target with the target's own git, as ansible.builtin.git does.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ExecResult } from '../connection/types.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { findTargetProgram } from './support/bin-path.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { splitLines } from './support/lines.js';
import { hostPathFollow, statOrUndefined, targetPathOf } from './support/target-path.js';
import { targetTempDir } from './support/target-temp.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const NOT_HERE = 'not implemented in imgplay';

const args = {
  dest: { type: 'path', description: 'Where the checkout goes (its parent directories are made). Required unless `clone: false`.' },
  repo: { required: true, aliases: ['name'], description: 'The repository: a URL, or an absolute path on the target (made `file://PATH`, as Ansible does).' },
  version: { default: 'HEAD', description: 'What to check out: `HEAD` (the remote\'s default branch), a branch, a tag or a commit.' },
  remote: { default: 'origin', description: 'The name of the remote.' },
  refspec: { description: 'A refspec fetched besides (e.g. `refs/pull/*:refs/remotes/origin/pull/*`): after the clone, and with every update.' },
  reference: { description: 'A repository on the target whose objects the clone borrows (`git clone --reference`).' },
  force: { type: 'bool', default: false, description: 'Discard local modifications of tracked files (`git reset --hard`) instead of failing on them.' },
  depth: { type: 'int', description: 'A shallow clone/fetch of this many commits (HEAD, branches and tags only; for a commit it is ignored with a warning, as in Ansible).' },
  clone: { type: 'bool', default: true, description: 'Clone when `dest` has no repository. With `false`, only report the remote revision.' },
  update: { type: 'bool', default: true, description: 'Fetch and check out `version` in an existing checkout. With `false`, only report its revision.' },
  verify_commit: { type: 'bool', default: false, refusedValues: { true: `GPG verification of commits and tags is ${NOT_HERE}` }, description: 'Verify the GPG signature of the commit or tag.' },
  gpg_whitelist: { type: 'list', elements: 'str', refused: `GPG verification is ${NOT_HERE}`, description: 'The GPG keys a signature may be made with.' },
  accept_hostkey: { type: 'bool', default: false, description: 'Pass `-o StrictHostKeyChecking=no` to ssh (through `GIT_SSH_COMMAND`).' },
  accept_newhostkey: { type: 'bool', default: false, description: 'Pass `-o StrictHostKeyChecking=accept-new` to ssh.' },
  key_file: { type: 'path', description: 'An ssh private key on the target (`-i KEY -o IdentitiesOnly=yes`).' },
  ssh_opts: { description: 'More ssh options, in `GIT_SSH_COMMAND`.' },
  executable: { type: 'path', description: 'The git program on the target (default: `git` on its PATH).' },
  bare: { type: 'bool', default: false, description: 'A bare repository (`git clone --bare`); nothing is checked out.' },
  recursive: { type: 'bool', default: true, description: 'Check submodules out too (`git submodule update --init --recursive` when one is missing or behind), at the commits the checkout records.' },
  single_branch: { type: 'bool', default: false, description: 'Clone only the history of `version` (`--single-branch`).' },
  track_submodules: { type: 'bool', default: false, refusedValues: { true: `following the submodules' branches is ${NOT_HERE}` }, description: 'Check submodules out at the tip of their master branch.' },
  umask: { type: 'raw', description: 'The umask git runs with (and the parent directories of `dest` are made with), a quoted octal string such as `"0022"`.' },
  archive: { type: 'path', description: 'Also write `git archive` of `version` to this file on the target; its extension says the format (`.zip`, `.tar`, `.gz` for tar.gz, `.tgz`). An archive already there with the same bytes is left alone, and the task then reports no change, as Ansible does.' },
  archive_prefix: { description: "A prefix for the archive's paths (`git archive --prefix`)." },
  separate_git_dir: { type: 'path', description: 'Keep the repository there, with a `.git` file in `dest` pointing to it (`clone --separate-git-dir`); an existing checkout\'s repository is moved there (`git_dir_before`, `git_dir_now`), as Ansible does.' },
} as const satisfies Record<string, ArgSpec>;

type GitArgs = ArgsOf<typeof args>;

class Failure extends Error {
  constructor(
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const git = defineModule(
  {
    name: 'git',
    doc: {
      short: 'Clones a git repository on the target, or brings a checkout to a version.',
      description:
        "As ansible-core 2.14 does it, with the same git commands run on the target by its own git (in a chroot, inside the tree): `clone --origin REMOTE` (with `--depth`/`--branch`/`--single-branch` as Ansible adds them), then `fetch --tags REMOTE`, `checkout --force`, `reset --hard REMOTE/BRANCH` or `checkout --track -b`, so the checkout ends as Ansible's does. Without git on the target the task fails as Ansible's does (`Failed to find required executable \"git\" in paths: ...`). The network the target reaches is the build host's: use local repositories (a path or `file://`) or mirrors you trust.",
      returns: '`before` (the commit before, null for a new clone), `after` (the commit after), `remote_url_changed` (for an existing checkout), `submodules_changed` (when submodules were updated), `msg` (when local modifications were discarded), `warnings`; under --diff `diff.prepared` (the `git diff` between the two).',
      checkMode: "Reports what would change from `git ls-remote` (a new clone: changed, `after` the remote's revision), touching nothing.",
      differences: [
        'A repository that asks for a user name or password fails at once (`GIT_TERMINAL_PROMPT=0`, unless the task\'s environment says otherwise), where Ansible\'s git could wait on a terminal.',
        '`track_submodules` and GPG verification are not implemented: refused with the reason.',
      ],
    },
    args,
    mutuallyExclusive: [
      ['separate_git_dir', 'bare'],
      ['accept_hostkey', 'accept_newhostkey'],
    ],
    requiredBy: { archive_prefix: ['archive'] },
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
    try {
      return await run(ctx);
    } catch (err) {
      if (err instanceof Failure) return failed(err.message, err.extra);
      throw err;
    }
  },
);

/** The git commands of one task: the program, the environment Ansible gives them, the target. */
class Git {
  constructor(
    readonly ctx: ModuleContext<GitArgs>,
    readonly path: string,
    readonly env: Record<string, string>,
    readonly umask: number | undefined,
  ) {}

  // Ansible runs in the directory when it exists, else wherever the module runs.
  async run(argv: string[], cwd?: string): Promise<ExecResult> {
    const dir = cwd !== undefined && (await statOrUndefined(await this.ctx.conn.hostPath(cwd)))?.isDirectory() ? cwd : undefined;
    // Ansible sets the module's own umask, which its git commands inherit; here a shell sets it for each.
    const command = this.umask === undefined ? [this.path, ...argv] : ['/bin/sh', '-c', 'umask "$0" && exec "$@"', `0${this.umask.toString(8)}`, this.path, ...argv];
    return this.ctx.conn.exec(command, { cwd: dir, env: this.env, signal: this.ctx.signal, keepFinalNewline: true });
  }

  /** run_command(check_rc=True): a failure is the module's, with git's stderr. */
  async ok(argv: string[], cwd?: string): Promise<ExecResult> {
    const r = await this.run(argv, cwd);
    if (r.rc !== 0) throw new Failure(r.stderr.trimEnd(), { cmd: [this.path, ...argv].join(' '), rc: r.rc, stdout: r.stdout, stderr: r.stderr });
    return r;
  }

  async version(dest: string, ref = 'HEAD'): Promise<string> {
    return (await this.run(['rev-parse', ref], dest)).stdout.replace(/\n+$/, '');
  }

  async isRemoteBranch(dest: string | undefined, remote: string, version: string): Promise<boolean> {
    return (await this.ok(['ls-remote', remote, '-h', `refs/heads/${version}`], dest)).stdout.includes(version);
  }

  async isRemoteTag(dest: string | undefined, remote: string, version: string): Promise<boolean> {
    return (await this.ok(['ls-remote', remote, '-t', `refs/tags/${version}`], dest)).stdout.includes(version);
  }

  async branches(dest: string): Promise<string[]> {
    const r = await this.run(['branch', '--no-color', '-a'], dest);
    if (r.rc !== 0) throw new Failure(`Could not determine branch data - received ${r.stdout}`, { stdout: r.stdout, stderr: r.stderr });
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }

  async isLocalBranch(dest: string, branch: string): Promise<boolean> {
    const all = await this.branches(dest);
    return all.includes(branch) || all.includes(`* ${branch}`);
  }

  async headBranch(dest: string, remote: string, bare: boolean): Promise<string> {
    const repoPath = await repoPathOf(this.ctx, dest, bare);
    const detached = (await this.branches(dest)).some((b) => b.startsWith('* ') && (b.includes('no branch') || b.includes('detached from') || b.includes('detached at')));
    const headfile = detached ? posix.join(repoPath, 'refs', 'remotes', remote, 'HEAD') : posix.join(repoPath, 'HEAD');
    const text = await readFile(await hostPathFollow(this.ctx.conn, headfile), 'utf8').catch(() => undefined);
    // Ansible's head_splitter: the last word of the first line, less refs/remotes/REMOTE and two path steps.
    const first = text?.match(/^[^\n]*\n?/)?.[0] ?? '';
    if (first === '') return 'None';
    const ref = first.replace(`refs/remotes/${remote}`, '').split(' ').at(-1) as string;
    const parts = ref.split('/');
    return (parts.length > 2 ? parts.slice(2).join('/') : (parts.at(-1) as string)).replace(/\n+$/, '');
  }

  async remoteUrl(dest: string, remote: string): Promise<string | undefined> {
    const r = await this.run(['ls-remote', '--get-url', remote], dest);
    return r.rc === 0 ? r.stdout.replace(/\n+$/, '') : undefined;
  }

  async setRemoteUrl(repo: string, dest: string, remote: string): Promise<boolean> {
    const url = await this.remoteUrl(dest, remote);
    if (url === repo || (url !== undefined && unfrack(url) === unfrack(repo))) return false;
    const r = await this.run(['remote', 'set-url', remote, repo], dest);
    if (r.rc !== 0) throw new Failure(`Failed to set a new url ${repo} for ${remote}: ${r.stdout} ${r.stderr}`);
    return url !== undefined;
  }

  async remoteHead(dest: string | undefined, version: string, remote: string, bare: boolean): Promise<string> {
    const { repo } = this.ctx.args;
    const cloning = remote === repo || remote === `file://${repo}`;
    const cwd = cloning ? undefined : dest;
    let argv: string[];
    let tag = false;
    if (version === 'HEAD') {
      argv = cloning ? ['ls-remote', remote, '-h', 'HEAD'] : ['ls-remote', remote, '-h', `refs/heads/${await this.headBranch(dest as string, remote, bare)}`];
    } else if (await this.isRemoteBranch(dest, remote, version)) {
      argv = ['ls-remote', remote, '-h', `refs/heads/${version}`];
    } else if (await this.isRemoteTag(dest, remote, version)) {
      tag = true;
      argv = ['ls-remote', remote, '-t', `refs/tags/${version}*`];
    } else {
      return version;
    }
    const r = await this.ok(argv, cwd);
    let out = r.stdout;
    if (out.length < 1) throw new Failure(`Could not determine remote revision for ${version}`, { stdout: r.stdout, stderr: r.stderr, rc: r.rc });
    if (tag) {
      // An annotated tag's peeled line (^{}) names the commit.
      for (const line of out.split('\n')) {
        if (line.endsWith(`${version}^{}`)) {
          out = line;
          break;
        } else if (line.endsWith(version)) out = line;
      }
    }
    return out.trim().split(/\s+/)[0] as string;
  }

  async fetch(repo: string, dest: string, version: string, remote: string, depth: number | undefined, bare: boolean, refspec: string | undefined, force: boolean): Promise<void> {
    await this.setRemoteUrl(repo, dest, remote);
    const cmd = ['fetch'];
    let refspecs: string[] = [];
    if (depth) {
      const currentHead = await this.headBranch(dest, remote, false);
      if (refspec) refspecs.push(refspec);
      else if (version === 'HEAD') refspecs.push(currentHead);
      else if (await this.isRemoteBranch(dest, repo, version)) {
        if (currentHead !== version) refspecs.push(`+refs/heads/${version}:refs/heads/${version}`);
        refspecs.push(`+refs/heads/${version}:refs/remotes/${remote}/${version}`);
      } else if (await this.isRemoteTag(dest, repo, version)) refspecs.push(`+refs/tags/${version}:refs/tags/${version}`);
      if (refspecs.length > 0) cmd.push('--depth', String(depth));
    }
    if (!depth || refspecs.length === 0) {
      if (bare) refspecs = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];
      else cmd.push('--tags');
      if (refspec) refspecs.push(refspec);
    }
    if (force) cmd.push('--force');
    cmd.push(remote);
    const argv = [...cmd, ...refspecs];
    const r = await this.run(argv, dest);
    if (r.rc !== 0) throw new Failure(`Failed to download remote objects and refs: ${r.stdout} ${r.stderr}`, { cmd: [this.path, ...argv] });
  }

  async clone(repo: string, dest: string, separateGitDir: string | undefined, result: ModuleResult): Promise<void> {
    const { args } = this.ctx;
    const parent = posix.dirname(dest);
    // os.makedirs, its failure ignored: git clone then says what is wrong.
    const host = await hostPathFollow(this.ctx.conn, parent);
    const made = await mkdir(host, { recursive: true }).catch(() => undefined);
    // What os.makedirs makes under the module's umask: 0777 less it (imgplay's own umask is not the task's).
    if (made !== undefined && this.umask !== undefined) {
      for (let d = host; d.length >= made.length; d = posix.dirname(d)) await chmod(d, 0o777 & ~this.umask);
    }
    const cmd = ['clone', ...(args.bare ? ['--bare'] : ['--origin', args.remote])];
    // Asked whatever the arguments, as Ansible does: a repository that is not there fails here, with ls-remote's words.
    const branchOrTag = (await this.isRemoteBranch(dest, repo, args.version)) || (await this.isRemoteTag(dest, repo, args.version));
    if (args.depth) {
      if (args.version === 'HEAD' || args.refspec) cmd.push('--depth', String(args.depth));
      else if (branchOrTag) cmd.push('--depth', String(args.depth), '--branch', args.version);
      else warn(result, 'Ignoring depth argument. Shallow clones are only available for HEAD, branches, tags or in combination with refspec.');
    }
    if (args.reference !== undefined) cmd.push('--reference', args.reference);
    if (args.single_branch) {
      cmd.push('--single-branch');
      if (branchOrTag) cmd.push('--branch', args.version);
    }
    if (separateGitDir !== undefined) cmd.push(`--separate-git-dir=${separateGitDir}`);
    await this.ok([...cmd, repo, dest], parent);
    if (args.bare && args.remote !== 'origin') await this.ok(['remote', 'add', args.remote, repo], dest);
    if (args.refspec) await this.ok(['fetch', ...(args.depth ? ['--depth', String(args.depth)] : []), args.remote, args.refspec], dest);
  }

  async switchVersion(dest: string, remote: string, version: string, depth: number | undefined): Promise<void> {
    let argv: string[];
    let branch = version;
    if (version === 'HEAD') {
      branch = await this.headBranch(dest, remote, false);
      const r = await this.run(['checkout', '--force', branch], dest);
      if (r.rc !== 0) throw new Failure(`Failed to checkout branch ${branch}`, { stdout: r.stdout, stderr: r.stderr, rc: r.rc });
      argv = ['reset', '--hard', `${remote}/${branch}`, '--'];
    } else if (await this.isRemoteBranch(dest, remote, version)) {
      if (depth && !(await this.isLocalBranch(dest, version))) {
        const r = await this.run(['fetch', `--depth=${depth}`, remote, `+refs/heads/${version}:refs/heads/${version}`, `+refs/heads/${version}:refs/remotes/${remote}/${version}`], dest);
        if (r.rc !== 0) throw new Failure(`Failed to fetch branch from remote: ${version}`, { stdout: r.stdout, stderr: r.stderr, rc: r.rc });
      }
      if (!(await this.isLocalBranch(dest, version))) argv = ['checkout', '--track', '-b', version, `${remote}/${version}`];
      else {
        const r = await this.run(['checkout', '--force', version], dest);
        if (r.rc !== 0) throw new Failure(`Failed to checkout branch ${version}`, { stdout: r.stdout, stderr: r.stderr, rc: r.rc });
        argv = ['reset', '--hard', `${remote}/${version}`];
      }
    } else {
      argv = ['checkout', '--force', version];
    }
    const r = await this.run(argv, dest);
    if (r.rc !== 0) {
      throw new Failure(version !== 'HEAD' ? `Failed to checkout ${version}` : `Failed to checkout branch ${branch}`, { stdout: r.stdout, stderr: r.stderr, rc: r.rc, cmd: [this.path, ...argv].join(' ') });
    }
  }

  /** Whether submodules need an update: one not checked out yet, or one whose commit differs after fetching. */
  async submodulesFetch(dest: string): Promise<boolean> {
    const text = await readFile(await hostPathFollow(this.ctx.conn, posix.join(dest, '.gitmodules')), 'utf8').catch(() => undefined);
    if (text === undefined) return false;
    for (const line of text.split('\n')) {
      if (!line.trim().startsWith('path')) continue;
      const eq = line.indexOf('=');
      if (eq === -1) throw new Failure(`MODULE FAILURE: no '=' in the .gitmodules line: ${line.trim()}`);
      if (!(await exists(this.ctx, posix.join(dest, line.slice(eq + 1).trim(), '.git')))) return true;
    }
    await this.submoduleVersions(dest);
    await this.ok(['submodule', 'foreach', this.path, 'fetch'], dest);
    const status = await this.ok(['submodule', 'status'], dest);
    return splitLines(status.stdout).some((l) => !l.startsWith(' '));
  }

  // Ansible reads them (and fails on output it cannot parse) before fetching, even where it does not compare them.
  async submoduleVersions(dest: string): Promise<Record<string, string>> {
    const r = await this.run(['submodule', 'foreach', this.path, 'rev-parse', 'HEAD'], dest);
    if (r.rc !== 0) throw new Failure('Unable to determine hashes of submodules', { stdout: r.stdout, stderr: r.stderr, rc: r.rc });
    const out: Record<string, string> = {};
    let name: string | undefined;
    for (const line of splitLines(r.stdout)) {
      if (line.startsWith("Entering '")) name = line.slice(10, -1);
      else if (line.trim().length === 40 && name !== undefined) {
        out[name] = line.trim();
        name = undefined;
      } else throw new Failure(`Unable to parse submodule hash line: ${line.trim()}`);
    }
    if (name !== undefined) throw new Failure(`Unable to find hash for submodule: ${name}`);
    return out;
  }

  async submoduleUpdate(dest: string, force: boolean): Promise<void> {
    if (!(await exists(this.ctx, posix.join(dest, '.gitmodules')))) return;
    await this.ok(['submodule', 'sync'], dest);
    const r = await this.run(['submodule', 'update', '--init', '--recursive', ...(force ? ['--force'] : [])], dest);
    if (r.rc !== 0) throw new Failure(`Failed to init/update submodules: ${r.stdout}${r.stderr}`);
  }

  /** Ansible's create_archive: `git archive` into the file, or into a temp file compared with the one there. */
  async archive(dest: string, archive: string, prefix: string | undefined, version: string, repo: string, result: ModuleResult): Promise<void> {
    const formats: Record<string, string> = { '.zip': 'zip', '.gz': 'tar.gz', '.tar': 'tar', '.tgz': 'tgz' };
    const format = formats[posix.extname(archive)];
    if (format === undefined) {
      throw new Failure(`Unable to get file extension from archive file name : ${archive}`, {
        details: "Please specify archive as filename with extension. File extension can be one of ['tar', 'tar.gz', 'zip', 'tgz']",
      });
    }
    const make = async (out: string) => {
      const argv = ['archive', '--format', format, '--output', out, ...(prefix !== undefined ? ['--prefix', prefix] : []), version];
      const r = await this.run(argv, dest);
      if (r.rc !== 0) throw new Failure('Failed to perform archive operation', { details: `Git archive command failed to create archive ${out} using ${dest} directory.Error: ${r.stderr}` });
    };
    const conn = this.ctx.conn;
    const archiveHost = await hostPathFollow(conn, archive);
    if ((await statOrUndefined(archiveHost)) === undefined) {
      await make(archive);
      result.changed = true;
      return;
    }
    const tmpDir = posix.join(targetTempDir(this.ctx), `tmp${randomBytes(6).toString('hex')}`);
    const tmpHost = await hostPathFollow(conn, tmpDir);
    await mkdir(tmpHost, { mode: 0o700 });
    try {
      const name = `${repo.split('/').at(-1)?.replace('.git', '')}.${format}`;
      await make(posix.join(tmpDir, name));
      const fresh = await readFile(posix.join(tmpHost, name));
      if (fresh.equals(await readFile(archiveHost))) result.changed = false;
      else {
        // shutil.move: the new file replaces the old one, its mode with it (copied where a rename cannot cross filesystems).
        const from = posix.join(tmpHost, name);
        await rename(from, archiveHost).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EXDEV') throw err;
          await copyFile(from, archiveHost);
          await chmod(archiveHost, (await stat(from)).mode & 0o7777);
        });
        result.changed = true;
      }
    } finally {
      await rm(tmpHost, { recursive: true, force: true });
    }
  }

  async diff(repo: string, dest: string, before: string | null, after: string): Promise<Record<string, string>> {
    const { args } = this.ctx;
    if (before === null) return { prepared: `>> Newly checked out ${after}` };
    if (before === after) return {};
    await this.fetch(repo, dest, after, args.remote, args.depth, args.bare, undefined, false);
    const r = await this.run(['diff', before, after], dest);
    if (r.rc === 0) return { prepared: r.stdout !== '' ? r.stdout : `>> No visual differences between ${before} and ${after}` };
    return { prepared: `>> Failed to get proper diff between ${before} and ${after}${r.stderr !== '' ? `:\n>> ${r.stderr}` : ''}` };
  }
}

function warn(result: ModuleResult, message: string): void {
  result.warnings = [...((result.warnings as string[] | undefined) ?? []), message];
}

// Ansible's unfrackgitpath without symlinks: a URL or path made absolute and normalized.
function unfrack(path: string): string {
  return posix.normalize(posix.isAbsolute(path) ? path : `/${path}`);
}

/** The repository directory of a checkout: DEST/.git, DEST itself when bare, or where a `.git` file points. */
async function repoPathOf(ctx: ModuleContext<GitArgs>, dest: string, bare: boolean): Promise<string> {
  const repoPath = bare ? dest : posix.join(dest, '.git');
  const host = await hostPathFollow(ctx.conn, repoPath);
  if (!(await statOrUndefined(host))?.isFile()) return repoPath;
  const bad = (details: string) => new Failure('Current repo does not have a valid reference to a separate Git dir or it refers to the invalid path', { details });
  const data = (await readFile(host, 'utf8')).trimEnd();
  const at = data.indexOf('gitdir: ');
  if (at === -1) throw bad('not enough values to unpack (expected 2, got 1)');
  if (at > 0) throw bad('.git file has invalid git dir reference format');
  const gitdir = data.slice(at + 'gitdir: '.length);
  const path = posix.isAbsolute(gitdir) ? gitdir : posix.join(dest, gitdir);
  if (!(await statOrUndefined(await hostPathFollow(ctx.conn, path)))?.isDirectory()) throw bad(`${path} is not a directory`);
  return path;
}

function sshCommand(ctx: ModuleContext<GitArgs>): string {
  const { args, environment } = ctx;
  let opts = args.ssh_opts;
  for (const [on, value] of [
    [args.accept_hostkey, 'StrictHostKeyChecking=no'],
    [args.accept_newhostkey, 'StrictHostKeyChecking=accept-new'],
  ] as const) {
    if (!on) continue;
    if (opts === undefined) opts = `-o ${value}`;
    else if (!opts.includes('-o StrictHostKeyChecking=no') && !opts.includes('-o StrictHostKeyChecking=accept-new')) opts += ` -o ${value}`;
  }
  let ssh = opts === undefined ? (environment.GIT_SSH_OPTS ?? '') : `${environment.GIT_SSH_OPTS ?? ''} ${opts}`;
  if (args.accept_hostkey && !ssh.includes('StrictHostKeyChecking=no')) ssh += ' -o StrictHostKeyChecking=no';
  if (!ssh.includes('BatchMode=yes')) ssh += ' -o BatchMode=yes';
  if (args.key_file !== undefined) {
    if (!ssh.includes(`-i ${args.key_file}`)) ssh += `  -i ${args.key_file}`;
    if (!ssh.includes('IdentitiesOnly=yes')) ssh += ' -o IdentitiesOnly=yes';
  }
  const base = environment.GIT_SSH ?? environment.GIT_SSH_COMMAND ?? 'ssh';
  return ssh !== '' ? `${base} ${ssh}` : base;
}

/** Moves a checkout's repository to its separate git dir and points the checkout's `.git` file at it. */
async function relocateRepo(ctx: ModuleContext<GitArgs>, result: ModuleResult, repoDir: string, oldRepoDir: string, worktree: string): Promise<void> {
  if (await exists(ctx, repoDir)) throw new Failure(`Separate-git-dir path ${repoDir} already exists.`);
  const from = await hostPathFollow(ctx.conn, oldRepoDir);
  const to = await hostPathFollow(ctx.conn, repoDir);
  try {
    // shutil.move: a rename, or a copy and removal across filesystems.
    await rename(from, to).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EXDEV') throw err;
      await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      await rm(from, { recursive: true, force: true });
    });
    await writeFile(await hostPathFollow(ctx.conn, posix.join(worktree, '.git')), `gitdir: ${repoDir}`);
    Object.assign(result, { git_dir_before: oldRepoDir, git_dir_now: repoDir });
  } catch (err) {
    if ((await statOrUndefined(to)) !== undefined && (await statOrUndefined(from)) === undefined) await rename(to, from).catch(() => undefined);
    if (isFsError(err)) throw new Failure(`Unable to move git dir. ${describeFsError(err)}`);
    throw err;
  }
}

async function exists(ctx: ModuleContext<GitArgs>, path: string): Promise<boolean> {
  return (await statOrUndefined(await hostPathFollow(ctx.conn, path))) !== undefined;
}

async function run(ctx: ModuleContext<GitArgs>): Promise<ModuleResult> {
  const { args, check } = ctx;
  const program = args.executable !== undefined ? { path: args.executable } : await findTargetProgram(ctx, 'git');
  if ('missing' in program) return failed(program.missing);
  const result: ModuleResult = { changed: false };
  // Depth and the like need a URL: a path becomes file://PATH, as in Ansible.
  const repo = args.repo.startsWith('/') ? `file://${args.repo}` : args.repo;
  // GIT_TERMINAL_PROMPT=0: a repository asking for a password fails instead of waiting on a terminal nobody watches.
  const env = { GIT_TERMINAL_PROMPT: '0', ...ctx.environment, LANG: 'C', LC_ALL: 'C', LC_MESSAGES: 'C', LC_CTYPE: 'C', GIT_SSH_COMMAND: sshCommand(ctx) };
  let umask: number | undefined;
  if (args.umask !== undefined && args.umask !== null) {
    if (typeof args.umask !== 'string') return failed('umask must be defined as a quoted octal integer');
    if (!/^\s*(0o)?[0-7]+\s*$/i.test(args.umask)) return failed('umask must be an octal integer', { details: `invalid literal for int() with base 8: '${args.umask}'` });
    umask = parseInt(args.umask.trim().replace(/^0o/i, ''), 8) & 0o777;
  }
  const git = new Git(ctx, program.path, env, umask);

  if (args.dest === undefined && args.clone) return failed('the destination directory must be specified unless clone=no');
  const dest = args.dest === undefined ? undefined : posix.resolve('/', args.dest);
  // Ansible's os.path.realpath, on the target.
  const separateGitDir = args.separate_git_dir === undefined ? undefined : targetPathOf(ctx.conn, await hostPathFollow(ctx.conn, posix.resolve('/', args.separate_git_dir)));
  let gitconfig: string | undefined;
  if (dest !== undefined) {
    let repoPath = await repoPathOf(ctx, dest, args.bare);
    if (separateGitDir !== undefined && separateGitDir !== repoPath && (await exists(ctx, repoPath))) {
      result.changed = true;
      if (!check) {
        await relocateRepo(ctx, result, separateGitDir, repoPath, dest);
        repoPath = separateGitDir;
      }
    }
    gitconfig = posix.join(repoPath, 'config');
  }

  result.before = null;
  let localMods = false;
  if ((dest !== undefined && !(await exists(ctx, gitconfig as string))) || (dest === undefined && !args.clone)) {
    if (check || !args.clone) {
      const remoteHead = await git.remoteHead(dest, args.version, repo, args.bare);
      Object.assign(result, { changed: true, after: remoteHead });
      if (ctx.diff && dest !== undefined) {
        const diff = await git.diff(repo, dest, null, remoteHead);
        if (Object.keys(diff).length > 0) result.diff = diff;
      }
      return result;
    }
    await git.clone(repo, dest as string, separateGitDir, result);
  } else if (!args.update) {
    result.before = await git.version(dest as string);
    result.after = result.before;
    if (args.archive !== undefined) {
      if (check) return { ...result, changed: true };
      await git.archive(dest as string, args.archive, args.archive_prefix, args.version, args.repo, result);
    }
    return result;
  } else {
    const where = dest as string;
    localMods = await hasLocalMods(git, where, args.bare);
    result.before = await git.version(where);
    if (localMods) {
      if (!args.force) return failed(`Local modifications exist in the destination: ${where} (force=no).`, { ...result });
      if (!check) {
        await git.ok(['reset', '--hard', 'HEAD'], where);
        Object.assign(result, { changed: true, msg: `Local modifications exist in the destination: ${where}` });
      }
    }
    let remoteUrlChanged: boolean;
    if (check) {
      const url = await git.remoteUrl(where, args.remote);
      remoteUrlChanged = url !== undefined && url !== '' && url !== repo && unfrack(url) !== unfrack(repo);
    } else remoteUrlChanged = await git.setRemoteUrl(repo, where, args.remote);
    result.remote_url_changed = remoteUrlChanged;
    if (check) {
      const remoteHead = await git.remoteHead(where, args.version, args.remote, args.bare);
      Object.assign(result, { changed: result.before !== remoteHead || remoteUrlChanged, after: remoteHead });
      if (ctx.diff) {
        const diff = await git.diff(repo, where, result.before as string, remoteHead);
        if (Object.keys(diff).length > 0) result.diff = diff;
      }
      return result;
    }
    await git.fetch(repo, where, args.version, args.remote, args.depth, args.bare, args.refspec, args.force);
    result.after = await git.version(where);
  }

  const where = dest as string;
  if (!args.bare) await git.switchVersion(where, args.remote, args.version, args.depth);
  let submodulesUpdated = false;
  if (args.recursive && !args.bare) {
    submodulesUpdated = await git.submodulesFetch(where);
    if (submodulesUpdated) {
      result.submodules_changed = true;
      await git.submoduleUpdate(where, args.force);
    }
  }
  result.after = await git.version(where);
  if (result.before !== result.after || localMods || submodulesUpdated || result.remote_url_changed === true) {
    result.changed = true;
    if (ctx.diff) {
      const diff = await git.diff(repo, where, result.before as string | null, result.after as string);
      if (Object.keys(diff).length > 0) result.diff = diff;
    }
  }
  if (args.archive !== undefined) {
    if (check) return { ...result, changed: true };
    await git.archive(where, args.archive, args.archive_prefix, args.version, args.repo, result);
  }
  return result;
}

// Tracked files changed in the work tree (untracked ones do not count).
async function hasLocalMods(git: Git, dest: string, bare: boolean): Promise<boolean> {
  if (bare) return false;
  const r = await git.run(['status', '--porcelain'], dest);
  return r.stdout.split('\n').some((l) => l !== '' && !l.startsWith('??'));
}
