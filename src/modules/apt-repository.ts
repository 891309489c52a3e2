// Adds or removes a one-line apt source in the target, as Ansible's apt_repository does: a line already
// in sources.list or sources.list.d/*.list counts, whitespace normalised; new ones get their own file.
import { chmod, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import type { Connection } from '../connection/types.js';
import { defineModule } from './spec.js';
import { atomicWrite } from '../host/atomic-write.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { currentUmask } from '../host/atomic-write.js';
import { parseMode } from './support/mode.js';
import { hostPathFollow, lstatOrUndefined } from './support/target-path.js';
import { type ModuleResult, failed } from './types.js';

const SOURCES_LIST = '/etc/apt/sources.list';
const SOURCES_DIR = '/etc/apt/sources.list.d';
const SOURCE_TYPES = ['deb', 'deb-src'];

export const aptRepository = defineModule(
  {
    name: 'apt_repository',
    doc: {
      short: "Adds or removes a one-line apt source (`deb`/`deb-src`) in the target's `/etc/apt`.",
      description: `Lines are compared as Ansible does: the part before a \`#\` comment, runs of whitespace made one space, so type, options (as written), URI, suite and components must all match. \`present\`: a matching line in \`/etc/apt/sources.list\` or any \`sources.list.d/*.list\` means nothing to do; a commented-out match (\`# deb ...\`) is switched back on; otherwise the line is appended to the derived file. \`absent\`: every enabled matching line is removed from whichever file has it, and a file left with no lines is deleted. deb822 \`*.sources\` files are not read (Ansible 2.14 does not read them either).

When \`apt-get update\` fails (or prints \`E:\` lines), the sources files are put back as they were and the task fails with apt's own error lines, e.g. \`Failed to update apt cache on chroot /build/root (the sources were put back): E: The repository 'file:/srv/none ./ Release' does not have a Release file.\``,
      returns: '`repo`, `state`, and under `--diff` the changed file before and after (`/dev/null` for a file created or deleted; several files are shown one after another).',
      checkMode: 'Predicts the change and writes nothing; the cache is not updated.',
      differences: [
        'Only the files that change are written, and only the changed lines; Ansible rewrites every sources file it read in its normalised form (`# ` before disabled lines, single spaces).',
        '`mode` defaults to `0644` for new files (2.14 leaves them at the umask\'s default).',
        "apt's own error lines in the failure message instead of python-apt's exception text; no sleep after the last failed attempt.",
      ],
    },
    args: {
      repo: { required: true, description: '`deb [options] uri suite [components]` or `deb-src ...`. PPAs (`ppa:`) are refused.' },
      state: { default: 'present', choices: ['absent', 'present'], description: '`absent` removes the line.' },
      // A string ('0644', 'u=rw,g=r') or the integer YAML 1.1 makes of an unquoted 0644.
      mode: { type: 'raw', description: 'Mode of a new file (and of the file a line is added to, when given); unset, `0644` for a new file.' },
      update_cache: { type: 'bool', default: true, aliases: ['update-cache'], description: 'After a change, run `apt-get update` inside the target.' },
      update_cache_retries: { type: 'int', default: 5, description: 'Attempts, with exponential backoff (1 s, 2 s, 4 s... plus up to 1 s jitter)...' },
      update_cache_retry_max_delay: { type: 'int', default: 12, description: '...capped at this many seconds.' },
      filename: {
        description:
          'The file for a new line, `.list` added: `sources.list.d/<filename>.list` (a name with `/` is a path in the target). Unset, derived as Ansible does: options, scheme and `user:password@` dropped, host and path with every non-alphanumeric run made `_` (`http://pkgs.example.org/debian` -> `pkgs_example_org_debian.list`).',
      },
      install_python_apt: { type: 'bool', default: true, description: 'Accepted and ignored: imgplay needs no python3-apt.' },
      validate_certs: { type: 'bool', default: true, description: 'Accepted and ignored: apt checks certificates itself.' },
      codename: { description: 'Accepted and ignored: it only serves PPAs, which are not supported.' },
    },
    checkMode: 'full',
    diff: true,
  },
  async ({ conn, args, check, diff, signal, log }) => {
    if (args.repo.trim() === '') return failed("Please set argument 'repo' to a non-empty value");
    const wanted = parseLine(args.repo);
    if (!wanted.valid || !wanted.enabled) {
      const why = args.repo.trim().startsWith('ppa:') ? ' (PPAs are Ubuntu-only)' : '';
      return failed(`Invalid repository string: ${args.repo}${why}`);
    }
    let mode: number | undefined;
    if (args.mode !== undefined) {
      try {
        mode = parseMode(args.mode, 0o100644, currentUmask());
      } catch (err) {
        return failed(`invalid mode '${String(args.mode)}': ${(err as Error).message}`);
      }
    }
    try {
      const files = await loadSources(conn);
      const changedFiles = new Map<string, string[]>();
      const edit = (f: SourceFile): string[] => changedFiles.get(f.path) ?? changedFiles.set(f.path, [...f.lines]).get(f.path) as string[];
      let added: string | undefined;

      if (args.state === 'present') {
        let found = false;
        for (const f of files) {
          f.lines.forEach((line, n) => {
            const p = parseLine(line);
            if (!p.valid || p.source !== wanted.source) return;
            found = true;
            // A commented-out copy of the line is switched back on, as Ansible does.
            if (!p.enabled) edit(f)[n] = render(p.source, p.comment);
          });
        }
        if (!found) {
          added = targetFile(args.filename, wanted.source);
          const existing = files.find((f) => f.path === added);
          const lines = existing === undefined ? [] : edit(existing);
          if (existing === undefined) changedFiles.set(added, lines);
          lines.push(wanted.source);
        }
      } else {
        for (const f of files) {
          const keep = f.lines.filter((line) => {
            const p = parseLine(line);
            return !(p.valid && p.enabled && p.source === wanted.source);
          });
          if (keep.length !== f.lines.length) changedFiles.set(f.path, keep);
        }
      }

      const result: ModuleResult = { changed: changedFiles.size > 0, repo: args.repo, state: args.state };
      if (!result.changed) return result;
      const before = new Map(files.map((f) => [f.path, f.text]));
      const afterText = (lines: string[]): string | null => (lines.length === 0 ? null : `${lines.join('\n')}\n`);
      if (diff) result.diff = sourcesDiff(before, changedFiles, afterText);
      if (check) return result;

      for (const [path, lines] of changedFiles) {
        const host = await hostPathFollow(conn, path);
        const text = afterText(lines);
        if (text === null) {
          await unlink(host);
          continue;
        }
        await mkdir(dirname(host), { recursive: true });
        const isNew = !before.has(path);
        await atomicWrite(host, { data: text });
        if (isNew) await chmod(host, mode ?? 0o644);
        else if (mode !== undefined && path === added) await chmod(host, mode);
      }

      if (args.update_cache) {
        const err = await updateCache(conn, args.update_cache_retries, args.update_cache_retry_max_delay, signal, log);
        if (err !== undefined) {
          await revert(conn, before, changedFiles);
          return failed(`Failed to update apt cache on ${conn.describe()} (the sources were put back): ${err}`, { repo: args.repo, state: args.state });
        }
      }
      return result;
    } catch (err) {
      if (isFsError(err)) return failed(describeFsError(err));
      throw err;
    }
  },
);

/** One sources line as Ansible reads it: enabled unless commented out, a source if it starts with deb/deb-src. */
export interface ParsedLine {
  valid: boolean;
  enabled: boolean;
  /** The line without its comment, runs of whitespace made one space. */
  source: string;
  comment: string;
}

/** Ansible's SourcesList._parse: the comparable form of a sources.list line. */
export function parseLine(raw: string): ParsedLine {
  let line = raw.trim();
  let enabled = true;
  let comment = '';
  if (line.startsWith('#')) {
    enabled = false;
    line = line.slice(1);
  }
  const hash = line.indexOf('#');
  if (hash > 0) {
    comment = line.slice(hash + 1).trim();
    line = line.slice(0, hash);
  }
  const chunks = line.trim().split(/\s+/).filter((c) => c !== '');
  const valid = chunks.length > 0 && SOURCE_TYPES.includes(chunks[0] as string);
  return { valid, enabled, source: valid ? chunks.join(' ') : line.trim(), comment };
}

/** The file Ansible picks for a new line: filename + '.list', or one named after the URI's host and path. */
export function suggestFilename(source: string, filename?: string): string {
  if (filename !== undefined) return `${filename}.list`;
  const parts = source
    .replace(/\[[^\]]+\]/g, '')
    .replace(/\w+:\/\//g, '')
    .split(/\s+/)
    .filter((p) => p !== '' && !SOURCE_TYPES.includes(p));
  // user:password@ is left out, so credentials never end up in a file name.
  const first = (parts[0] ?? '').split('@').at(-1) as string;
  return `${first.replace(/[^a-zA-Z0-9]/g, ' ').trim().split(/\s+/).join('_')}.list`;
}

function targetFile(filename: string | undefined, source: string): string {
  const name = suggestFilename(source, filename);
  return name.includes('/') ? posix.resolve('/', name) : posix.join(SOURCES_DIR, name);
}

function render(source: string, comment: string): string {
  return comment === '' ? source : `${source} # ${comment}`;
}

interface SourceFile {
  path: string;
  text: string;
  lines: string[];
}

// sources.list, then sources.list.d/*.list in name order (deb822 *.sources are not one-line sources).
async function loadSources(conn: Connection): Promise<SourceFile[]> {
  const names = await readdir(await hostPathFollow(conn, SOURCES_DIR)).catch(() => [] as string[]);
  const paths = [SOURCES_LIST, ...names.filter((n) => n.endsWith('.list')).sort().map((n) => posix.join(SOURCES_DIR, n))];
  const files: SourceFile[] = [];
  for (const path of paths) {
    const host = await hostPathFollow(conn, path);
    const st = await lstatOrUndefined(host);
    if (st === undefined || !st.isFile()) continue;
    const text = await readFile(host, 'utf8');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    files.push({ path, text, lines });
  }
  return files;
}

function sourcesDiff(before: Map<string, string>, changed: Map<string, string[]>, afterText: (l: string[]) => string | null): ModuleResult['diff'] {
  const paths = [...changed.keys()];
  const side = (get: (p: string) => string | null): string => paths.map((p) => get(p) ?? '').join('');
  const header = (get: (p: string) => string | null): string => paths.map((p) => (get(p) === null ? '/dev/null' : p)).join(', ');
  const beforeOf = (p: string): string | null => before.get(p) ?? null;
  const afterOf = (p: string): string | null => afterText(changed.get(p) as string[]);
  return { before: side(beforeOf), after: side(afterOf), before_header: header(beforeOf), after_header: header(afterOf) };
}

// Puts every touched file back as it was, so a repository apt cannot read does not break later tasks.
async function revert(conn: Connection, before: Map<string, string>, changed: Map<string, string[]>): Promise<void> {
  for (const path of changed.keys()) {
    const host = await hostPathFollow(conn, path);
    const old = before.get(path);
    if (old === undefined) await unlink(host).catch(() => undefined);
    else await writeFile(host, old);
  }
}

/** apt-get update in the target with Ansible's backoff; undefined on success, else apt's own error lines. */
async function updateCache(conn: Connection, retries: number, maxDelay: number, signal: AbortSignal, log: (m: string) => void): Promise<string | undefined> {
  // As in Ansible, no attempt at all is a failure.
  let err = 'update_cache_retries allows no attempt';
  const jitter = Math.random();
  for (let attempt = 0; attempt < retries; attempt++) {
    if (attempt > 0) {
      const delay = Math.min(2 ** (attempt - 1), maxDelay) + jitter;
      log(`apt-get update failed; retrying in ${delay.toFixed(1)}s`);
      await new Promise((r) => setTimeout(r, delay * 1000));
    }
    const r = await conn.exec(['apt-get', 'update', '-q'], { env: { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' }, signal });
    const all = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim());
    const errors = all.filter((l) => l.startsWith('E:'));
    // apt-get update can exit 0 although a source failed; its E: lines are what count.
    if (r.rc === 0 && errors.length === 0) return undefined;
    const failedFetches = all.filter((l) => l.startsWith('Err:'));
    const lines = errors.length > 0 ? errors : failedFetches.length > 0 ? failedFetches : r.stderr.split('\n').filter((l) => l.trim() !== '');
    err = lines.slice(-5).map((l) => l.trim()).join('\n') || `apt-get update exited with ${r.rc}`;
  }
  return err;
}
