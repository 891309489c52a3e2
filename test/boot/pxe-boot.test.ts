// The whole chain, as a rack would boot it and as a user runs it: the artifacts all.yml built,
// `imgplay serve` in front of them, and `imgplay boot` PXE-booting a qemu VM through its iPXE ROM with
// RackHD's command line: kernel, initrd, network, the base and the discovery overlay downloaded and
// verified, the root switched, systemd up, and the discovery hook POSTing the VM's hardware catalog
// back to the server.
// Between the VM and the server sits a proxy that refuses the first two requests for the base, so
// the same boot proves the initrd's retries.
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Result, type ResultPromise, execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTree } from '../../src/host/mount-table.js';
import { artifactSetUnavailable, sharedArtifacts } from '../support/artifact-set.js';
import { file, lacking, skipWithout } from '../support/needs.js';
import { mountsSnapshot } from '../support/minbase.js';

const unavailable = lacking(artifactSetUnavailable, file('/usr/bin/qemu-system-x86_64', 'qemu-system-x86'), file('/usr/lib/ipxe/qemu/efi-virtio.rom', 'ipxe-qemu'));
const MAC = '52:54:00:1a:2b:3c';
const imgplay = fileURLToPath(new URL('../../bin/imgplay.js', import.meta.url));

// Answers 503 to the first `refuse` requests whose path matches, and forwards everything else.
async function refusingProxy(target: string, refuse: number, matches: (path: string) => boolean): Promise<{ server: Server; url: string; refused: string[] }> {
  const refused: string[] = [];
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (matches(path) && refused.length < refuse) {
      refused.push(path);
      res.writeHead(503, { 'content-type': 'text/plain' }).end('busy, try again\n');
      return;
    }
    // The Host header travels unchanged, so iPXE scripts name the proxy's address, not the server's.
    const fwd = request({ host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', (err) => res.destroy(err));
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused };
}

describe.skipIf(skipWithout(unavailable))('a VM PXE-booted from imgplay serve', () => {
  let before: string;
  let work: string;
  let catalogs: string;
  let serve: ResultPromise;
  let proxy: Awaited<ReturnType<typeof refusingProxy>>;
  let boot: Result;
  let lines: string[];

  beforeAll(async () => {
    before = await mountsSnapshot();
    const { builds } = await sharedArtifacts();
    work = await mkdtemp(join(tmpdir(), 'imgplay-pxe-'));
    catalogs = join(work, 'catalogs');
    serve = execa('node', [imgplay, 'serve', builds, '--port', '0', '--catalogs', catalogs], { reject: false, all: true, buffer: false });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.all?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /serving .* at (http:\/\/[^/]+)\//.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      void serve.then((r) => reject(new Error(`imgplay serve exited ${r.exitCode}: ${out}`)));
    });
    proxy = await refusingProxy(url, 2, (path) => /\/base\.[^/]*\.squashfs\.img$/.test(path));
    boot = await execa('node', [imgplay, 'boot', '--server', proxy.url, '--mac', MAC, '--until', 'catalog', '--timeout', '900', '--log', join(work, 'serial.log'), '--quiet'], {
      reject: false,
      env: { NO_COLOR: '1' },
    });
    lines = (await readFile(join(work, 'serial.log'), 'utf8').catch(() => '')).split(/\r?\n/);
  }, 1_800_000);

  afterAll(async () => {
    await new Promise<void>((r) => (proxy ? proxy.server.close(() => r()) : r()));
    if (serve) {
      serve.kill('SIGTERM');
      expect((await serve).exitCode, 'imgplay serve stops cleanly on SIGTERM').toBe(0);
    }
    if (work) await removeTree(work);
    expect(await mountsSnapshot(), 'mounts after the boot').toBe(before);
  });

  it("exits 0 once the catalog for the VM's MAC arrived, saying so", () => {
    expect(boot.exitCode, `${boot.stderr}\n${lines.slice(-60).join('\n')}`).toBe(0);
    expect(boot.stdout).toMatch(/^imgplay boot: reached after \d+(\.\d+)? s: /m);
  });

  it('booted through iPXE, the kernel and the initrd, and switched to base + discovery overlay', () => {
    const log = lines.join('\n');
    expect(log).toMatch(/iPXE initialising devices/);
    expect(log).toMatch(/Linux version \d/);
    expect(log).toMatch(/imgplay-boot: root ready: base base\.[^ ]+\.squashfs\.img \+ overlays discovery\.overlay\.cpio\.gz/);
    expect(log).toMatch(/sha256 verified/);
  });

  it('retried the two refused downloads of the base and went on', () => {
    expect(proxy.refused).toHaveLength(2);
    expect(lines.filter((l) => /imgplay: download .*base\..*squashfs\.img failed/.test(l)).length).toBeGreaterThanOrEqual(2);
  });

  it('stored a catalog with lshw and dmidecode data under the MAC', async () => {
    expect(await readdir(catalogs)).toContain(`${MAC}.json`);
    const catalog = JSON.parse(await readFile(join(catalogs, `${MAC}.json`), 'utf8')) as { mac: string; lshw: { class?: string; children?: unknown[] }; dmidecode: string };
    expect(catalog.mac).toBe(MAC);
    expect(catalog.lshw.class).toBe('system');
    expect(catalog.lshw.children?.length).toBeGreaterThan(0);
    expect(catalog.dmidecode).toMatch(/QEMU/);
  });
});
