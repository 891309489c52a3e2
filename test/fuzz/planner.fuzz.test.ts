// Seeded mutation fuzzing of the planner (--syntax-check, --list-tasks) and of the template engine, over the
// repository's own playbooks, roles, inventories, inventory fixtures and templates. IMGPLAY_FUZZ_RUNS sets the
// number of cases (default: a few hundred, for CI), IMGPLAY_FUZZ_SEED the seed (fast-check prints it on failure).
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { ImgplayError, InternalError } from '../../src/errors.js';
import { renderString } from '../../src/jinja/template.js';
import { jinjaMutations, mutate, yamlMutations, type Mutation } from './mutate.js';

const RUNS = Number(process.env.IMGPLAY_FUZZ_RUNS ?? 250);
const SEED = Number(process.env.IMGPLAY_FUZZ_SEED ?? 11);
// Planning a mutated playbook takes well under a second; a case this slow is a hang in the making.
const CASE_LIMIT_MS = 10_000;
// A case that never returns blocks the event loop, so only another thread can notice and stop it.
const HANG_LIMIT_MS = 60_000;

const repoRoot = join(import.meta.dirname, '..', '..');
const sandbox = mkdtempSync(join(tmpdir(), 'imgplay-fuzz-'));
afterAll(() => {
  void watchdog.terminate();
  rmSync(sandbox, { recursive: true, force: true });
});

const watchdog = new Worker(
  `const { parentPort } = require('node:worker_threads');
   const { writeSync } = require('node:fs');
   let timer;
   parentPort.on('message', (m) => {
     clearTimeout(timer);
     if (m.start) timer = setTimeout(() => {
       writeSync(2, '\\nfuzz case still running after ' + m.ms + ' ms, killing the test process:\\n' + m.start + '\\n');
       process.kill(process.pid, 'SIGKILL');
     }, m.ms);
   });`,
  { eval: true },
);
watchdog.unref();

async function guarded<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
  watchdog.postMessage({ start: what, ms: HANG_LIMIT_MS });
  try {
    return await fn();
  } finally {
    watchdog.postMessage({ done: true });
  }
}

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, keep));
    else if (keep(name)) out.push(path);
  }
  return out;
}

// What to mutate, and which playbook and inventory plan it.
interface Target {
  file: string;
  playbook: string;
  inventory: string;
}

const repo = join(sandbox, 'repo');
for (const part of ['playbooks', 'roles', 'hosts.yaml']) cpSync(join(repoRoot, part), join(repo, part), { recursive: true });
const corpus = join(sandbox, 'corpus');
cpSync(join(repoRoot, 'test', 'differential', 'corpus'), corpus, { recursive: true });
const localInventory = join(sandbox, 'localhost.yml');
writeFileSync(localInventory, 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n');

const isYaml = (name: string) => /\.ya?ml$/.test(name);
const targets: Target[] = [];
const repoInventory = join(repo, 'hosts.yaml');
for (const file of filesUnder(join(repo, 'playbooks'), isYaml)) {
  const ownPlay = !file.includes('group_vars');
  targets.push({ file, playbook: ownPlay ? file : join(repo, 'playbooks', 'all.yml'), inventory: repoInventory });
}
for (const file of [...filesUnder(join(repo, 'roles'), isYaml), repoInventory]) {
  targets.push({ file, playbook: join(repo, 'playbooks', 'all.yml'), inventory: repoInventory });
}
for (const name of readdirSync(corpus).sort()) {
  const dir = join(corpus, name);
  const playbook = join(dir, 'playbook.yml');
  const hosts = join(dir, 'hosts.yaml');
  const inventory = readdirSync(dir).includes('hosts.yaml') ? hosts : localInventory;
  for (const file of filesUnder(dir, (n) => isYaml(n) && n !== 'case.yaml')) targets.push({ file, playbook, inventory });
}
// The inventory fixtures, each planned as the inventory of a play over all hosts.
const inventories = join(sandbox, 'inventories');
cpSync(join(repoRoot, 'test', 'fixtures', 'inventory'), inventories, { recursive: true });
const allHosts = join(sandbox, 'all-hosts.yml');
writeFileSync(allHosts, '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg="{{ inventory_hostname }}"\n');
const inventoryOf: Record<string, string> = { directory: 'directory', ini: 'ini/hosts', precedence: 'precedence/inventory', yaml: 'yaml/hosts.yml' };
for (const [name, inventory] of Object.entries(inventoryOf)) {
  for (const file of filesUnder(join(inventories, name), (n) => !/\.(?:py|txt)$/.test(n))) targets.push({ file, playbook: allHosts, inventory: join(inventories, inventory) });
}
const templates = [...filesUnder(join(repoRoot, 'test', 'differential', 'corpus'), (n) => n.endsWith('.j2')), ...filesUnder(join(repoRoot, 'roles'), (n) => n.endsWith('.j2'))];

interface Outcome {
  code: number;
  stderr: string;
  ms: number;
}

async function plan(target: Target, mode: '--syntax-check' | '--list-tasks'): Promise<Outcome> {
  let stderr = '';
  const started = performance.now();
  const code = await main(['node', 'imgplay', target.playbook, '-i', target.inventory, mode], { stdout: () => {}, stderr: (s) => void (stderr += s) });
  return { code, stderr, ms: performance.now() - started };
}

// The properties every planning outcome must have, as one message per broken property.
function problems(o: Outcome): string[] {
  const found: string[] = [];
  // ansible-playbook ends some planning errors with 1 rather than 4 (a role entry without a name, say): imgplay matches it.
  if (![0, 1, 4, 5].includes(o.code)) found.push(`exit code ${o.code}, not 0, 1, 4 or 5`);
  if (/internal error/.test(o.stderr)) found.push('an internal error');
  if (/^\s+at .+:\d+:\d+\)?$/m.test(o.stderr)) found.push('a stack trace');
  if ((o.code === 4 || o.code === 1) && !/^ERROR! \S[^\n]*?:\d+:\d+: /.test(o.stderr)) found.push(`an error (exit ${o.code}) without file:line:col`);
  if (o.ms > CASE_LIMIT_MS) found.push(`took ${Math.round(o.ms)} ms`);
  return found;
}

function describeCase(target: Target, mutations: readonly Mutation[]): string {
  return `${relative(sandbox, target.file)} (planned through ${relative(sandbox, target.playbook)}), mutations ${JSON.stringify(mutations)}`;
}

describe('the planner under mutated input', () => {
  it(`never crashes, hangs or reports an unlocated parse error (${RUNS} cases, seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 2_000) }, async () => {
    expect(targets.length).toBeGreaterThan(50);
    await fc.assert(
      fc.asyncProperty(fc.nat(), yamlMutations, async (pick, mutations) => {
        const target = targets[pick % targets.length]!;
        const original = readFileSync(target.file);
        writeFileSync(target.file, mutate(original.toString('utf8'), mutations));
        try {
          for (const mode of ['--syntax-check', '--list-tasks'] as const) {
            const outcome = await guarded(`${mode} ${describeCase(target, mutations)}`, () => plan(target, mode));
            const broken = problems(outcome);
            if (broken.length > 0) {
              throw new Error(`${mode} of ${describeCase(target, mutations)}: ${broken.join(', ')}\nexit ${outcome.code}, stderr:\n${outcome.stderr.slice(0, 2000)}`);
            }
          }
        } finally {
          writeFileSync(target.file, original);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

const VARS = { x: 1, y: [1, 2, 3], name: 'n', inventory_hostname: 'localhost', item: { a: 'b' } };

describe('the template engine under mutated templates', () => {
  it(`renders or refuses with a template error, in bounded time (${RUNS * 2} cases, seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 1_000) }, async () => {
    expect(templates.length).toBeGreaterThan(5);
    const texts = templates.map((f) => readFileSync(f, 'utf8'));
    await fc.assert(
      fc.asyncProperty(fc.nat(), jinjaMutations, async (pick, mutations) => {
        const text = mutate(texts[pick % texts.length]!, mutations).toString('utf8');
        const what = `template ${relative(repoRoot, templates[pick % templates.length]!)}, mutations ${JSON.stringify(mutations)}`;
        const started = performance.now();
        await guarded(what, () => {
          try {
            renderString(text, VARS, { file: true });
          } catch (err) {
            if (!(err instanceof ImgplayError) || err instanceof InternalError) {
              throw new Error(`${what}: threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}\n${text.slice(0, 1000)}`, { cause: err });
            }
          }
        });
        const ms = performance.now() - started;
        if (ms > CASE_LIMIT_MS) throw new Error(`${what}: took ${Math.round(ms)} ms`);
      }),
      { numRuns: RUNS * 2, seed: SEED },
    );
  });
});

describe('templates the fuzzer and its tokens found to fail badly', () => {
  it.each([
    ['a NUL in a name', '{{ it\u0000em.name }}', /unexpected character/],
    ['a NUL in text', 'a\u0000b {{ x }}', undefined],
    ['a handlebars partial, which Jinja is not', "{{> 'dhcp' if x else y }}", /expected an expression, found '>'/],
    ['a string repeated past the largest string', "{{ 'a' * 999999999 }}", /too large to build/],
    ['a format width past the largest string', "{{ '%0999999999d' | format(1) }}", /too large to build/],
  ])('%s renders or fails with a template error', (_what, text, error) => {
    if (error === undefined) {
      expect(renderString(text, VARS, { file: true })).toBe('a\u0000b 1');
      return;
    }
    let thrownError: unknown;
    try {
      renderString(text, VARS, { file: true });
    } catch (err) {
      thrownError = err;
    }
    expect(thrownError).toBeInstanceOf(ImgplayError);
    expect(thrownError).not.toBeInstanceOf(InternalError);
    expect((thrownError as Error).message).toMatch(error);
  });
});
