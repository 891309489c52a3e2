// Runs one role side by side: ansible-playbook (community.general.chroot) on one copy of a prepared
// Debian tree and imgplay (its chroot connection) on another, each twice, then compares exit codes,
// PLAY RECAP counters and the two trees. The measuring instrument of issue 14; see docs/contributing.md.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { killProcessesRootedIn } from '../../src/host/process-group.js';
import { lendResolvConf, mountSystemDirs } from '../../src/host/chroot-mounts.js';
import { withMountGuard } from '../../src/host/mount-guard.js';
import { removeTree } from '../../src/host/mount-table.js';
import { parseRecap, repoRoot, toolEnv, type Recap } from '../differential/harness.js';
import { testProxyUrl } from './apt-proxy.js';
import { lockFile } from './lock-file.js';
import { minbaseTree, mountPointsUnder, takeDownMountsUnder } from './minbase.js';
import { compareTrees, firstLineDiff, readText, snapshotTree, type Tree } from './tree-diff.js';

/** A role to run: a role directory, or a role of a collection (named by FQCN), with the play's vars. */
export interface RoleSpec {
  /** How the role is named in the play: `geerlingguy.ntp`, or `devsec.hardening.os_hardening` with `collection`. */
  name: string;
  /** The role's directory (absent when `collection` is given). */
  path?: string;
  /** A collection's directory (with galaxy.yml), when `name` is a role FQCN in it. */
  collection?: string;
  /** A directory of roles, with `roles` naming those the play applies, in order (`name` then only labels the run). */
  roles_path?: string;
  roles?: string[];
  /** Play vars. */
  vars?: Record<string, unknown>;
  /** Play vars_files (absolute paths, or relative to the suite file). */
  vars_files?: string[];
  /** Tasks run before the role (e.g. an apt cache update a role's tests do in their converge playbook). */
  pre_tasks?: unknown[];
  /** Why the role is not run (e.g. it needs the internet beyond Debian's archive): listed, not run. */
  skip?: string;
}

/** One run of one tool. */
export interface ToolRun {
  exitCode: number;
  recap: Recap | undefined;
  /** The first failure the run printed (fatal:, ERROR!, an error of imgplay's), if any. */
  firstError: string | undefined;
  /** Processes found rooted in the tree after the run (killed): none should be. */
  strays: number;
  /** Mounts the run left inside the tree (unmounted by the instrument): none should be. */
  leftMounted: string[];
  stdout: string;
  stderr: string;
}

/** What a role's side-by-side run measured. */
export interface RoleResult {
  name: string;
  skipped?: string;
  ansible: ToolRun[];
  imgplay: ToolRun[];
  sameExit: boolean;
  sameRecap: boolean;
  sameTree: boolean;
  /** Recap and exit differences, run by run, then tree differences. */
  differences: string[];
  seconds: number;
}

/** The tools and trees: where the prepared base lives, how long a run may take. */
export interface CompareOptions {
  /** Keep the two trees and the work dir (printed) instead of deleting them. */
  keep?: boolean;
  /** Seconds one tool run may take. */
  timeoutSec?: number;
  /** imgplay's entry point (default: this checkout's bin/imgplay.js, which runs dist/). */
  imgplayBin?: string;
  log?: (line: string) => void;
  /**
   * Neither tool gets /proc, /sys, /dev mounted (imgplay with imgplay_chroot_mounts: false), as a bare
   * community.general.chroot runs: Ansible's service_mgr then comes from the tree's /sbin/init, not from
   * the build host's PID 1 seen through a mounted /proc. resolv.conf is still lent to both.
   */
  bareChroot?: boolean;
  /** Looks into both trees after the runs, before they are deleted (what a test wants to read from them). */
  inspect?: (roots: { ansible: string; imgplay: string }) => Promise<void>;
}

const HOST = 'tree';
const RUNS = 2;
const BASE_NAME = 'roles-base-bookworm-2';
// Both trees get what running Ansible and realistic roles in a chroot needs: python3 for Ansible's
// modules and systemd as init (what an image boots). Nothing may start a daemon on the build host:
// a policy-rc.d forbids package scripts to start services, and start-stop-daemon is diverted to a
// fake that starts nothing, as debootstrap does, because Ansible's service module, seeing no running
// systemd in a chroot, calls the init script itself (a real chronyd would set the host's clock).
const BASE_PACKAGES = ['python3', 'systemd-sysv'];
const POLICY_RC_D = '#!/bin/sh\n# imgplay roles-compare: no service starts inside a tree being provisioned\nexit 101\n';
const FAKE_SSD = '#!/bin/sh\necho "Warning: fake start-stop-daemon called by roles-compare, doing nothing" >&2\nexit 0\n';

function cacheDir(): string {
  return process.env.IMGPLAY_TEST_CACHE ?? '/var/cache/imgplay-test';
}

let preparing: Promise<string> | undefined;

/** The prepared base tree (minbase + python3 + systemd-sysv, policy-rc.d, a fake start-stop-daemon), built once and cached. */
export async function rolesBaseTree(): Promise<string> {
  preparing ??= ensureBase().catch((err: unknown) => {
    preparing = undefined;
    throw err;
  });
  return preparing;
}

async function ensureBase(): Promise<string> {
  const final = join(cacheDir(), BASE_NAME);
  if (existsSync(final)) return final;
  const minbase = await minbaseTree();
  const release = await lockFile(`${final}.lock`, 'the roles base tree', 20 * 60_000, () => existsSync(final));
  try {
    if (existsSync(final)) return final;
    const temp = `${final}.tmp-${process.pid}-${Date.now()}`;
    await execa('cp', ['-a', '--reflink=auto', '--', minbase, temp]);
    try {
      await writeFile(join(temp, 'usr/sbin/policy-rc.d'), POLICY_RC_D, { mode: 0o755 });
      await withMountGuard(`roles base ${temp}`, async (guard) => {
        await mountSystemDirs(guard, temp);
        const restore = await lendResolvConf(temp);
        try {
          const proxy = testProxyUrl();
          const env = { DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', ...(proxy ? { http_proxy: proxy } : {}) };
          await execa('chroot', [temp, 'apt-get', 'update', '-q'], { env, extendEnv: false });
          await execa('chroot', [temp, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...BASE_PACKAGES], { env, extendEnv: false });
          await execa('chroot', [temp, 'apt-get', 'clean'], { env, extendEnv: false });
          await execa('chroot', [temp, 'dpkg-divert', '--local', '--rename', '--add', '/sbin/start-stop-daemon'], { env, extendEnv: false });
          await writeFile(join(temp, 'sbin/start-stop-daemon'), FAKE_SSD, { mode: 0o755 });
        } finally {
          await restore();
          killProcessesRootedIn(temp);
        }
      });
      await execa('mv', ['-T', '--', temp, final]);
    } catch (err) {
      await removeTree(temp).catch(() => undefined);
      throw err;
    }
    return final;
  } finally {
    await release();
  }
}

/** Reads a suite file: `roles:` a list of RoleSpec; relative paths are taken from the file's directory. */
export async function loadSuite(file: string): Promise<RoleSpec[]> {
  const raw = parseYaml(await readFile(file, 'utf8')) as { roles?: unknown };
  if (!raw || !Array.isArray(raw.roles)) throw new Error(`${file}: expected a mapping with a 'roles' list`);
  const dir = resolve(file, '..');
  // Paths may name environment variables (`${IMGPLAY_ROLES_DIR}/ansible-role-ntp`): the roles are fetched, not vendored.
  const expand = (p: string) =>
    p.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = process.env[name];
      if (v === undefined) throw new Error(`${file}: ${p} names \${${name}}, which is not set`);
      return v;
    });
  return raw.roles.map((r: unknown, i: number) => {
    if (r === null || typeof r !== 'object' || typeof (r as RoleSpec).name !== 'string') throw new Error(`${file}: roles[${i}] needs a name`);
    const spec = { ...(r as RoleSpec) };
    if (spec.skip) return spec;
    if (spec.path) spec.path = resolve(dir, expand(spec.path));
    if (spec.collection) spec.collection = resolve(dir, expand(spec.collection));
    if (spec.roles_path) spec.roles_path = resolve(dir, expand(spec.roles_path));
    if (spec.vars_files) spec.vars_files = spec.vars_files.map((f) => resolve(dir, expand(f)));
    if (!spec.skip && !spec.path && !spec.collection && !spec.roles_path) throw new Error(`${file}: roles[${i}] (${spec.name}) needs a path, a collection or a roles_path`);
    return spec;
  });
}

/** Writes the play, both inventories, the roles path (a link to the role) and the collections path. */
async function writeWorkDir(work: string, spec: RoleSpec, roots: { ansible: string; imgplay: string }, bare: boolean): Promise<void> {
  await mkdir(join(work, 'roles'));
  if (spec.collection) {
    const galaxy = parseYaml(await readFile(join(spec.collection, 'galaxy.yml'), 'utf8')) as { namespace: string; name: string };
    const ns = join(work, 'collections', 'ansible_collections', galaxy.namespace);
    await mkdir(ns, { recursive: true });
    await symlink(spec.collection, join(ns, galaxy.name));
  } else if (spec.path) {
    await symlink(spec.path, join(work, 'roles', spec.name));
  }
  for (const role of spec.roles_path ? (spec.roles ?? []) : []) await symlink(join(spec.roles_path as string, role), join(work, 'roles', role));
  const play: Record<string, unknown> = { name: `side by side: ${spec.name}`, hosts: HOST, gather_facts: true };
  if (spec.vars) play.vars = spec.vars;
  if (spec.vars_files) play.vars_files = spec.vars_files;
  if (spec.pre_tasks) play.pre_tasks = spec.pre_tasks;
  play.roles = (spec.roles_path ? (spec.roles ?? []) : [spec.name]).map((role) => ({ role }));
  // JSON is YAML: no quoting rule of either tool's YAML loader can change what the play says.
  await writeFile(join(work, 'playbook.yml'), `${JSON.stringify([play], null, 2)}\n`);
  // The same inventory for both but the connection's name: Ansible's collection name, imgplay's own.
  const inventory = (connection: string, root: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ all: { hosts: { [HOST]: { ansible_connection: connection, ansible_host: root, ansible_python_interpreter: '/usr/bin/python3', ...extra } } } }, null, 2);
  await writeFile(join(work, 'ansible-hosts.yml'), `${inventory('community.general.chroot', roots.ansible)}\n`);
  await writeFile(join(work, 'imgplay-hosts.yml'), `${inventory('chroot', roots.imgplay, bare ? { imgplay_chroot_mounts: false } : {})}\n`);
  await writeFile(join(work, 'ansible.cfg'), '');
}

// The first thing a run printed that explains a failure.
function firstError(stdout: string, stderr: string): string | undefined {
  const lines = `${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const i = lines.findIndex((l) => /^(fatal:|failed:|ERROR!|error:|imgplay: |\S+:\d+:\d+: )|^\[ERROR\]|UNREACHABLE!/i.test(l));
  if (i < 0) return undefined;
  return lines.slice(i, i + 3).join(' ').replace(/\s+/g, ' ').slice(0, 400);
}

// The unshare processes of the runs under way: killing one (SIGKILL; unshare waits out softer signals)
// takes its PID namespace, the tool and everything it started, with it.
const running = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
let aborted = false;

/** Stops every run under way and refuses new ones; the runs' own clean-up (unmounts, tree removal) then proceeds. */
export function abortAll(): void {
  aborted = true;
  for (const p of running) p.kill('SIGKILL');
}

async function runTool(tool: 'ansible' | 'imgplay', work: string, root: string, opts: CompareOptions): Promise<ToolRun> {
  if (aborted) throw new Error('aborted');
  const env = {
    ...toolEnv(join(work, 'ansible.cfg')),
    ANSIBLE_ROLES_PATH: join(work, 'roles'),
    ANSIBLE_COLLECTIONS_PATH: join(work, 'collections'),
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    NO_COLOR: '1',
  };
  const args =
    tool === 'ansible'
      ? ['/usr/bin/ansible-playbook', '-i', 'ansible-hosts.yml', 'playbook.yml']
      : [process.execPath, opts.imgplayBin ?? join(repoRoot, 'bin', 'imgplay.js'), '-i', 'imgplay-hosts.yml', 'playbook.yml'];
  // Its own PID namespace: whatever a run leaves behind dies with it (--kill-child), on top of policy-rc.d;
  // and unshare itself dies with this process (--pdeathsig), which execa's clean-up cannot promise.
  const child = execa('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'unshare', '--pid', '--fork', '--kill-child', '--', ...args], {
    cwd: work,
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: (opts.timeoutSec ?? 1800) * 1000,
    killSignal: 'SIGKILL',
  });
  const mountedBefore = new Set(await mountPointsUnder(root));
  running.add(child);
  const r = await child.finally(() => running.delete(child));
  const strays = killProcessesRootedIn(root);
  // A role may mount inside the tree (os_hardening mounts /proc with hidepid through Ansible's chroot): the
  // instrument takes such mounts down, innermost first, so the trees can be compared and removed.
  const leftMounted = await takeDownMountsUnder(root, mountedBefore);
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '') + (r.exitCode === undefined ? `\n${r.shortMessage}` : '');
  return { exitCode: r.exitCode ?? -1, recap: parseRecap(stdout), firstError: firstError(stdout, stderr), strays, leftMounted, stdout, stderr };
}

/** Runs a tool RUNS times on its tree; for Ansible, /proc, /sys, /dev and resolv.conf are provided as imgplay provides them. */
async function runTwice(tool: 'ansible' | 'imgplay', work: string, root: string, opts: CompareOptions): Promise<ToolRun[]> {
  const runs: ToolRun[] = [];
  const all = async () => {
    for (let i = 0; i < RUNS; i++) runs.push(await runTool(tool, work, root, opts));
  };
  if (opts.bareChroot) {
    const restore = await lendResolvConf(root);
    try {
      await all();
    } finally {
      await restore();
    }
    return runs;
  }
  if (tool === 'imgplay') {
    // imgplay's chroot connection mounts and lends these itself, through its own guard.
    await all();
    return runs;
  }
  await withMountGuard(`roles-compare ${root}`, async (guard) => {
    await mountSystemDirs(guard, root);
    const restore = await lendResolvConf(root);
    try {
      await all();
    } finally {
      await restore();
      killProcessesRootedIn(root);
    }
  });
  return runs;
}

function recapText(r: Recap | undefined): string {
  const c = r?.[HOST];
  return c ? `ok=${c.ok} changed=${c.changed} failed=${c.failed} skipped=${c.skipped} rescued=${c.rescued} ignored=${c.ignored} unreachable=${c.unreachable}` : 'no recap';
}

/** Runs a role with both tools, each on its own copy of the prepared tree, and compares what they did. */
export async function compareRole(spec: RoleSpec, opts: CompareOptions = {}): Promise<RoleResult> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  if (spec.skip) return { name: spec.name, skipped: spec.skip, ansible: [], imgplay: [], sameExit: false, sameRecap: false, sameTree: false, differences: [], seconds: 0 };
  const base = await rolesBaseTree();
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-roles-')));
  const roots = { ansible: join(dir, 'ansible'), imgplay: join(dir, 'imgplay') };
  const work = join(dir, 'work');
  try {
    await mkdir(work);
    log(`${spec.name}: copying the base tree twice into ${dir}`);
    await Promise.all([roots.ansible, roots.imgplay].map((r) => execa('cp', ['-a', '--reflink=auto', '--', base, r])));
    await writeWorkDir(work, spec, roots, opts.bareChroot === true);
    log(`${spec.name}: running ansible-playbook and imgplay (${RUNS} runs each)`);
    const [ansible, imgplay] = await Promise.all([runTwice('ansible', work, roots.ansible, opts), runTwice('imgplay', work, roots.imgplay, opts)]);
    const differences: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const a = ansible[i] as ToolRun;
      const b = imgplay[i] as ToolRun;
      if (a.exitCode !== b.exitCode) differences.push(`run ${i + 1} exit: ansible ${a.exitCode}, imgplay ${b.exitCode}`);
      if (recapText(a.recap) !== recapText(b.recap)) differences.push(`run ${i + 1} recap: ansible ${recapText(a.recap)}; imgplay ${recapText(b.recap)}`);
      for (const [tool, r] of [['ansible', a], ['imgplay', b]] as const) {
        if (r.strays > 0) differences.push(`run ${i + 1}: ${r.strays} process(es) left running in ${tool}'s tree (killed)`);
        if (r.leftMounted.length > 0) differences.push(`run ${i + 1}: ${tool} left ${r.leftMounted.join(', ')} mounted in its tree (unmounted)`);
      }
    }
    const sameExit = ansible.every((a, i) => a.exitCode === imgplay[i]?.exitCode);
    const sameRecap = ansible.every((a, i) => recapText(a.recap) === recapText(imgplay[i]?.recap));
    log(`${spec.name}: comparing the trees`);
    const [ta, ti]: [Tree, Tree] = await Promise.all([snapshotTree(roots.ansible), snapshotTree(roots.imgplay)]);
    const treeDiffs = compareTrees(ta, ti, 'ansible', 'imgplay');
    // A changed text file is shown by its first differing line.
    for (const [n, d] of treeDiffs.entries()) {
      const m = /^\/(\S+) contents differ$/.exec(d);
      if (!m?.[1] || n >= 20) continue;
      const [x, y] = await Promise.all([readText(roots.ansible, m[1]), readText(roots.imgplay, m[1])]);
      if (x !== undefined && y !== undefined) treeDiffs[n] = `${d} (${firstLineDiff(x, y)})`;
    }
    differences.push(...treeDiffs);
    await opts.inspect?.(roots);
    return { name: spec.name, ansible, imgplay, sameExit, sameRecap, sameTree: treeDiffs.length === 0, differences, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    if (opts.keep) log(`${spec.name}: kept ${dir}`);
    else await removeTree(dir);
  }
}

function summary(runs: ToolRun[]): string {
  if (runs.length === 0) return '-';
  return runs.map((r) => `${r.exitCode === 0 ? 'ok' : `exit ${r.exitCode}`} (${recapText(r.recap).replace(/ (rescued|ignored|unreachable)=0/g, '')})`).join(' / ');
}

/** One line for a role: both tools' results, whether recaps and trees agree, the first differences and imgplay's first error. */
export function resultLine(r: RoleResult): string {
  if (r.skipped) return `${r.name}: skipped (${r.skipped})`;
  const err = r.imgplay.find((x) => x.firstError)?.firstError;
  return [
    `${r.name}:`,
    `ansible ${summary(r.ansible)};`,
    `imgplay ${summary(r.imgplay)};`,
    `same recap: ${r.sameRecap && r.sameExit ? 'yes' : 'no'};`,
    `same tree: ${r.sameTree ? 'yes' : 'no'};`,
    r.differences.length ? `first differences: ${r.differences.slice(0, 3).join(' | ')}${r.differences.length > 3 ? ` (+${r.differences.length - 3} more)` : ''};` : '',
    err ? `imgplay's first error: ${err}` : '',
  ].filter(Boolean).join(' ');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The results as a markdown table. */
export function resultTable(results: RoleResult[]): string {
  const rows = results.map((r) => {
    if (r.skipped) return `| ${r.name} | skipped: ${cell(r.skipped)} | | | | | |`;
    const err = r.imgplay.find((x) => x.firstError)?.firstError ?? '';
    const ansErr = r.ansible.find((x) => x.firstError)?.firstError ?? '';
    return `| ${r.name} | ${summary(r.ansible)}${ansErr ? ` — ${cell(ansErr.slice(0, 160))}` : ''} | ${summary(r.imgplay)} | ${r.sameRecap && r.sameExit ? 'yes' : 'no'} | ${r.sameTree ? 'yes' : 'no'} | ${cell(r.differences.slice(0, 3).join('; ').slice(0, 300))} | ${cell(err.slice(0, 200))} |`;
  });
  return ['| role | ansible-playbook (run 1 / run 2) | imgplay (run 1 / run 2) | same recap | same tree | first differences | imgplay first error |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
}

/** The role's directory name, for a spec given on the command line by path alone. */
export function defaultRoleName(path: string): string {
  return basename(path);
}
