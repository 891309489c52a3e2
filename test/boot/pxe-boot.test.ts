// The whole chain, as a rack would boot it: the artifacts all.yml built, `imgplay serve` in front of
// them, and a qemu VM PXE-booting through its iPXE ROM with RackHD's command line: kernel, initrd,
// network, the base and the discovery overlay downloaded and verified, the root switched, systemd up,
// and the discovery hook POSTing the VM's hardware catalog back to the server.
// Between the VM and the server sits a proxy that refuses the first two requests for the base, so
// the same boot proves the initrd's retries.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootResult, bootVm } from '../../src/boot/vm.js';
import { removeTree } from '../../src/image/mount-table.js';
import { type BootServer, startBootServer } from '../../src/serve/server.js';
import { canBuildArtifacts, sharedArtifacts } from '../support/artifact-set.js';
import { mountsSnapshot } from '../support/minbase.js';

const canBoot = canBuildArtifacts && existsSync('/usr/bin/qemu-system-x86_64') && existsSync('/usr/lib/ipxe/qemu/efi-virtio.rom');
const MAC = '52:54:00:1a:2b:3c';

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

describe.skipIf(!canBoot)('a VM PXE-booted from imgplay serve', () => {
  let before: string;
  let catalogs: string;
  let serve: BootServer;
  let proxy: Awaited<ReturnType<typeof refusingProxy>>;
  let result: BootResult;

  beforeAll(async () => {
    before = await mountsSnapshot();
    const { builds } = await sharedArtifacts();
    catalogs = await mkdtemp(join(tmpdir(), 'imgplay-catalogs-'));
    serve = await startBootServer({ dir: builds, listen: '127.0.0.1', port: 0, catalogs, log: () => undefined });
    proxy = await refusingProxy(serve.url, 2, (path) => /\/base\.[^/]*\.squashfs\.img$/.test(path));
    result = await bootVm({ server: proxy.url, mac: MAC, goal: { kind: 'catalog' }, timeoutSeconds: 900, memoryMiB: 2048 });
  }, 1_800_000);

  afterAll(async () => {
    await new Promise<void>((r) => (proxy ? proxy.server.close(() => r()) : r()));
    await serve?.close();
    if (catalogs) await removeTree(catalogs);
    expect(await mountsSnapshot(), 'mounts after the boot').toBe(before);
  });

  it("reaches the catalog POST for the VM's MAC", () => {
    expect(result.outcome, result.lines.slice(-60).join('\n')).toBe('reached');
  });

  it('booted through iPXE, the kernel and the initrd, and switched to base + discovery overlay', () => {
    const log = result.lines.join('\n');
    expect(log).toMatch(/iPXE initialising devices/);
    expect(log).toMatch(/Linux version \d/);
    expect(log).toMatch(/imgplay-boot: root ready: base base\.[^ ]+\.squashfs\.img \+ overlays discovery\.overlay\.cpio\.gz/);
    expect(log).toMatch(/sha256 verified/);
  });

  it('retried the two refused downloads of the base and went on', () => {
    expect(proxy.refused).toHaveLength(2);
    expect(result.lines.filter((l) => /imgplay: download .*base\..*squashfs\.img failed/.test(l)).length).toBeGreaterThanOrEqual(2);
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
