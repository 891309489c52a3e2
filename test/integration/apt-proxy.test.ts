// The apt proxy the build tests download through (IMGPLAY_TEST_APT_PROXY; .ci/run starts apt-cacher-ng
// for it): it must serve the host's Debian mirror, and on this machine listen on nothing but 127.0.0.1.
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { hostAptMirror } from '../../src/image/mirror.js';
import { testAptProxy } from '../support/apt-proxy.js';

const proxy = testAptProxy();
const mirror = await hostAptMirror();

// One GET of `url` through the proxy as apt sends it (the absolute URI as the request target).
function viaProxy(hostPort: string, url: string): Promise<{ status: number; body: string }> {
  const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: url, timeout: 60_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${hostPort} within 60 s`)));
    req.on('error', reject);
    req.end();
  });
}

// Listening TCP sockets on `port` (state 0A), as hex local addresses from /proc/net/tcp and tcp6.
async function listeners(port: number): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const lines = (await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => '')))).join('\n').split('\n');
  return lines.map((l) => l.trim().split(/\s+/)).filter((f) => f[3] === '0A' && f[1]?.endsWith(`:${hexPort}`)).map((f) => f[1] as string);
}

describe.skipIf(proxy === undefined || mirror === undefined)('the build tests\' apt proxy', () => {
  it('serves the Release file of the host\'s Debian mirror', async () => {
    const r = await viaProxy(proxy as string, `${mirror!.uri}/dists/${mirror!.suite ?? 'stable'}/Release`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^Origin: Debian$/m);
  });

  it.skipIf(!proxy?.startsWith('127.0.0.1:'))('listens on 127.0.0.1 only', async () => {
    const port = Number(proxy!.slice(proxy!.lastIndexOf(':') + 1));
    const found = await listeners(port);
    expect(found.length).toBeGreaterThan(0);
    expect(found.filter((a) => a !== `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`)).toEqual([]);
  });
});
