// bootVm for real, down to iPXE: a qemu VM fetches the TFTP chain script, then /boot.ipxe from a
// server on this host's loopback (as 10.0.2.2), and its serial console decides the outcome.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bootVm } from '../../src/boot/vm.js';
import { file, lacking, skipWithout } from '../support/needs.js';

const unavailable = lacking(file('/usr/bin/qemu-system-x86_64', 'qemu-system-x86'), file('/usr/lib/ipxe/qemu/efi-virtio.rom', 'ipxe-qemu'));

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(handler: (path: string) => { status: number; body: string }): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    const { status, body } = handler(req.url ?? '');
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

describe.skipIf(skipWithout(unavailable))('a VM booting through iPXE', () => {
  it('reaches a marker printed by the boot script the server rendered for its MAC', async () => {
    const { url, seen } = await serve((path) =>
      path.startsWith('/boot.ipxe?mac=') ? { status: 200, body: '#!ipxe\necho marker for ${net0/mac} reached\nshell\n' } : { status: 404, body: '' },
    );
    const result = await bootVm({ server: url, mac: '52:54:00:aa:bb:01', memoryMiB: 256, cpus: 1, goal: { kind: 'marker', pattern: /marker for 52:54:00:aa:bb:01 reached/ }, timeoutSeconds: 120 });
    expect(result.outcome, result.lines.join('\n')).toBe('reached');
    const asked = seen.map((p) => new URL(p, 'http://x').searchParams.get('mac'));
    expect(asked).toContain('52:54:00:aa:bb:01');
  }, 180_000);

  it('fails at once, with the reason, when the server has no boot script', async () => {
    const { url } = await serve(() => ({ status: 404, body: 'no' }));
    const result = await bootVm({ server: url, memoryMiB: 256, cpus: 1, goal: { kind: 'ready' }, timeoutSeconds: 120 });
    expect(result.outcome, result.lines.join('\n')).toBe('failed');
    expect(result.detail).toMatch(/^imgplay-ipxe: could not boot from http:\/\/10\.0\.2\.2:\d+\/boot\.ipxe/);
  }, 180_000);
});
