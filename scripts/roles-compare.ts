// `npx tsx scripts/roles-compare.ts`: runs roles with ansible-playbook and with imgplay against two
// copies of the same chroot tree and reports, per role, whether exit codes, recaps and trees agree.
// Needs root, Debian's ansible-playbook (ansible-core 2.14) and a built dist/ (`npm run build`).
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { imgplayProblem } from '../test/differential/harness.js';
import { abortAll, compareRole, defaultRoleName, loadSuite, resultLine, resultTable, type RoleResult, type RoleSpec } from '../test/support/roles-compare.js';
import { mountsSnapshot } from '../test/support/minbase.js';

const program = new Command('roles-compare')
  .description('Run roles with ansible-playbook and imgplay side by side on chroot trees and compare recaps and trees')
  .option('--role <dir>', 'a role directory')
  .option('--collection <dir>', 'a collection directory (with galaxy.yml); --name is then the role FQCN')
  .option('--name <name>', "the role's name in the play (default: the directory's name)")
  .option('-e, --vars <yaml>', 'play vars as YAML/JSON, or @file', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--suite <file>', "a YAML file with 'roles:', a list of {name, path | collection, vars, vars_files, pre_tasks, skip}")
  .option('--only <names>', 'with --suite: only the roles whose name contains one of these (comma-separated)')
  .option('--table <file>', 'also write the markdown table (and one line per role) to this file')
  .option('--json <file>', 'write the full results (outputs included) as JSON')
  .option('--keep', 'keep the trees and work dir of each role (paths printed)')
  .option('--timeout <sec>', 'seconds one tool run may take', '1800')
  .option('--imgplay <bin>', "another build's bin/imgplay.js to measure (default: this checkout's)")
  .option('--bare-chroot', 'mount nothing in the trees (imgplay_chroot_mounts: false): service_mgr from the tree, not the build host')
  .option('-j, --jobs <n>', 'roles compared at the same time', '1')
  .option('-v, --verbose', 'print progress and, for a role that differs, the tail of both outputs')
  .parse();

const o = program.opts<{ role?: string; collection?: string; name?: string; vars: string[]; suite?: string; only?: string; table?: string; json?: string; keep?: boolean; timeout: string; jobs: string; imgplay?: string; bareChroot?: boolean; verbose?: boolean }>();

async function specsFromArgs(): Promise<RoleSpec[]> {
  if (o.suite) {
    const wanted = o.only?.split(',').filter(Boolean);
    return (await loadSuite(o.suite)).filter((s) => !wanted || wanted.some((w) => s.name.includes(w)));
  }
  if (!o.role && !o.collection) program.error('give --role DIR, --collection DIR --name FQCN, or --suite FILE');
  if (o.collection && !o.name) program.error('--collection needs --name NAMESPACE.COLLECTION.ROLE');
  const vars: Record<string, unknown> = {};
  for (const v of o.vars) {
    const text = v.startsWith('@') ? await import('node:fs/promises').then((fs) => fs.readFile(v.slice(1), 'utf8')) : v;
    Object.assign(vars, parseYaml(text) as Record<string, unknown>);
  }
  const path = o.role ? resolve(o.role) : undefined;
  return [{ name: o.name ?? defaultRoleName(path as string), ...(path ? { path } : {}), ...(o.collection ? { collection: resolve(o.collection) } : {}), vars }];
}

const why = o.imgplay ? undefined : await imgplayProblem();
if (why) program.error(why);
if (process.getuid?.() !== 0) program.error('roles-compare needs root (chroot and mounts)');
const specs = await specsFromArgs();
const mountsBefore = await mountsSnapshot();
const results: (RoleResult | undefined)[] = specs.map(() => undefined);
const log = o.verbose ? (l: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${l}`) : undefined;
let next = 0;
// Stop the tools, then let every role unwind: its mounts released, its trees removed.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    console.error(`${sig}: stopping the runs under way`);
    next = specs.length;
    process.exitCode = 130;
    abortAll();
  });
}
async function worker(): Promise<void> {
  while (next < specs.length) {
    const i = next++;
    const spec = specs[i] as RoleSpec;
    try {
      const r = await compareRole(spec, { keep: o.keep, bareChroot: o.bareChroot === true, timeoutSec: Number(o.timeout), ...(o.imgplay ? { imgplayBin: resolve(o.imgplay) } : {}), ...(log ? { log } : {}) });
      results[i] = r;
      console.log(resultLine(r));
      if (o.verbose && r.differences.length > 0) {
        for (const [tool, runs] of [['ansible', r.ansible], ['imgplay', r.imgplay]] as const) {
          console.error(`--- ${spec.name}: ${tool}, last run, end of output:\n${runs.at(-1)?.stdout.trimEnd().split('\n').slice(-25).join('\n')}\n${runs.at(-1)?.stderr.trim().slice(-2000) ?? ''}`);
        }
      }
    } catch (err) {
      console.log(`${spec.name}: the instrument failed: ${(err as Error).message}`);
    }
    if (o.json) await writeFile(o.json, JSON.stringify(results.filter(Boolean), null, 2));
  }
}
await Promise.all(Array.from({ length: Math.max(1, Number(o.jobs)) }, worker));
// Every role must leave the mount table as it found it.
if ((await mountsSnapshot()) !== mountsBefore) {
  console.log('/proc/mounts is not back to where it started');
  process.exitCode = 2;
}
const done = results.filter((r): r is RoleResult => r !== undefined);
const table = resultTable(done);
console.log(`\n${table}`);
if (o.table) await writeFile(o.table, `${done.map(resultLine).join('\n')}\n\n${table}\n`);
if (o.json) await writeFile(o.json, JSON.stringify(done, null, 2));
