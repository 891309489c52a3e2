// Benchmarks: 200 `command: /bin/true` tasks, run by imgplay, by ansible-playbook and by a plain
// shell loop, on the local connection and in a chroot, all in the same run on the same machine.
// Goals (issue 2): imgplay at least 20x faster than ansible-playbook, and at most 5 ms of overhead
// per task over the shell loop. Prints a table and writes bench/results/engine.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { minbaseCopy } from '../test/support/minbase.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 200);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const repo = fileURLToPath(new URL('..', import.meta.url));
const imgplay = join(repo, 'bin', 'imgplay.js');

interface Timing {
  name: string;
  seconds: number[];
  median: number;
}

async function time(name: string, fn: () => Promise<unknown>, repeat = REPEAT): Promise<Timing> {
  const seconds: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    await fn();
    seconds.push((performance.now() - t) / 1000);
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  return { name, seconds, median: sorted[Math.floor(sorted.length / 2)]! };
}

function playbook(hosts: string): string {
  const tasks = Array.from({ length: TASKS }, (_, i) => `    - name: true ${i}\n      command: /bin/true\n`).join('');
  return `- hosts: ${hosts}\n  gather_facts: false\n  tasks:\n${tasks}`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-bench-'));
  const results: Record<string, unknown> = { tasks: TASKS, repeat: REPEAT, date: new Date().toISOString() };
  const ansibleEnv = { ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0', ANSIBLE_LOCALHOST_WARNING: '0', ANSIBLE_HOST_KEY_CHECKING: '0' };
  const tree = await minbaseCopy();
  try {
    // Ansible needs Python inside the chroot; imgplay does not. Give the copy python3 for Ansible's sake.
    await execa('chroot', [tree.root, '/bin/sh', '-c', 'command -v python3 >/dev/null || (apt-get update -qq && apt-get install -y -qq python3-minimal >/dev/null)'], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'inherit',
    });
    const localPb = join(dir, 'local.yml');
    const chrootPb = join(dir, 'chroot.yml');
    const inv = join(dir, 'hosts.ini');
    await writeFile(localPb, playbook('localhost'));
    await writeFile(chrootPb, playbook('target'));
    await writeFile(inv, `target ansible_connection=chroot ansible_host=${tree.root} ansible_python_interpreter=/usr/bin/python3\n`);
    const rows: Array<[string, Timing, Timing, Timing]> = [];
    for (const [label, pb, invArgs, loop] of [
      ['local', localPb, [] as string[], `for i in $(seq ${TASKS}); do /bin/true; done`],
      ['chroot', chrootPb, ['-i', inv], `for i in $(seq ${TASKS}); do chroot ${tree.root} /bin/true; done`],
    ] as const) {
      const shell = await time(`shell loop (${label})`, () => execa('/bin/sh', ['-c', loop]));
      const ours = await time(`imgplay (${label})`, () => execa('node', [imgplay, pb, ...invArgs], { cwd: dir }));
      const ansible = await time(`ansible-playbook (${label})`, () => execa('ansible-playbook', [pb, ...invArgs], { cwd: dir, env: ansibleEnv }), 1);
      rows.push([label, shell, ours, ansible]);
    }
    console.log(`\n${TASKS} x command: /bin/true, median of ${REPEAT} (ansible-playbook: 1 run)\n`);
    console.log('connection  shell loop  imgplay   ansible-playbook  imgplay vs ansible  overhead/task vs shell');
    for (const [label, shell, ours, ansible] of rows) {
      const speedup = ansible.median / ours.median;
      const overheadMs = ((ours.median - shell.median) / TASKS) * 1000;
      console.log(
        `${label.padEnd(10)}  ${shell.median.toFixed(2).padStart(8)} s  ${ours.median.toFixed(2).padStart(6)} s  ${ansible.median.toFixed(2).padStart(14)} s  ${speedup.toFixed(1).padStart(16)}x  ${overheadMs.toFixed(2).padStart(18)} ms`,
      );
      results[label] = { shell, imgplay: ours, ansible, speedup, overheadMsPerTask: overheadMs, goals: { speedupAtLeast20: speedup >= 20, overheadAtMost5ms: overheadMs <= 5 } };
    }
    await mkdir(join(repo, 'bench', 'results'), { recursive: true });
    await writeFile(join(repo, 'bench', 'results', 'engine.json'), JSON.stringify(results, null, 2) + '\n');
  } finally {
    await tree.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
