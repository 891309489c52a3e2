// Ctrl-C during a long task: the command is killed, no further task runs, and the exit code is 99.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const imgplay = join(here, '..', '..', 'bin', 'imgplay.js');

describe('an interrupted run', () => {
  it('kills the running command and exits 99 without running later tasks', async () => {
    const child = execa('node', [imgplay, 'playbook.yml'], { cwd: join(here, 'interrupt'), reject: false, env: { NO_COLOR: '1' } });
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('TASK [a long step]')) resolve();
      });
    });
    const sent = Date.now();
    child.kill('SIGINT');
    const r = await child;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(r.exitCode, String(r.stdout)).toBe(99);
    expect(String(r.stdout)).not.toContain('TASK [never reached]');
    expect(String(r.stdout)).toContain('PLAY RECAP');
  });
});

describe('output piped into a reader that goes away', () => {
  it('finishes the run quietly instead of dying with EPIPE', async () => {
    const r = await execa('sh', ['-c', `node ${imgplay} playbook.yml | head -c 10 >/dev/null; echo "rc=\${PIPESTATUS:-done}"`], {
      cwd: join(here, 'pipe'),
      reject: false,
      env: { NO_COLOR: '1' },
    });
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.exitCode).toBe(0);
  });
});
