// Clones and updates git checkouts on the target with the target's own git, as ansible.builtin.git does.
import { posix } from 'node:path';
import { defineModule } from './spec.js';
import { findTargetProgram } from './support/bin-path.js';
import { exists, Failure, Git, type GitArgs, gitArgs, hasLocalMods, relocateRepo, repoPathOf, sshCommand, unfrack } from './support/git-commands.js';
import { hostPathFollow, targetPathOf } from './support/target-path.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

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
    args: gitArgs,
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

/** The git commands of one task: the program, the environment Ansible gives them, the target. */async function run(ctx: ModuleContext<GitArgs>): Promise<ModuleResult> {
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
