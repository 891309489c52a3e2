// `imgplay serve` over real HTTP: a temp builds folder with small fake artifacts and a real manifest,
// a server on a free port, and requests as iPXE, the initrd and the discovery overlay make them.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerServeCommand } from '../../src/serve/command.js';
import { checksumFile } from '../../src/host/checksum.js';
import { imgplayVersion, recordArtifact, type ArtifactEntry } from '../../src/image/manifest.js';
import { type BootServer, startBootServer } from '../../src/serve/server.js';
import type { CatalogInfo } from '../../src/serve/catalogs.js';

// Catalogs live beside a builds folder, never in it, as the server's own default keeps them out of what it serves.
const catalogsOf = (builds: string): string => `${builds}.catalogs`;
const removeBuilds = async (builds: string): Promise<void> => {
  await rm(builds, { recursive: true, force: true });
  await rm(catalogsOf(builds), { recursive: true, force: true });
};

const KV = '6.1.0-28-amd64';
const BASE = `base.bookworm.${KV}.squashfs.img`;
const MAC = '52:54:00:12:34:56';
const OEM_MAC = '52:54:00:aa:bb:01';
const RACK_MAC = '52:54:00:aa:bb:02';

const profilesYaml = `default:
  args: quiet
groups:
  rack-a: [${RACK_MAC}]
profiles:
  oem:
    macs: ["${OEM_MAC.toUpperCase().replace(/:/g, '-')}"]
    overlays: [discovery, oem-example]
    syslog: true
  racked:
    groups: [rack-a]
    overlays: []
    api_cb: false
    args: "ip=dhcp"
`;

async function makeBuilds(files: Record<string, Buffer>, kinds: Record<string, Partial<ArtifactEntry>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-serve-'));
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  const version = await imgplayVersion();
  const baseName = Object.keys(kinds).find((n) => kinds[n]!.kind === 'base');
  // The schema has every overlay name the base it was built over.
  const overBase = baseName === undefined ? undefined : { name: baseName, sha256: await checksumFile(join(dir, baseName), 'sha256') };
  for (const [name, extra] of Object.entries(kinds)) {
    await recordArtifact(dir, {
      name,
      kind: 'overlay',
      size: files[name]!.length,
      sha256: await checksumFile(join(dir, name), 'sha256'),
      inputsDigest: `sha256:${'a'.repeat(64)}`,
      builtAt: new Date().toISOString(),
      imgplayVersion: version,
      ...((extra.kind ?? 'overlay') === 'overlay' ? { base: overBase } : {}),
      ...extra,
    } as ArtifactEntry);
  }
  return dir;
}

// A raw HTTP request, for what fetch will not send (a Host header, a path with ..).
function raw(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('imgplay serve', () => {
  let builds: string;
  let profiles: string;
  let server: BootServer;
  const base = randomBytes(4096);
  const lines: string[] = [];
  const arrived: CatalogInfo[] = [];

  beforeAll(async () => {
    builds = await makeBuilds(
      {
        [`vmlinuz-${KV}`]: randomBytes(1000),
        [`initrd.img-${KV}`]: randomBytes(2000),
        [BASE]: base,
        'discovery.overlay.cpio.gz': randomBytes(300),
        'oem-example.overlay.cpio.gz': randomBytes(200),
        '.hidden': Buffer.from('secret'),
      },
      {
        [`vmlinuz-${KV}`]: { kind: 'kernel', kernelVersion: KV },
        [`initrd.img-${KV}`]: { kind: 'initrd', kernelVersion: KV },
        [BASE]: { kind: 'base', kernelVersion: KV, release: 'bookworm' },
        'discovery.overlay.cpio.gz': {},
        'oem-example.overlay.cpio.gz': {},
      },
    );
    profiles = join(builds, '..', `${builds.split('/').pop()}-profiles.yaml`);
    await writeFile(profiles, profilesYaml);
    server = await startBootServer({ dir: builds, catalogs: catalogsOf(builds), port: 0, profiles, catalogLimit: 1024, log: (l) => lines.push(l) });
    server.on('catalog', (c: CatalogInfo) => arrived.push(c));
  });

  afterAll(async () => {
    await server?.close();
    if (builds) await removeBuilds(builds);
    if (profiles) await rm(profiles, { force: true });
  });

  describe('artifacts', () => {
    it('serves a whole file with its length and Accept-Ranges', async () => {
      const res = await fetch(`${server.url}/${BASE}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(base.length));
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(Buffer.from(await res.arrayBuffer()).equals(base)).toBe(true);
    });

    it('serves the same file under /common/, as RackHD did', async () => {
      const res = await fetch(`${server.url}/common/${BASE}`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(base)).toBe(true);
    });

    it('answers HEAD with the length and no body', async () => {
      const res = await fetch(`${server.url}/${BASE}`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(base.length));
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    });

    it.each([
      ['bytes=0-9', 0, 9],
      ['bytes=10-', 10, 4095],
      ['bytes=-5', 4091, 4095],
      ['bytes=4000-99999', 4000, 4095],
    ])('answers Range %s with 206 and those bytes', async (range, start, end) => {
      const res = await fetch(`${server.url}/${BASE}`, { headers: { Range: range } });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${base.length}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(base.subarray(start, end + 1))).toBe(true);
    });

    it('answers a range past the end with 416 and the size', async () => {
      const res = await fetch(`${server.url}/${BASE}`, { headers: { Range: 'bytes=5000-' } });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${base.length}`);
    });

    it('answers 304 when the client already has this version', async () => {
      const first = await fetch(`${server.url}/${BASE}`, { method: 'HEAD' });
      const etag = first.headers.get('etag')!;
      const res = await fetch(`${server.url}/${BASE}`, { headers: { 'If-None-Match': etag } });
      expect(res.status).toBe(304);
    });

    it.each([
      ['/../etc/passwd'],
      ['/%2e%2e%2fetc%2fpasswd'],
      ['/common/..%2F..%2Fetc%2Fpasswd'],
      ['/.hidden'],
      ['/catalogs'],
      ['/'],
      ['/nothing-here.img'],
    ])('refuses %s with 404', async (path) => {
      const res = await raw(server.url, path);
      expect(res.status).toBe(404);
      expect(res.body).not.toMatch(/root:|secret/);
    });
  });

  describe('boot.ipxe', () => {
    it('without a MAC chains back to itself with the MAC iPXE knows', async () => {
      const res = await raw(server.url, '/boot.ipxe', { Host: '10.0.2.2:8080' });
      expect(res.status).toBe(200);
      expect(res.body).toBe('#!ipxe\nchain http://10.0.2.2:8080/boot.ipxe?mac=${netX/mac}\n');
    });

    it('renders the default profile for an unknown MAC, with the server the client asked', async () => {
      const res = await raw(server.url, `/boot.ipxe?mac=${MAC}`, { Host: '10.0.2.2:8080' });
      const s = 'http://10.0.2.2:8080/common';
      expect(res.body).toBe(
        `#!ipxe\nkernel ${s}/vmlinuz-${KV} initrd=initrd.img-${KV} API_CB=10.0.2.2:8080 BASEFS=${s}/${BASE} ` +
          `OVERLAYFS=${s}/discovery.overlay.cpio.gz BOOTIF=01-\${netX/mac:hexhyp} console=tty0 console=ttyS0,115200n8 quiet\n` +
          `initrd ${s}/initrd.img-${KV}\nboot\n`,
      );
    });

    it('renders the profile that lists the MAC (in any spelling), overlays stacked in order', async () => {
      const res = await raw(server.url, `/boot.ipxe?mac=${OEM_MAC}`, { Host: '10.0.2.2:8080' });
      expect(res.body).toContain('OVERLAYFS=http://10.0.2.2:8080/common/discovery.overlay.cpio.gz,http://10.0.2.2:8080/common/oem-example.overlay.cpio.gz ');
      expect(res.body).toContain('SYSLOGSERVER=10.0.2.2 ');
      expect(res.body).toContain(' quiet\n');
    });

    it('renders the profile of a group the MAC is in', async () => {
      const res = await raw(server.url, `/boot.ipxe?mac=${RACK_MAC.replace(/:/g, '')}`, { Host: '10.0.2.2:8080' });
      expect(res.body).not.toContain('OVERLAYFS=');
      expect(res.body).not.toContain('API_CB=');
      expect(res.body).toContain(' ip=dhcp\n');
    });

    it('refuses a mac= that is not a MAC', async () => {
      expect((await raw(server.url, '/boot.ipxe?mac=zz')).status).toBe(400);
    });

    it('writes --advertise into scripts instead of the Host header', async () => {
      const other = await startBootServer({ dir: builds, catalogs: catalogsOf(builds), port: 0, advertise: 'boot.example:9000', log: () => undefined });
      try {
        const res = await raw(other.url, `/boot.ipxe?mac=${MAC}`, { Host: '10.0.2.2:8080' });
        expect(res.body).toContain('kernel http://boot.example:9000/common/vmlinuz-');
        expect(res.body).not.toContain('10.0.2.2');
      } finally {
        await other.close();
      }
    });

    it('falls back to its own address when the Host header is not a host', async () => {
      const res = await raw(server.url, '/boot.ipxe', { Host: 'evil\tinjected' });
      expect(res.body).toContain(`chain http://127.0.0.1:${server.port}/boot.ipxe`);
    });
  });

  describe('catalogs', () => {
    const post = (mac: string, body: string, type = 'application/json') =>
      fetch(`${server.url}/api/catalog/${mac}`, { method: 'POST', headers: { 'Content-Type': type }, body });

    it('stores a posted catalog under the normalized MAC, atomically, and says so', async () => {
      const res = await post('52-54-00-12-34-56', '{"mac":"x","lshw":{}}');
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ mac: MAC, size: 21 });
      const files = await readdir(join(catalogsOf(builds)));
      expect(files).toEqual([`${MAC}.json`]);
      expect(await readFile(join(catalogsOf(builds), `${MAC}.json`), 'utf8')).toBe('{"mac":"x","lshw":{}}');
      expect(arrived.map((c) => c.mac)).toContain(MAC);
    });

    it('accepts the BOOTIF spelling of a MAC', async () => {
      expect((await post('01-52-54-00-12-34-57', '{}')).status).toBe(201);
      expect(existsSync(join(catalogsOf(builds), '52:54:00:12:34:57.json'))).toBe(true);
    });

    it('lists and returns stored catalogs', async () => {
      const list = (await (await fetch(`${server.url}/api/catalog`)).json()) as CatalogInfo[];
      const mine = list.find((c) => c.mac === MAC);
      expect(mine?.size).toBe(21);
      expect(Number.isNaN(Date.parse(mine!.receivedAt))).toBe(false);
      const doc = await fetch(`${server.url}/api/catalog/${MAC.toUpperCase()}`);
      expect(await doc.json()).toEqual({ mac: 'x', lshw: {} });
      expect((await fetch(`${server.url}/api/catalog/52:54:00:00:00:00`)).status).toBe(404);
    });

    it('refuses what is not JSON with 415', async () => {
      expect((await post(MAC, 'mac=x', 'application/x-www-form-urlencoded')).status).toBe(415);
    });

    it('refuses a catalog over the limit with 413', async () => {
      const res = await post('52:54:00:99:99:99', JSON.stringify({ pad: 'x'.repeat(4000) }));
      expect(res.status).toBe(413);
      expect(existsSync(join(catalogsOf(builds), '52:54:00:99:99:99.json'))).toBe(false);
    });

    it('refuses a path that is not a MAC with 400', async () => {
      expect((await post('not-a-mac', '{}')).status).toBe(400);
    });

    it('refuses a body that does not parse, naming the parse error', async () => {
      const res = await post('52:54:00:99:99:98', '{"mac": ');
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/not JSON: .*JSON/);
      expect(existsSync(join(catalogsOf(builds), '52:54:00:99:99:98.json'))).toBe(false);
    });

    it('leaves no temp files behind', async () => {
      expect((await readdir(join(catalogsOf(builds)))).filter((f) => f.startsWith('.'))).toEqual([]);
    });
  });

  it('goes on serving after a client drops a download halfway', async () => {
    const big = join(builds, 'big.overlay.cpio.gz');
    await writeFile(big, randomBytes(8 * 1024 * 1024));
    const ac = new AbortController();
    const res = await fetch(`${server.url}/big.overlay.cpio.gz`, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await reader.read().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.find((l) => l.includes('/big.overlay.cpio.gz'))).toMatch(/ 200 \(aborted\) /);
    const again = await fetch(`${server.url}/${BASE}`);
    expect(Buffer.from(await again.arrayBuffer()).equals(base)).toBe(true);
    await rm(big);
  });

  it('logs one line per request with the client, the MAC its URL names, the status and the bytes', async () => {
    await raw(server.url, `/boot.ipxe?mac=${MAC}`);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.at(-1)).toMatch(new RegExp(`^\\S+Z 127\\.0\\.0\\.1 ${MAC} GET /boot\\.ipxe\\?mac=${MAC} 200 \\d+ \\d+\\.\\d{3}s$`));
    await fetch(`${server.url}/${BASE}`, { headers: { Range: 'bytes=0-9' } }).then((r) => r.arrayBuffer());
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.at(-1)).toMatch(new RegExp(`^\\S+Z 127\\.0\\.0\\.1 - GET /${BASE.replace(/\./g, '\\.')} 206 10 \\d+\\.\\d{3}s$`));
  });

  it('credits no request to a MAC it does not name itself: behind NAT, machines share one address', async () => {
    await raw(server.url, `/boot.ipxe?mac=${MAC}`);
    await raw(server.url, '/boot.ipxe?mac=5254001234ZZ');
    await raw(server.url, `/boot.ipxe`);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.at(-2)).toMatch(/ 127\.0\.0\.1 - GET \/boot\.ipxe\?mac=5254001234ZZ 400 /);
    expect(lines.at(-1)).toMatch(/ 127\.0\.0\.1 - GET \/boot\.ipxe 200 /);
  });
});

describe('imgplay serve refuses to start', () => {
  it('when the kernel and the base are for different kernel versions, naming both', async () => {
    const builds = await makeBuilds(
      { 'vmlinuz-6.1.0-27-amd64': randomBytes(10), 'initrd.img-6.1.0-27-amd64': randomBytes(10), [BASE]: randomBytes(10) },
      { [BASE]: { kind: 'base', kernelVersion: KV } },
    );
    try {
      await expect(startBootServer({ dir: builds, catalogs: catalogsOf(builds), port: 0 })).rejects.toThrow(
        `profile default: the kernel vmlinuz-6.1.0-27-amd64 is 6.1.0-27-amd64 but the base ${BASE} has modules for ${KV}`,
      );
    } finally {
      await removeBuilds(builds);
    }
  });

  it('from the command line with exit code 1 and the message on stderr', async () => {
    const builds = await makeBuilds(
      { 'vmlinuz-6.1.0-27-amd64': randomBytes(10), 'initrd.img-6.1.0-27-amd64': randomBytes(10), [BASE]: randomBytes(10) },
      { [BASE]: { kind: 'base', kernelVersion: KV } },
    );
    const err: string[] = [];
    let code: number | undefined;
    const program = new Command('imgplay').exitOverride();
    registerServeCommand(program, { out: () => undefined, err: (s) => err.push(s), setCode: (n) => (code = n) });
    try {
      await program.parseAsync(['serve', builds, '--port', '0'], { from: 'user' });
      expect(code).toBe(1);
      expect(err.join('')).toBe(`imgplay serve: profile default: the kernel vmlinuz-6.1.0-27-amd64 is 6.1.0-27-amd64 but the base ${BASE} has modules for ${KV}\n`);
    } finally {
      await removeBuilds(builds);
    }
  });

  it('when the manifest says the base is for another kernel than its name does', async () => {
    const other = 'base.bookworm.6.1.0-27-amd64.squashfs.img';
    const builds = await makeBuilds(
      { [`vmlinuz-${KV}`]: randomBytes(10), [`initrd.img-${KV}`]: randomBytes(10), [other]: randomBytes(10) },
      { [other]: { kind: 'base', kernelVersion: KV } },
    );
    try {
      // The manifest's word wins: the base's modules are 6.1.0-28 whatever its name says, so it boots.
      const server = await startBootServer({ dir: builds, catalogs: catalogsOf(builds), port: 0, log: () => undefined });
      await server.close();
    } finally {
      await removeBuilds(builds);
    }
  });

  it('when a profile names an overlay that is not there', async () => {
    const builds = await makeBuilds({ [`vmlinuz-${KV}`]: randomBytes(10), [`initrd.img-${KV}`]: randomBytes(10), [BASE]: randomBytes(10) }, {});
    const file = `${builds}.yaml`;
    await writeFile(file, 'default:\n  overlays: [missing]\n');
    try {
      await expect(startBootServer({ dir: builds, catalogs: catalogsOf(builds), port: 0, profiles: file })).rejects.toThrow(`profile default: the overlay missing.overlay.cpio.gz is not in ${builds}`);
    } finally {
      await removeBuilds(builds);
      await rm(file, { force: true });
    }
  });
});
