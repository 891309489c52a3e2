// The one time an image build stamps on everything it makes: SOURCE_DATE_EPOCH (reproducible-builds.org).
//
// An image build needs a time that is the same on every build of the same checkout, or no two builds
// are the same bytes: every file time in the base and the overlays, the initrd's members, the password
// dates useradd writes, the manifest's builtAt. imgplay takes SOURCE_DATE_EPOCH from its environment
// when it is set (a CI or a lock file's date can pin it), else the date of the last commit of the
// repository holding the playbook (the same on every clone of that commit; uncommitted edits do not
// move it, and the manifest's `dirty` says so). With neither there is no stable time: the run says so,
// and every artifact's manifest entry records that its times are the build's own.
//
// The value is put into imgplay's own environment before the run (only for playbooks that build
// artifacts), which is where mmdebstrap, mkinitramfs (`lookup('env', ...)`), the chroot connection's
// commands and the artifact modules read it.
import { execa } from 'execa';
import { ImgplayError } from '../errors.js';

/** Where a build's SOURCE_DATE_EPOCH came from. */
export type EpochOrigin = { from: 'environment' } | { from: 'commit'; commit: string; repository: string };

/** A build's SOURCE_DATE_EPOCH and where it came from. */
export interface SourceDate {
  epoch: number;
  origin: EpochOrigin;
}

/** The modules that make artifacts: a playbook using one of them is an image build. */
export const ARTIFACT_MODULES: ReadonlySet<string> = new Set(['imgplay_bootstrap', 'imgplay_squashfs', 'imgplay_cpio', 'imgplay_kernel']);

/** SOURCE_DATE_EPOCH as a whole number of seconds, undefined when unset or empty; refuses anything else. */
export function parseSourceDateEpoch(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,12}$/.test(raw)) throw new ImgplayError(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got '${raw}'`);
  return Number(raw);
}

/** The build's SOURCE_DATE_EPOCH: the environment's, else the last commit's date of the repository holding `dir`; undefined with neither. */
export async function buildSourceDate(env: NodeJS.ProcessEnv, dir: string): Promise<SourceDate | undefined> {
  const set = parseSourceDateEpoch(env.SOURCE_DATE_EPOCH);
  if (set !== undefined) return { epoch: set, origin: { from: 'environment' } };
  // The committer date: a rebase or cherry-pick makes a new commit, and a new time with it.
  const gitEnv = { GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' };
  const log = await execa('git', ['-C', dir, 'log', '-1', '--format=%H %ct'], { reject: false, stdin: 'ignore', env: gitEnv });
  const m = /^([0-9a-f]{40}(?:[0-9a-f]{24})?) (\d+)$/.exec(log.stdout.trim());
  if (log.exitCode !== 0 || m === null) return undefined;
  const top = await execa('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { reject: false, stdin: 'ignore', env: gitEnv });
  return { epoch: Number(m[2]), origin: { from: 'commit', commit: m[1] as string, repository: top.stdout.trim() || dir } };
}

/**
 * Sets SOURCE_DATE_EPOCH in `env` for an image build that has none, and returns what to tell the user:
 * nothing when it was set already or was taken from a commit, a warning when there is no stable time.
 */
export async function pinSourceDate(env: NodeJS.ProcessEnv, playbookDir: string): Promise<{ sourceDate?: SourceDate; warning?: string }> {
  const sourceDate = await buildSourceDate(env, playbookDir);
  if (sourceDate === undefined) {
    return {
      warning:
        `no SOURCE_DATE_EPOCH: it is not set and ${playbookDir} is not in a git repository with a commit, so the artifacts carry this build's own times ` +
        'and two builds will differ (set SOURCE_DATE_EPOCH, e.g. to the date of the release being built, to make them reproducible)',
    };
  }
  env.SOURCE_DATE_EPOCH = String(sourceDate.epoch);
  return { sourceDate };
}
