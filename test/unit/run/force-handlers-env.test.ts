// ansible.cfg's force_handlers reaches ansible-playbook as ANSIBLE_FORCE_HANDLERS too (the handlers target
// sets it so); imgplay reads no ansible.cfg but honours the variable, and --force-handlers as before.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-force-handlers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.ANSIBLE_FORCE_HANDLERS;
});
const playbook = join(dir, 'play.yml');
writeFileSync(
  playbook,
  [
    '- hosts: localhost',
    '  gather_facts: false',
    '  tasks:',
    '    - command: /bin/true',
    '      notify: told',
    '    - fail: msg=stop',
    '  handlers:',
    '    - name: told',
    '      debug: msg=HANDLER_RAN',
    '',
  ].join('\n'),
);

async function run(...extra: string[]): Promise<string> {
  let out = '';
  await main(['node', 'imgplay', playbook, '--no-timings', ...extra], { stdout: (s) => void (out += s), stderr: (s) => void (out += s) });
  return out;
}

describe('forcing handlers', () => {
  it('is off by default: a failed host runs no handler', async () => {
    expect(await run()).not.toContain('HANDLER_RAN');
  });

  it('is on with ANSIBLE_FORCE_HANDLERS=true or --force-handlers', async () => {
    expect(await run('--force-handlers')).toContain('HANDLER_RAN');
    process.env.ANSIBLE_FORCE_HANDLERS = 'True';
    expect(await run()).toContain('HANDLER_RAN');
    process.env.ANSIBLE_FORCE_HANDLERS = 'no';
    expect(await run()).not.toContain('HANDLER_RAN');
  });
});
