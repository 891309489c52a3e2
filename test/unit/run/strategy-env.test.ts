// ansible.cfg's strategy reaches ansible-playbook as ANSIBLE_STRATEGY too (the handlers target runs its plays
// under free that way); imgplay reads no ansible.cfg but honours the variable for plays that name none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-strategy-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.ANSIBLE_STRATEGY;
});

function playbook(strategy?: string): string {
  const file = join(dir, `play-${strategy ?? 'none'}.yml`);
  writeFileSync(file, ['- hosts: localhost', '  gather_facts: false', ...(strategy ? [`  strategy: ${strategy}`] : []), '  tasks:', '    - debug: msg=once', '      run_once: true', ''].join('\n'));
  return file;
}

async function run(file: string): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['node', 'imgplay', file, '--no-timings'], { stdout: (s) => void (out += s), stderr: (s) => void (out += s) });
  return { code, out };
}

const FREE_RUN_ONCE = 'Using run_once with the free strategy is not currently supported';

describe('the default strategy', () => {
  it('is linear without ANSIBLE_STRATEGY', async () => {
    expect((await run(playbook())).out).not.toContain(FREE_RUN_ONCE);
  });

  it('is ANSIBLE_STRATEGY for plays that name none, and a play naming its own keeps it', async () => {
    process.env.ANSIBLE_STRATEGY = 'free';
    expect((await run(playbook())).out).toContain(FREE_RUN_ONCE);
    expect((await run(playbook('linear'))).out).not.toContain(FREE_RUN_ONCE);
  });

  it('refuses a strategy imgplay does not run, naming the variable', async () => {
    process.env.ANSIBLE_STRATEGY = 'debug';
    const { code, out } = await run(playbook());
    expect(code).toBe(5);
    expect(out).toContain('ANSIBLE_STRATEGY: strategy: the "debug" strategy is not supported (the debug strategy is an interactive debugger)');
  });
});
