import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../src/modules/wait-for.js';
import { makeContext, prepare } from '../../support/module-cases.js';

const run = async (args: Record<string, unknown>) => waitFor.run(makeContext({ args: await prepare(waitFor, args) }));

/** A server on 127.0.0.1 that greets each connection; resolves to it and its port. */
async function listen(greeting: string): Promise<[Server, number]> {
  // The module closes as soon as it has seen enough: a reset is what the server gets then.
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.end(greeting);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return [server, addr.port];
}

describe('wait_for', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imgplay-wf-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('waits for a file to appear, and returns what the pattern matched', async () => {
    const file = join(dir, 'ready');
    setTimeout(() => void writeFile(file, 'starting\nversion=1.2 ready\n'), 300);
    const r = await run({ path: file, search_regex: '^version=(?P<major>\\d+)\\.(\\d+) ready', timeout: 10 });
    // Ansible's module framework adds the file's facts, its state among them, to a result naming a path.
    expect(r).toMatchObject({ changed: false, state: 'file', path: file, port: null, match_groups: ['1', '2'], match_groupdict: { major: '1' }, mode: '0644', size: 27 });
    expect(r.elapsed).toBeLessThan(5);
  });

  it("times out in Ansible's words, or with msg", async () => {
    expect(await run({ path: join(dir, 'never'), timeout: 1 })).toMatchObject({ failed: true, msg: `Timeout when waiting for file ${join(dir, 'never')}`, elapsed: 1 });
    await writeFile(join(dir, 'text'), 'nothing here');
    expect((await run({ path: join(dir, 'text'), search_regex: 'x+y', timeout: 1 })).msg).toBe(`Timeout when waiting for search string x+y in ${join(dir, 'text')}`);
    expect((await run({ path: join(dir, 'text'), state: 'absent', timeout: 1, msg: 'still there' })).msg).toBe('still there');
  });

  it('waits for a file to go', async () => {
    const file = join(dir, 'lock');
    await writeFile(file, '');
    setTimeout(() => void rm(file), 300);
    expect(await run({ path: file, state: 'absent', timeout: 10 })).toMatchObject({ changed: false, state: 'absent' });
  });

  it('waits for a port on 127.0.0.1 to open, to greet with a pattern, and to close', async () => {
    const [server, port] = await listen('SSH-2.0-test\r\n');
    try {
      expect(await run({ port, timeout: 5 })).toMatchObject({ changed: false, state: 'started', port, path: null });
      expect(await run({ port, search_regex: 'SSH-(\\d)', timeout: 5 })).toMatchObject({ match_groups: ['2'] });
      expect((await run({ port, state: 'stopped', timeout: 1 })).msg).toBe(`Timeout when waiting for 127.0.0.1:${port} to stop.`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await run({ port, state: 'stopped', timeout: 5 })).toMatchObject({ changed: false, state: 'stopped' });
    expect((await run({ port, timeout: 1, connect_timeout: 1 })).msg).toBe(`Timeout when waiting for 127.0.0.1:${port}`);
  });

  it('refuses what it cannot do, and what Ansible refuses, in its words', async () => {
    await expect(prepare(waitFor, { port: 1, state: 'drained' })).rejects.toThrow('state=drained is not supported by imgplay');
    await expect(prepare(waitFor, { port: 1, exclude_hosts: ['a'] })).rejects.toThrow('exclude_hosts is not supported by imgplay');
    expect((await run({ port: 1, path: '/x' })).msg).toBe('port and path parameter can not both be passed to wait_for');
    expect((await run({ path: '/x', state: 'stopped' })).msg).toBe('state=stopped should only be used for checking a port in the wait_for module');
    expect((await run({ path: '/x', active_connection_states: ['BOGUS'] })).msg).toBe('unknown active_connection_state (BOGUS) defined');
  });
});
