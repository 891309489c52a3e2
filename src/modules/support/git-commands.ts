// The git commands of ansible.builtin.git, in Ansible's order and words: what imgplay's git module runs on the target.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ExecResult } from '../../connection/types.js';
import type { ArgSpec, ArgsOf } from '../spec.js';
import type { ModuleContext, ModuleResult } from '../types.js';
import { describeFsError, isFsError } from './fs-error.js';
import { splitLines } from './lines.js';
import { hostPathFollow, statOrUndefined } from './target-path.js';
import { targetTempDir } from './target-temp.js';

const NOT_HERE = 'not implemented in imgplay';

/** ansible.builtin.git's arguments (argument_spec of ansible-core 2.14). */
export const gitArgs = {
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

/** The git module's arguments as its run receives them. */
export type GitArgs = ArgsOf<typeof gitArgs>;

/** A failure of the module, with Ansible's message and extra result keys. */
export class Failure extends Error {
  constructor(
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
export class Git {
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

export function warn(result: ModuleResult, message: string): void {
  result.warnings = [...((result.warnings as string[] | undefined) ?? []), message];
}

// Ansible's unfrackgitpath without symlinks: a URL or path made absolute and normalized.
export function unfrack(path: string): string {
  return posix.normalize(posix.isAbsolute(path) ? path : `/${path}`);
}

/** The repository directory of a checkout: DEST/.git, DEST itself when bare, or where a `.git` file points. */
export async function repoPathOf(ctx: ModuleContext<GitArgs>, dest: string, bare: boolean): Promise<string> {
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

export function sshCommand(ctx: ModuleContext<GitArgs>): string {
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
export async function relocateRepo(ctx: ModuleContext<GitArgs>, result: ModuleResult, repoDir: string, oldRepoDir: string, worktree: string): Promise<void> {
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

export async function exists(ctx: ModuleContext<GitArgs>, path: string): Promise<boolean> {
  return (await statOrUndefined(await hostPathFollow(ctx.conn, path))) !== undefined;
}

// Tracked files changed in the work tree (untracked ones do not count).
export async function hasLocalMods(git: Git, dest: string, bare: boolean): Promise<boolean> {
  if (bare) return false;
  const r = await git.run(['status', '--porcelain'], dest);
  return r.stdout.split('\n').some((l) => l !== '' && !l.startsWith('??'));
}
