// Runs one corpus case with ansible-playbook or imgplay and reduces each run to what both must agree on:
// the exit code, the PLAY RECAP counts and a snapshot of the tree written under `root`.
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';

/** Which program runs a case. */
export type Tool = 'ansible' | 'imgplay';

/** The repository root, found from this file so the test runs from any cwd. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where the cases live. */
export const corpusDir = fileURLToPath(new URL('./corpus', import.meta.url));

/** One folder of the corpus with its optional case.yaml applied. */
export interface CaseSpec {
  name: string;
  dir: string;
  /** Extra CLI arguments given to both tools, after `-e root=DIR`. */
  args: string[];
  /** The exit code every run must end with. */
  exit: number;
  /** How many times each tool runs the case in the same root. */
  runs: number;
  /** 'hosts.yaml' when the case brings an inventory; otherwise the implicit localhost is used. */
  inventory: string | undefined;
  /** 'live' runs ansible-playbook every time, for a case whose result depends on something the oracle cache's key
   * cannot see (the time of day, gathered hardware facts); 'cached' (the default) may reuse a stored run. */
  oracle: 'cached' | 'live';
  /** Also compare the printed outline: the banners in order and the warnings (the default; `output: false` for a
   * case whose outline differs for a reason outside imgplay, said in its case.yaml). */
  output: boolean;
}

/** The eight counters Ansible prints for one host in PLAY RECAP. */
export interface RecapCounts {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

/** PLAY RECAP counters by host name. */
export type Recap = Record<string, RecapCounts>;

/** What one invocation of a tool left behind. */
export interface RunResult {
  tool: Tool;
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  recap: Recap | undefined;
  tree: TreeEntry[];
}

/** One path under root, with everything compared except times. */
export interface TreeEntry {
  path: string;
  type: 'file' | 'dir' | 'link' | 'other';
  /** Permission bits in octal, e.g. '0644' (absent for links, whose mode Linux ignores). */
  mode?: string;
  /** File contents: UTF-8 text, or 'base64:...' for binary data. */
  content?: string;
  target?: string;
}

const caseKeys = new Set(['args', 'exit', 'runs', 'oracle', 'output']);

/** Reads a case folder and its optional case.yaml, rejecting unknown keys so typos do not silently pass. */
export async function loadCase(dir: string): Promise<CaseSpec> {
  const name = relative(corpusDir, dir) || dir;
  if (!existsSync(join(dir, 'playbook.yml'))) throw new Error(`${name}: a case needs a playbook.yml`);
  const spec: CaseSpec = {
    name,
    dir,
    args: [],
    exit: 0,
    runs: 2,
    inventory: existsSync(join(dir, 'hosts.yaml')) ? 'hosts.yaml' : undefined,
    oracle: 'cached',
    output: true,
  };
  const caseFile = join(dir, 'case.yaml');
  if (!existsSync(caseFile)) return spec;
  const raw: unknown = parseYaml(await readFile(caseFile, 'utf8'));
  if (raw === null || raw === undefined) return spec;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${name}/case.yaml: expected a mapping with args, exit, runs, oracle, output`);
  const fields = raw as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!caseKeys.has(key)) throw new Error(`${name}/case.yaml: unknown key '${key}' (expected args, exit, runs, oracle or output)`);
  }
  if (fields.args !== undefined) {
    if (!Array.isArray(fields.args) || !fields.args.every((a) => typeof a === 'string' || typeof a === 'number')) {
      throw new Error(`${name}/case.yaml: args must be a list of strings`);
    }
    spec.args = fields.args.map(String);
  }
  if (fields.exit !== undefined) {
    if (!Number.isInteger(fields.exit)) throw new Error(`${name}/case.yaml: exit must be an integer`);
    spec.exit = fields.exit as number;
  }
  if (fields.runs !== undefined) {
    if (!Number.isInteger(fields.runs) || (fields.runs as number) < 1) throw new Error(`${name}/case.yaml: runs must be a positive integer`);
    spec.runs = fields.runs as number;
  }
  if (fields.oracle !== undefined) {
    if (fields.oracle !== 'live' && fields.oracle !== 'cached') throw new Error(`${name}/case.yaml: oracle must be 'live' or 'cached'`);
    spec.oracle = fields.oracle;
  }
  if (fields.output !== undefined) {
    if (typeof fields.output !== 'boolean') throw new Error(`${name}/case.yaml: output must be true or false`);
    spec.output = fields.output;
  }
  return spec;
}

/** Every case folder of the corpus, in name order; CASES=12,copy narrows it to those numbered 12 or named with 'copy'. */
export async function listCases(dir: string = corpusDir, only: string | undefined = process.env.CASES): Promise<CaseSpec[]> {
  const wanted = only?.split(',').map((s) => s.trim()).filter(Boolean);
  const picked = (name: string): boolean =>
    !wanted || wanted.some((w) => (/^\d+$/.test(w) ? name.startsWith(`${w}-`) : name.includes(w)));
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && picked(d.name))
    .map((d) => d.name)
    .sort();
  return Promise.all(names.map((n) => loadCase(join(dir, n))));
}

const counterNames = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'] as const;
const recapLine = new RegExp(`^(\\S+)\\s+:\\s+${counterNames.map((c) => `${c}=(\\d+)`).join('\\s+')}`);

/** Reads the host lines after the last PLAY RECAP header; undefined when the run never got that far. */
export function parseRecap(stdout: string): Recap | undefined {
  // Colour codes would hide the counters from the pattern, whichever tool forgot to honour ANSIBLE_NOCOLOR.
  const lines = stdout.replace(/\x1b\[[0-9;]*m/g, '').split(/\r?\n/);
  const start = lines.findLastIndex((line) => line.startsWith('PLAY RECAP'));
  if (start < 0) return undefined;
  const recap: Recap = {};
  for (const line of lines.slice(start + 1)) {
    const m = recapLine.exec(line);
    if (!m?.[1]) continue;
    const values = m.slice(2).map(Number);
    recap[m[1]] = Object.fromEntries(counterNames.map((name, i) => [name, values[i] ?? 0])) as unknown as RecapCounts;
  }
  return recap;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return `base64:${bytes.toString('base64')}`;
  }
}

/** Lists everything under root, sorted, with the root path itself replaced by '$ROOT' so two temp dirs compare equal. */
export async function snapshotTree(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const hideRoot = (s: string): string => s.split(root).join('$ROOT');
  async function walk(dir: string): Promise<void> {
    const names = (await readdir(dir)).sort();
    for (const n of names) {
      const full = join(dir, n);
      const path = relative(root, full);
      const st = await lstat(full);
      if (st.isSymbolicLink()) {
        entries.push({ path, type: 'link', target: hideRoot(await readlink(full)) });
      } else if (st.isDirectory()) {
        entries.push({ path, type: 'dir', mode: octal(st.mode) });
        await walk(full);
      } else if (st.isFile()) {
        entries.push({ path, type: 'file', mode: octal(st.mode), content: hideRoot(decode(await readFile(full))) });
      } else {
        entries.push({ path, type: 'other', mode: octal(st.mode) });
      }
    }
  }
  await walk(root);
  return entries;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The PATH both tools run with: Debian's default for root, so the caller's own folders (pyenv shims, npm's
 * node_modules/.bin, a CI runner's tool cache) neither change what a case runs nor the oracle cache's key. */
export const toolPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment both tools run in: fixed, not the caller's, so a case sees the same one from a shell, npm or a CI
 * runner (and a stored oracle run stays valid), and no config file, terminal or ANSIBLE_* setting leaks in. */
export function toolEnv(emptyConfig: string): Record<string, string> {
  const user = userInfo();
  return {
    PATH: toolPath,
    HOME: user.homedir,
    USER: user.username,
    LOGNAME: user.username,
    SHELL: user.shell || '/bin/sh',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_LOCALHOST_WARNING: '0',
    ANSIBLE_INVENTORY_UNPARSED_WARNING: '0',
    ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    ANSIBLE_CONFIG: emptyConfig,
  };
}

// IMGPLAY_BIN points at another build (a private outDir, an installed copy); it is then taken as it is.
const imgplayBin = process.env.IMGPLAY_BIN || join(repoRoot, 'bin', 'imgplay.js');
const imgplayCli = join(repoRoot, 'dist', 'cli.js');

/** Why imgplay cannot be run as built, or undefined when dist/ is present and newer than every source file. */
export async function imgplayProblem(): Promise<string | undefined> {
  if (process.env.IMGPLAY_BIN) return existsSync(imgplayBin) ? undefined : `IMGPLAY_BIN=${imgplayBin} does not exist`;
  if (!existsSync(imgplayCli)) return `imgplay is not built: ${imgplayCli} is missing (run \`npm run build\`)`;
  if (process.env.DIFF_ALLOW_STALE === '1') return undefined;
  const built = (await stat(imgplayCli)).mtimeMs;
  const newer = await newestSource(join(repoRoot, 'src'));
  if (newer && newer.mtimeMs > built) {
    return `imgplay's dist/ is older than ${relative(repoRoot, newer.path)} (run \`npm run build\`, or set DIFF_ALLOW_STALE=1)`;
  }
  return undefined;
}

async function newestSource(dir: string): Promise<{ path: string; mtimeMs: number } | undefined> {
  let best: { path: string; mtimeMs: number } | undefined;
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, d.name);
    let found: { path: string; mtimeMs: number } | undefined;
    if (d.isDirectory()) found = await newestSource(full);
    else if (d.name.endsWith('.ts')) found = { path: full, mtimeMs: (await stat(full)).mtimeMs };
    if (found && (!best || found.mtimeMs > best.mtimeMs)) best = found;
  }
  return best;
}

/** Runs a tool once on a case in the given root and snapshots the tree it leaves. */
export async function runOnce(tool: Tool, spec: CaseSpec, root: string, config: string): Promise<RunResult> {
  const common = [...(spec.inventory ? ['-i', spec.inventory] : []), '-e', `root=${root}`, ...spec.args];
  const [file, args] =
    tool === 'ansible'
      ? ['ansible-playbook', ['playbook.yml', ...common]]
      : [process.execPath, [imgplayBin, 'playbook.yml', ...common]];
  const result = await execa(file, args, {
    cwd: spec.dir,
    env: toolEnv(config),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    // Generous: a loaded machine (CI beside a build) can take minutes for a case that takes seconds when idle.
    timeout: 180_000,
  });
  const stdout = String(result.stdout ?? '');
  // No exit code means the tool never ran or was killed: say why instead of showing an empty run.
  const why = result.exitCode === undefined ? `\n${result.shortMessage}` : '';
  return {
    tool,
    command: `${tool === 'ansible' ? 'ansible-playbook' : 'imgplay'} playbook.yml ${common.join(' ')}`,
    exitCode: result.exitCode ?? -1,
    stdout,
    stderr: String(result.stderr ?? '') + why,
    recap: parseRecap(stdout),
    tree: await snapshotTree(root),
  };
}

/** Runs a case spec.runs times with one tool in a fresh temp root, returning one result per run. */
export async function runCase(tool: Tool, spec: CaseSpec): Promise<RunResult[]> {
  const base = await mkdtemp(join(tmpdir(), 'imgplay-diff-'));
  const root = join(base, 'root');
  const config = join(base, 'ansible.cfg');
  await mkdir(root);
  await writeFile(config, '');
  try {
    const results: RunResult[] = [];
    for (let i = 0; i < spec.runs; i++) results.push(await runOnce(tool, spec, root, config));
    return results;
  } finally {
    if (process.env.DIFF_KEEP !== '1') await rm(base, { recursive: true, force: true });
  }
}

/** Lists, one line each, every way two runs disagree on exit code, recap or tree; empty when they agree. */
export function compareRuns(a: RunResult, b: RunResult, opts: { output?: boolean } = {}): string[] {
  const out: string[] = [];
  const [la, lb] = a.tool === b.tool ? [`${a.tool} (1st)`, `${b.tool} (2nd)`] : [a.tool, b.tool];
  if (a.exitCode !== b.exitCode) out.push(`exit code: ${la} ${a.exitCode}, ${lb} ${b.exitCode}`);
  out.push(...compareRecaps(a.recap, b.recap, la, lb));
  out.push(...compareTrees(a.tree, b.tree, la, lb));
  if (opts.output) out.push(...compareOutlines(outline(a), outline(b), la, lb));
  return out;
}

/** What a run printed, reduced to what both tools print alike: the banners in order and the warnings. */
export interface Outline {
  banners: string[];
  warnings: string[];
}

const bannerLine = /^(PLAY \[.*\]|TASK \[.*\]|RUNNING HANDLER \[.*\]|NO MORE HOSTS LEFT|PLAY RECAP) \*+\s*$/;

/** The banners of a run (up to its recap) and its warnings (deprecations marked so), each on one line: Ansible wraps
 *  a warning at the terminal's width, so its continuation lines are joined back (imgplay never wraps one). */
export function outline(r: Pick<RunResult, 'tool' | 'stdout' | 'stderr'>): Outline {
  const banners: string[] = [];
  const warnings: string[] = [];
  // Each run has its own temp root (mkdtemp's name): it reads as $ROOT, as in the trees.
  const plain = (text: string): string[] => text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\/tmp\/imgplay-diff-[A-Za-z0-9]+/g, '$ROOT').split(/\r?\n/);
  for (const line of plain(r.stdout)) {
    const m = bannerLine.exec(line);
    if (m?.[1]) banners.push(m[1]);
    if (m?.[1] === 'PLAY RECAP') break;
  }
  const starts = /^(\[|ok: |changed: |fatal: |failed: |skipping: |included: |ERROR!|PLAY |TASK |RUNNING HANDLER|NO MORE HOSTS|\S+\s+: ok=)/;
  for (const text of [r.stdout, r.stderr]) {
    let open: string[] | undefined;
    for (const line of plain(text)) {
      const m = /^\[(WARNING|DEPRECATION WARNING)\]: (.*)$/.exec(line);
      if (m) {
        open = [m[1] === 'WARNING' ? '' : 'DEPRECATION:', m[2] ?? ''];
        warnings.push('');
      } else if (open && r.tool === 'ansible' && line.trim() !== '' && !starts.test(line)) {
        open.push(line);
      } else {
        open = undefined;
      }
      // textwrap also breaks after a hyphen ("ansible-" / "core"): such a break is joined back without a space.
      if (open) warnings[warnings.length - 1] = open.map((l) => l.trim()).join(' ').replace(/(?<=\w-) (?=\S)/g, '').replace(/\s+/g, ' ').trim();
    }
  }
  return { banners, warnings: warnings.sort() };
}

function compareOutlines(a: Outline, b: Outline, la: string, lb: string): string[] {
  const out: string[] = [];
  const n = Math.max(a.banners.length, b.banners.length);
  for (let i = 0; i < n; i++) {
    if (a.banners[i] === b.banners[i]) continue;
    out.push(`banner ${i + 1}: ${la} ${JSON.stringify(a.banners[i] ?? '(none)')}, ${lb} ${JSON.stringify(b.banners[i] ?? '(none)')}`);
    break;
  }
  const wa = JSON.stringify(a.warnings);
  const wb = JSON.stringify(b.warnings);
  if (wa !== wb) out.push(`warnings: ${la} ${wa}, ${lb} ${wb}`);
  return out;
}

function compareRecaps(a: Recap | undefined, b: Recap | undefined, la: string, lb: string): string[] {
  if (a === undefined || b === undefined) {
    return a === b ? [] : [`PLAY RECAP: ${la} ${a ? 'printed one' : 'printed none'}, ${lb} ${b ? 'printed one' : 'printed none'}`];
  }
  const out: string[] = [];
  for (const host of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const ca = a[host];
    const cb = b[host];
    if (!ca || !cb) {
      out.push(`PLAY RECAP: host ${host} only in ${ca ? la : lb}`);
      continue;
    }
    const diffs = (Object.keys(ca) as (keyof RecapCounts)[]).filter((k) => ca[k] !== cb[k]).map((k) => `${k} ${ca[k]} vs ${cb[k]}`);
    if (diffs.length) out.push(`PLAY RECAP ${host} (${la} vs ${lb}): ${diffs.join(', ')}`);
  }
  return out;
}

function compareTrees(a: TreeEntry[], b: TreeEntry[], la: string, lb: string): string[] {
  const out: string[] = [];
  const mb = new Map(b.map((e) => [e.path, e]));
  const ma = new Map(a.map((e) => [e.path, e]));
  for (const ea of a) {
    const eb = mb.get(ea.path);
    if (!eb) {
      out.push(`tree: ${ea.path} (${ea.type}) only in ${la}`);
      continue;
    }
    for (const k of ['type', 'mode', 'target', 'content'] as const) {
      const [va, vb] = around(ea[k], eb[k]);
      if (ea[k] !== eb[k]) out.push(`tree: ${ea.path} ${k}: ${la} ${va}, ${lb} ${vb}`);
    }
  }
  for (const eb of b) if (!ma.has(eb.path)) out.push(`tree: ${eb.path} (${eb.type}) only in ${lb}`);
  return out;
}

// Long file contents are cut to a window around their first difference, so the report shows what differs.
function around(a: string | undefined, b: string | undefined, width = 60): [string, string] {
  if (a === undefined || b === undefined || (a.length <= width && b.length <= width)) return [JSON.stringify(a), JSON.stringify(b)];
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - width / 2);
  const cut = (s: string): string => `${from > 0 ? '…' : ''}${JSON.stringify(s.slice(from, from + width))}${from + width < s.length ? '…' : ''}`;
  return [cut(a), cut(b)];
}

/** Explains a run for a failure message: the command, its exit code and the end of its output. */
export function describeRun(r: RunResult, lines = 40): string {
  const tail = (s: string): string => s.trimEnd().split('\n').slice(-lines).join('\n');
  return [`$ ${r.command}  # exit ${r.exitCode}`, tail(r.stdout), r.stderr.trim() ? `stderr:\n${tail(r.stderr)}` : '']
    .filter(Boolean)
    .join('\n');
}

/** Runs async jobs with at most `limit` in flight, so cases overlap without oversubscribing the machine. */
export function limiter(limit: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    // A finishing job hands its slot straight to the next waiter, so a newcomer cannot slip in between.
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await job();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
