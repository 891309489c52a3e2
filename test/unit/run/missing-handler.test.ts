// Notifying a handler no play has ends the run with Ansible's own words (ansible-core's handlers target greps
// for them), unless ANSIBLE_ERROR_ON_MISSING_HANDLER=false makes it a warning, as ansible.cfg's setting does.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-missing-handler-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.ANSIBLE_ERROR_ON_MISSING_HANDLER;
});
const playbook = join(dir, 'play.yml');
writeFileSync(playbook, ['- hosts: localhost', '  gather_facts: false', '  tasks:', '    - command: /bin/true', '      notify: nowhere', ''].join('\n'));
const MESSAGE = "The requested handler 'nowhere' was not found in either the main handlers list nor in the listening handlers list";

async function run(): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['node', 'imgplay', playbook, '--no-timings'], { stdout: (s) => void (out += s), stderr: (s) => void (out += s) });
  return { code, out };
}

describe('a handler no play has', () => {
  it("ends the run with exit 1 and Ansible's words first, then where the notify is", async () => {
    const { code, out } = await run();
    expect(code).toBe(1);
    expect(out).toContain(`ERROR! ${MESSAGE}\n  at ${playbook}:4:7\n`);
  });

  it('is a warning with ANSIBLE_ERROR_ON_MISSING_HANDLER=false, and the run goes on', async () => {
    process.env.ANSIBLE_ERROR_ON_MISSING_HANDLER = 'false';
    const { code, out } = await run();
    expect(code).toBe(0);
    expect(out).toContain(`[WARNING]: ${MESSAGE}`);
  });
});
