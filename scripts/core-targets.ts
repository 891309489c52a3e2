// `npx tsx scripts/core-targets.ts --ansible-src DIR`: runs ansible-core 2.14's own integration targets for
// the features imgplay claims, as ansible-test would, once with Debian's ansible-playbook and once with imgplay
// standing in for ansible-playbook, and reports pass/fail for each tool with the first failure. Issue 14's measure.
//
// The targets are read at run time from a checkout of ansible-core's stable-2.14 branch (--ansible-src); none of
// their files (GPL) are copied into this repository. Needs root, Debian's ansible-playbook, community.general's
// chroot connection and a built dist/ (`npm run build`).
//
// The 36 targets. Issue 14 names 28 features; each maps onto the ansible-core target of the same name, and
// three features map onto more than one, because ansible-core tests them in several targets:
//   command/shell -> command_shell, shell
//   filters       -> filter_core, filter_mathstuff
//   loops         -> loops, and the with_* lookups a loop is written with: lookup_items, lookup_sequence,
//                    lookup_subelements, lookup_nested, lookup_dict, lookup_together
// The other 25 features are one target each (special vars -> special_vars, until -> until, ...): 28 + 1 + 1 + 6 = 36.
//
// How a target runs, as ansible-test runs it:
// - a role target (no runme.sh): a play `hosts: testhost, gather_facts: true, vars: {output_dir}, roles: [name]`
//   run from the integration folder with ANSIBLE_ROLES_PATH=targets; the role's meta dependencies (setup_*,
//   prepare_*) come from there as they do under ansible-test;
// - a runme.sh target: `./runme.sh` from the target's folder, with ansible-test's environment (OUTPUT_DIR,
//   INVENTORY_PATH, ANSIBLE_PLAYBOOK_DIR); for imgplay, an `ansible-playbook` shim first on PATH runs
//   `node bin/imgplay.js "$@"` (the other ansible-* commands stay Ansible's own).
// A target passes when ansible-playbook (or runme.sh) exits 0, as under ansible-test.
//
// Where it runs. ansible-test runs `testhost` with the local connection; here `testhost` (the integration
// folder's `inventory`, which runme.sh scripts name as ../../inventory) is a chroot tree of its own per tool
// (the roles-compare base tree: Debian minbase + python3 + systemd-sysv, a policy-rc.d that forbids starting
// services and a start-stop-daemon that starts nothing): `community.general.chroot` for Ansible, imgplay's
// chroot connection for imgplay, both bare (nothing mounted in the tree). Each tool works on its own copy of the
// integration folder. And every run is sandboxed, because runme.sh scripts also run plays against localhost
// and inventories of their own: new mount, UTS, IPC, network and PID namespaces (no network at all; a host name
// set is the namespace's; nothing outlives the run), with the root file system, /sys and /proc/sys remounted
// read-only but for the run's own work folder. Nothing a target does can reach the build host's files, kernel
// settings, services or network. Targets that need what this sandbox cannot give are listed, not run.
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, realpath, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { execa } from 'execa';
import { imgplayProblem, repoRoot, toolPath } from '../test/differential/harness.js';
import { rolesBaseTree } from '../test/support/roles-compare.js';
import { mountsSnapshot } from '../test/support/minbase.js';
import { killProcessesRootedIn } from '../src/host/process-group.js';
import { removeTree } from '../src/host/mount-table.js';

/** The 36 targets (see the header for the mapping from issue 14's feature names). */
export const CORE_TARGETS = [
  'lineinfile', 'blockinfile', 'replace', 'stat', 'find', 'command_shell', 'shell', 'include_vars',
  'loops', 'lookup_items', 'lookup_sequence', 'lookup_subelements', 'lookup_nested', 'lookup_dict', 'lookup_together',
  'special_vars', 'failed_when', 'changed_when', 'until', 'filter_core', 'filter_mathstuff', 'conditionals',
  'blocks', 'handlers', 'loop_control', 'copy', 'file', 'template', 'unarchive', 'get_url', 'user', 'group',
  'hostname', 'apt', 'service', 'systemd',
] as const;

/** Targets that cannot be run in the sandbox, and why. */
const NOT_RUNNABLE: Record<string, string> = {
  get_url: "needs ansible-test's httptester (a container serving ansible.http.tests over HTTP and HTTPS)",
  apt: 'downloads from ci-files.testing.ansible.com and adds Launchpad PPAs (network beyond Debian\'s archive)',
};

type Tool = 'ansible' | 'imgplay';

interface ToolRun {
  pass: boolean;
  exitCode: number;
  /** The first failing task and its error, or the first error line. */
  firstFailure: string | undefined;
  seconds: number;
  output: string;
}

interface TargetResult {
  target: string;
  kind: 'role' | 'runme';
  notRunnable?: string;
  ansible?: ToolRun;
  imgplay?: ToolRun;
}

const program = new Command('core-targets')
  .description("Run ansible-core 2.14's integration targets with ansible-playbook and with imgplay, in sandboxed chroot trees")
  .requiredOption('--ansible-src <dir>', "a checkout of ansible-core's stable-2.14 branch (test/integration is read from it)")
  .option('--only <names>', 'only these targets (comma-separated)')
  .option('--table <file>', 'write the markdown table to this file')
  .option('--json <file>', 'write the results (outputs included) as JSON')
  .option('--timeout <sec>', 'seconds one tool run may take', '900')
  .option('--tool <tool>', 'run only one tool: ansible or imgplay')
  .option('--imgplay <bin>', "another build's bin/imgplay.js to measure (default: this checkout's)")
  .option('--keep', 'keep the work folder of each target (paths printed)')
  .option('-j, --jobs <n>', 'targets run at the same time (each runs both tools at once)', '1')
  .parse();

const o = program.opts<{ ansibleSrc: string; only?: string; table?: string; json?: string; timeout: string; tool?: string; keep?: boolean; jobs: string; imgplay?: string }>();
const integration = resolve(o.ansibleSrc, 'test/integration');
if (!existsSync(join(integration, 'targets'))) program.error(`${integration}/targets does not exist: --ansible-src must be an ansible-core checkout`);
if (process.getuid?.() !== 0) program.error('core-targets needs root (chroot, namespaces)');
const imgplayBin = o.imgplay ? resolve(o.imgplay) : join(repoRoot, 'bin', 'imgplay.js');
const why = o.imgplay ? (existsSync(imgplayBin) ? undefined : `${imgplayBin} does not exist`) : await imgplayProblem();
if (why) program.error(why);
// The sandbox mounts a private /tmp: a build kept there would not be seen.
if (imgplayBin.startsWith('/tmp/')) program.error(`${imgplayBin}: the sandbox mounts its own /tmp; keep the build to measure elsewhere (e.g. /var/tmp)`);
const tools: Tool[] = o.tool === 'ansible' || o.tool === 'imgplay' ? [o.tool] : ['ansible', 'imgplay'];
const wanted = o.only?.split(',').filter(Boolean);
// --only's order is the order they run in (long ones first keep -j 2 busy to the end).
const unknown = wanted?.filter((t) => !(CORE_TARGETS as readonly string[]).includes(t)) ?? [];
if (unknown.length > 0) program.error(`not among the 36 targets: ${unknown.join(', ')}`);
const targets: readonly string[] = wanted ?? CORE_TARGETS;

// Runs in the new namespaces: the work folder stays writable, /root and /tmp are fresh and private (as on the
// throwaway hosts ansible-test runs on: Ansible's local connection keeps its temp files in ~/.ansible/tmp, and
// tests write to /tmp), everything else of the host turns read-only.
const SANDBOX = `set -e
work=$1; cwd=$2; shift 2
mount --bind "$work" "$work"
mount -t tmpfs -o mode=0700 core-targets-root /root
mount -t tmpfs -o mode=1777 core-targets-tmp /tmp
mount -o remount,bind,ro /
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount -o remount,bind,ro /sys
ip link set lo up 2>/dev/null || true
cd "$cwd"
exec "$@"
`;

const SHIM = (node: string, bin: string) => `#!/bin/sh\n# core-targets: imgplay stands in for ansible-playbook\nexec ${node} ${bin} "$@"\n`;

// The lines of the output that explain a failure, with the task they belong to.
function firstFailure(output: string): string | undefined {
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  // The failure that ended the run: the last one not ignored (a failure followed by "...ignoring" before the next task is not).
  const ignored = (at: number) => {
    for (let k = at + 1; k < lines.length && !/^(TASK|RUNNING HANDLER|PLAY) \[/.test(lines[k] as string); k++) if ((lines[k] as string).includes('...ignoring')) return true;
    return false;
  };
  const candidates = lines.flatMap((l, k) => (/^(fatal:|failed:|ERROR!|error:|imgplay: |\S+:\d+:\d+: )|^\[ERROR\]|UNREACHABLE!/i.test(l.trim()) && !ignored(k) ? [k] : []));
  const i = candidates.at(-1) ?? -1;
  if (i < 0) {
    // A runme.sh that failed on its own check: its last traced command.
    const trace = lines.filter((l) => l.startsWith('+ ')).at(-1);
    return trace ? `runme.sh: ${trace}` : undefined;
  }
  const task = lines.slice(0, i).reverse().find((l) => /^(TASK|RUNNING HANDLER|PLAY) \[/.test(l));
  const command = lines.slice(0, i).reverse().find((l) => l.startsWith('++ ansible-playbook') || l.startsWith('+ ansible-playbook'));
  const what = lines.slice(i, i + 3).join(' ').replace(/\s+/g, ' ').slice(0, 400);
  return [command ? `[${command.replace(/^\++ /, '').slice(0, 120)}]` : '', task ? task.replace(/\s*\*+$/, '') : '', what].filter(Boolean).join(' ');
}

function inventory(tool: Tool, tree: string): string {
  const conn = tool === 'ansible' ? 'ansible_connection=community.general.chroot' : 'ansible_connection=chroot imgplay_chroot_mounts=false';
  return `[testgroup]\ntesthost ${conn} ansible_host=${tree} ansible_python_interpreter=/usr/bin/python3\n`;
}

const running = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
let stopping = false;

async function runTool(tool: Tool, target: string, kind: 'role' | 'runme', dir: string): Promise<ToolRun> {
  const started = Date.now();
  const work = join(dir, tool);
  const tree = join(work, 'tree');
  const integ = join(work, 'integration');
  const bin = join(work, 'bin');
  await mkdir(bin, { recursive: true });
  await execa('cp', ['-a', '--reflink=auto', '--', await rolesBaseTree(), tree]);
  await cp(integration, integ, { recursive: true, verbatimSymlinks: true });
  const outputDir = join(work, 'output_dir');
  await mkdir(outputDir);
  // ansible-test's output_dir is on the controller and, under the local connection, the same path on the target:
  // with a chroot target it must exist in the tree too.
  await mkdir(join(tree, outputDir), { recursive: true });
  await writeFile(join(integ, 'inventory'), inventory(tool, tree));
  await writeFile(join(work, 'ansible.cfg'), '');
  // ansible-test puts a `python` first on PATH (runme.sh scripts call `env python`).
  await symlink('/usr/bin/python3', join(bin, 'python'));
  if (tool === 'imgplay') {
    await writeFile(join(bin, 'ansible-playbook'), SHIM(process.execPath, imgplayBin));
    await chmod(join(bin, 'ansible-playbook'), 0o755);
  }
  const env: Record<string, string> = {
    PATH: `${bin}:${toolPath}`,
    HOME: '/root',
    USER: 'root',
    LOGNAME: 'root',
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ANSIBLE_CONFIG: join(work, 'ansible.cfg'),
    ANSIBLE_NOCOLOR: '1',
    NO_COLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    ANSIBLE_TEST_CI: '',
    ANSIBLE_TEST_COVERAGE: '',
    OUTPUT_DIR: outputDir,
    INVENTORY_PATH: join(integ, 'inventory'),
  };
  let cwd: string;
  let command: string[];
  if (kind === 'role') {
    const play = [{ hosts: 'testhost', gather_facts: true, vars_files: [], vars: { output_dir: outputDir }, roles: [target] }];
    await writeFile(join(integ, `${target}-core.yml`), `${JSON.stringify(play, null, 4)}\n`);
    cwd = integ;
    env.ANSIBLE_PLAYBOOK_DIR = integ;
    env.ANSIBLE_ROLES_PATH = join(integ, 'targets');
    command = [tool === 'ansible' ? '/usr/bin/ansible-playbook' : join(bin, 'ansible-playbook'), `${target}-core.yml`, '-i', 'inventory'];
  } else {
    cwd = join(integ, 'targets', target);
    env.ANSIBLE_PLAYBOOK_DIR = cwd;
    command = ['./runme.sh'];
  }
  const sandboxFile = join(work, 'sandbox.sh');
  await writeFile(sandboxFile, SANDBOX);
  // unshare's own children die with it (--kill-child), and it dies with this process (--pdeathsig).
  const child = execa(
    'setpriv',
    ['--pdeathsig', 'SIGKILL', '--', 'unshare', '--mount', '--uts', '--ipc', '--net', '--pid', '--fork', '--kill-child', '--', 'bash', sandboxFile, work, cwd, ...command],
    { env, extendEnv: false, reject: false, stdin: 'ignore', all: true, timeout: Number(o.timeout) * 1000, killSignal: 'SIGKILL' },
  );
  running.add(child);
  const r = await child.finally(() => running.delete(child));
  killProcessesRootedIn(tree);
  const output = String(r.all ?? '') + (r.exitCode === undefined ? `\n${r.shortMessage}` : '');
  return { pass: r.exitCode === 0, exitCode: r.exitCode ?? -1, firstFailure: r.exitCode === 0 ? undefined : firstFailure(output), seconds: Math.round((Date.now() - started) / 1000), output };
}

async function runTarget(target: string): Promise<TargetResult> {
  const kind = existsSync(join(integration, 'targets', target, 'runme.sh')) ? 'runme' : 'role';
  const notRunnable = NOT_RUNNABLE[target];
  if (notRunnable) return { target, kind, notRunnable };
  // Not under /tmp: the sandbox mounts a private /tmp over it.
  const dir = await realpath(await mkdtemp(join(process.env.CORE_TARGETS_WORK ?? '/var/tmp', `imgplay-core-${target}-`)));
  try {
    const runs = await Promise.all(tools.map((t) => runTool(t, target, kind, dir)));
    const result: TargetResult = { target, kind };
    tools.forEach((t, i) => (result[t] = runs[i]));
    return result;
  } finally {
    if (o.keep) console.error(`${target}: kept ${dir}`);
    else await removeTree(dir);
  }
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const verdict = (r: ToolRun | undefined) => (r ? (r.pass ? 'pass' : `fail (exit ${r.exitCode})`) : '-');

function line(r: TargetResult): string {
  if (r.notRunnable) return `${r.target}: not runnable here: ${r.notRunnable}`;
  return `${r.target}: ansible ${verdict(r.ansible)} (${r.ansible?.seconds ?? '-'} s); imgplay ${verdict(r.imgplay)} (${r.imgplay?.seconds ?? '-'} s)${r.imgplay?.firstFailure ? `; imgplay: ${r.imgplay.firstFailure}` : ''}${r.ansible?.firstFailure ? `; ansible: ${r.ansible.firstFailure}` : ''}`;
}

function table(results: TargetResult[]): string {
  const same = results.filter((r) => r.ansible && r.imgplay && r.ansible.pass === r.imgplay.pass);
  const rows = results.map((r) => {
    if (r.notRunnable) return `| ${r.target} | not runnable here: ${cell(r.notRunnable)} | | |`;
    const divergence = r.ansible?.pass === r.imgplay?.pass ? (r.ansible?.pass ? '' : `both fail; ansible: ${r.ansible?.firstFailure ?? ''}; imgplay: ${r.imgplay?.firstFailure ?? ''}`) : (r.ansible?.pass ? r.imgplay?.firstFailure : `ansible: ${r.ansible?.firstFailure ?? ''}`) ?? '';
    return `| ${r.target} | ${verdict(r.ansible)} | ${verdict(r.imgplay)} | ${cell(divergence.slice(0, 300))} |`;
  });
  return [
    `${same.length} of ${results.length} targets run to Ansible's result with imgplay (${results.filter((r) => r.imgplay?.pass && r.ansible?.pass).length} pass with both tools)`,
    '',
    '| target | ansible-playbook | imgplay | first divergence |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    stopping = true;
    process.exitCode = 130;
    for (const p of running) p.kill('SIGKILL');
  });
}

const mountsBefore = await mountsSnapshot();
const results: (TargetResult | undefined)[] = targets.map(() => undefined);
let next = 0;
async function worker(): Promise<void> {
  while (next < targets.length && !stopping) {
    const i = next++;
    const target = targets[i] as string;
    try {
      results[i] = await runTarget(target);
      console.log(line(results[i] as TargetResult));
    } catch (err) {
      console.log(`${target}: the instrument failed: ${(err as Error).message}`);
    }
    if (o.json) await writeFile(o.json, JSON.stringify(results.filter(Boolean), null, 2));
  }
}
await Promise.all(Array.from({ length: Math.max(1, Number(o.jobs)) }, worker));
if ((await mountsSnapshot()) !== mountsBefore) {
  console.log('/proc/mounts is not back to where it started');
  process.exitCode = 2;
}
const done = results.filter((r): r is TargetResult => r !== undefined);
const text = table(done);
console.log(`\n${text}`);
if (o.table) await writeFile(o.table, `${text}\n`);
if (o.json) await writeFile(o.json, JSON.stringify(done, null, 2));
