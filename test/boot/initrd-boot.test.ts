// The initrd all.yml builds, booted for real: qemu (TCG) runs the kernel and initrd directly with
// RackHD's command line, a server on this host's loopback (10.0.2.2 to the guest) serves the builds
// folder, and the serial console decides. A good boot downloads, verifies and stacks the base and the
// overlays and reaches systemd and the boot hooks; a corrupt overlay stops the boot before anything
// is mounted, naming the file; a server refusing the first requests for the base only delays it.
import { existsSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { type ResultPromise, execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTree } from '../../src/host/mount-table.js';
import { type ArtifactSet, artifactSetUnavailable, sharedArtifacts } from '../support/artifact-set.js';
import { file, lacking, skipWithout } from '../support/needs.js';
import { mountsSnapshot } from '../support/minbase.js';
import { bootArgs } from '../../src/boot/cmdline.js';

const unavailable = lacking(artifactSetUnavailable, file('/usr/bin/qemu-system-x86_64', 'qemu-system-x86'));

const PROBE = 'probe.overlay.cpio.gz';
const MAC = '52:54:00:5e:08:01';

/** How the server misbehaves for one boot. */
interface Plan {
  /** Files served with one byte changed (SHA256SUMS still lists the good sum). */
  corrupt?: string[];
  /** Files answered with 503 for their first N requests. */
  unavailable?: Record<string, number>;
  /** Files answered with 404. */
  missing?: string[];
}

interface Served {
  url: string;
  /** Each request as "<status> <method> <path>". */
  log: string[];
}

let server: Server | undefined;
const vms = new Set<ResultPromise>();

// A third overlay made here: a boot hook that reports on the serial console what the stacked root
// looks like (the oem overlay's whiteout of /etc/motd, the discovery overlay's lldpd), and an opaque
// /usr/share/doc that must hide the base's.
async function probeOverlay(dir: string): Promise<Buffer> {
  const tree = join(dir, 'probe');
  await mkdir(join(tree, 'etc/imgplay/boot.d'), { recursive: true });
  await mkdir(join(tree, 'usr/share/doc'), { recursive: true });
  await writeFile(join(tree, 'usr/share/doc/imgplay-probe'), 'only me\n');
  await mkdir(join(tree, '.imgplay'));
  await writeFile(join(tree, '.imgplay/opaque'), 'usr/share/doc\n');
  await writeFile(
    join(tree, 'etc/imgplay/boot.d/99-probe'),
    '#!/bin/sh\n[ -e /etc/motd ] && motd=present || motd=absent\n[ -x /usr/sbin/lldpd ] && lldpd=present || lldpd=absent\necho "imgplay-test-probe: motd $motd, lldpd $lldpd, doc $(ls -A /usr/share/doc | tr \'\\n\' \' \')root $(awk \'$2 == "/" { print $3 }\' /proc/mounts)" > /dev/ttyS0\n',
    { mode: 0o755 },
  );
  const archive = join(dir, PROBE);
  await execa('sh', ['-c', `cd ${tree} && find . | cpio -o -H newc --quiet | gzip -9 > ${archive}`]);
  return readFile(archive);
}

async function serve(set: ArtifactSet, extra: Record<string, Buffer>, plan: Plan): Promise<Served> {
  const sums = `${await readFile(join(set.builds, 'SHA256SUMS'), 'utf8')}${Object.entries(extra)
    .map(([name, body]) => `${createHash('sha256').update(body).digest('hex')}  ${name}\n`)
    .join('')}`;
  const log: string[] = [];
  const seen = new Map<string, number>();
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const name = path.replace(/^\/common\//, '');
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    const reply = (status: number, body?: Buffer | string) => {
      log.push(`${status} ${req.method} ${path}`);
      res.writeHead(status, { 'content-type': 'application/octet-stream' }).end(body);
    };
    if (req.method === 'POST') return reply(200, '{}');
    if (count <= (plan.unavailable?.[name] ?? 0)) return reply(503, 'busy\n');
    if (plan.missing?.includes(name)) return reply(404, 'not found\n');
    if (name === 'SHA256SUMS') return reply(200, sums);
    const inMemory = extra[name];
    if (inMemory !== undefined) return reply(200, inMemory);
    const file = join(set.builds, name);
    if (!/^[\w.+-]+$/.test(name) || !existsSync(file)) return reply(404, 'not found\n');
    if (plan.corrupt?.includes(name)) {
      void readFile(file).then((body) => {
        const middle = Math.floor(body.length / 2);
        body[middle] = (body[middle] ?? 0) ^ 0xff;
        reply(200, body);
      });
      return;
    }
    void stat(file).then((s) => {
      log.push(`200 GET ${path}`);
      res.writeHead(200, { 'content-length': s.size });
      createReadStream(file).pipe(res);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://10.0.2.2:${(server!.address() as AddressInfo).port}/common`, log };
}

async function stopServer(): Promise<void> {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server?.closeAllConnections();
  server = undefined;
}

interface Boot {
  /** What ended the boot: the first pattern seen, or 'timeout' / 'exited'. */
  outcome: string;
  serial: string;
}

// Boots the kernel and initrd with `cmdline` until one of `until` shows on the serial console.
// `deadNicFirst` puts a NIC on a hub with nothing else on it (link up, no DHCP) in PCI slot 3, before
// the NIC on qemu's user network (then slot 4, ens4).
async function boot(set: ArtifactSet, cmdline: string, until: Record<string, RegExp>, timeoutMs: number, deadNicFirst = false): Promise<Boot> {
  const vm = execa(
    'qemu-system-x86_64',
    [
      ...['-m', '2048', '-nographic', '-no-reboot'],
      ...['-kernel', join(set.builds, set.kernel), '-initrd', join(set.builds, set.initrd), '-append', cmdline],
      ...(deadNicFirst ? ['-netdev', 'hubport,id=dead,hubid=9', '-device', 'virtio-net-pci,netdev=dead,mac=52:54:00:de:ad:01'] : []),
      ...['-netdev', 'user,id=n0', '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`],
    ],
    { reject: false, stdin: 'ignore', buffer: false, all: true },
  );
  vms.add(vm);
  let serial = '';
  try {
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      vm.all?.on('data', (chunk: Buffer) => {
        serial += chunk.toString('latin1');
        for (const [name, re] of Object.entries(until)) {
          if (re.test(serial)) {
            clearTimeout(timer);
            resolve(name);
          }
        }
      });
      void vm.then(() => {
        clearTimeout(timer);
        resolve('exited');
      });
    });
    return { outcome, serial };
  } finally {
    // IMGPLAY_SERIAL_LOG=<file> keeps every boot's console for a reader (the assertions show it too).
    if (process.env.IMGPLAY_SERIAL_LOG) await appendFile(process.env.IMGPLAY_SERIAL_LOG, `\n===== ${cmdline}\n${serial}`);
    vm.kill('SIGKILL');
    await vm;
    vms.delete(vm);
  }
}

function cmdlineFor(served: Served, set: ArtifactSet, overlays: string[], extra = '', syslog = '10.0.2.2'): string {
  const url = served.url;
  return bootArgs({
    initrd: set.initrd,
    syslog,
    apiCb: url.replace(/^http:\/\/|\/common$/g, ''),
    base: `${url}/${set.base}`,
    overlays: overlays.map((o) => `${url}/${o}`),
    bootif: `01-${MAC.replace(/:/g, '-')}`,
    extra,
  }).join(' ');
}

// A syslog receiver on this host's loopback (10.0.2.2:<port> to the guest): every datagram's text.
async function syslogReceiver(): Promise<{ port: number; messages: string[]; close: () => Promise<void> }> {
  const socket = createSocket('udp4');
  const messages: string[] = [];
  socket.on('message', (msg) => messages.push(msg.toString('utf8')));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { port: socket.address().port, messages, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

/** The serial lines that start with `prefix`, without the kernel's time stamps. */
function linesOf(serial: string, prefix: string): string[] {
  return serial
    .split(/\r?\n/)
    .map((l) => l.replace(/^\[\s*\d+\.\d+\]\s*/, ''))
    .filter((l) => l.startsWith(prefix));
}

describe.skipIf(skipWithout(unavailable))('the initrd booting RackHD-style', () => {
  let set: ArtifactSet;
  let before: string;
  let dir: string;
  let probe: Buffer;

  beforeAll(async () => {
    before = await mountsSnapshot();
    set = await sharedArtifacts();
    dir = await mkdtemp(join(tmpdir(), 'imgplay-initrd-boot-'));
    probe = await probeOverlay(dir);
  }, 3_600_000);

  afterAll(async () => {
    for (const vm of vms) vm.kill('SIGKILL');
    await stopServer();
    if (dir !== undefined) await removeTree(dir);
    expect(await mountsSnapshot(), 'mounts after the boots').toBe(before);
  });

  it('downloads, verifies and stacks the base and three overlays, boots systemd into the boot hooks, and logs to SYSLOGSERVER', async () => {
    const served = await serve(set, { [PROBE]: probe }, {});
    const syslog = await syslogReceiver();
    try {
      const overlays = [set.overlays.discovery, set.overlays['oem-example'], PROBE];
      const r = await boot(set, cmdlineFor(served, set, overlays, '', `10.0.2.2:${syslog.port}`), { probe: /imgplay-test-probe: [^\n]*\n/, failed: /imgplay-boot: (?!root ready)[^\n]*\n/ }, 600_000);
      expect(r.outcome, r.serial).toBe('probe');
      expect(linesOf(r.serial, 'imgplay-boot: root ready')).toEqual([`imgplay-boot: root ready: base ${set.base} + overlays ${overlays.join(', ')}`]);
      for (const f of [set.base, ...overlays]) expect(r.serial).toContain(`imgplay: ${f}: `);
      expect(r.serial).toMatch(/sha256 verified/);
      expect(r.serial).toMatch(/Welcome to .*Debian GNU\/Linux/);
      // The hooks' output reaches the console through the journal: `imgplay-boot-hooks[pid]: ...`.
      expect(r.serial).toMatch(/imgplay-boot-hooks: running \/etc\/imgplay\/boot\.d\/50-discovery[\s\S]*imgplay-boot-hooks: running \/etc\/imgplay\/boot\.d\/99-probe/);
      expect(linesOf(r.serial, 'imgplay-test-probe:')).toEqual(['imgplay-test-probe: motd absent, lldpd present, doc imgplay-probe root overlay']);
      expect(served.log).toEqual(expect.arrayContaining([`200 GET /common/${set.base}`, `200 GET /common/SHA256SUMS`]));
      // The initrd's syslogd forwards its progress, and the booted system's hook runner logs its own.
      const logged = syslog.messages.join('\n');
      expect(logged).toMatch(new RegExp(`imgplay: ${set.base.replace(/\./g, '\\.')}: \\d+ bytes, sha256 verified`));
      expect(logged).toMatch(/imgplay-boot: root ready/);
      // util-linux's logger speaks RFC 5424: `<13>1 <time> <host> imgplay-boot-hooks - - [...] running ...`.
      expect(logged).toMatch(/ imgplay-boot-hooks .* running \/etc\/imgplay\/boot\.d\/50-discovery$/m);
    } finally {
      await syslog.close();
      await stopServer();
    }
  }, 900_000);

  it('stops before mounting anything when an overlay is not what SHA256SUMS says, naming the file', async () => {
    const served = await serve(set, {}, { corrupt: [set.overlays['oem-example']] });
    try {
      const overlays = [set.overlays.discovery, set.overlays['oem-example']];
      const r = await boot(set, cmdlineFor(served, set, overlays, 'imgplay.retries=2 imgplay.onfail=reboot:1'), { failed: /imgplay-boot: [\s\S]*rebooting in 1 s/, ready: /imgplay-boot: root ready/ }, 600_000);
      expect(r.outcome, r.serial).toBe('failed');
      const failures = linesOf(r.serial, 'imgplay-boot: ');
      expect(failures[0]).toMatch(new RegExp(`^imgplay-boot: verify ${set.overlays['oem-example'].replace(/\./g, '\\.')}: sha256 mismatch: got [0-9a-f]{64}, expected [0-9a-f]{64} \\(3 downloads\\); not mounted$`));
      expect(r.serial).not.toContain('Welcome to');
      // Nothing was mounted: every file is verified before the base is loop-mounted.
      expect(r.serial).not.toMatch(/loop\d+: detected capacity change/);
      // Three downloads of the bad overlay: the first and two more in case the transfer was cut.
      expect(served.log.filter((l) => l === `200 GET /common/${set.overlays['oem-example']}`)).toHaveLength(3);
    } finally {
      await stopServer();
    }
  }, 900_000);

  it('takes the NIC BOOTIF names, then gives up on a file answered 404 after imgplay.retries tries, naming the URL and the status, in the rescue shell', async () => {
    const served = await serve(set, {}, { missing: [set.overlays.discovery] });
    try {
      // No imgplay.onfail: the default is initramfs-tools' rescue shell on the console.
      const r = await boot(set, cmdlineFor(served, set, [set.overlays.discovery], 'imgplay.retries=2'), { shell: /\(initramfs\) /, ready: /imgplay-boot: root ready/ }, 300_000, true);
      expect(r.outcome, r.serial).toBe('shell');
      // The first NIC (ens3) has link but no DHCP server: BOOTIF's MAC is the second one's.
      expect(linesOf(r.serial, 'imgplay: network: ')).toEqual([expect.stringMatching(/^imgplay: network: ens4 10\.0\.2\.\d+$/)]);
      expect(linesOf(r.serial, 'imgplay-boot: ')[0]).toBe(`imgplay-boot: download ${served.url}/${set.overlays.discovery}: wget: server returned error: HTTP/1.1 404 Not Found (2 tries)`);
      expect(served.log.filter((l) => l.endsWith(`/common/${set.overlays.discovery}`))).toEqual([`404 GET /common/${set.overlays.discovery}`, `404 GET /common/${set.overlays.discovery}`]);
    } finally {
      await stopServer();
    }
  }, 900_000);

  it('boots when the server refuses the first two requests for the base, saying it retried (static ip=, checksums on the command line)', async () => {
    // No SHA256SUMS this time: BASEFS_SHA256 and OVERLAYFS_SHA256 carry the checksums.
    const served = await serve(set, {}, { unavailable: { [set.base]: 2 }, missing: ['SHA256SUMS'] });
    try {
      const sums = new Map((await readFile(join(set.builds, 'SHA256SUMS'), 'utf8')).trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)] as const));
      // ip=<client>::<gateway>:<netmask>:<hostname>:<device>:<autoconf>, no DHCP: qemu's user network is
      // 10.0.2.0/24, and udev names the NIC in PCI slot 3 ens3.
      const extra = `ip=10.0.2.77::10.0.2.2:255.255.255.0:node:ens3:off BASEFS_SHA256=${sums.get(set.base)} OVERLAYFS_SHA256=${sums.get(set.overlays.discovery)}`;
      const r = await boot(set, cmdlineFor(served, set, [set.overlays.discovery], extra), { ready: /imgplay-boot: root ready[^\n]*\n/, failed: /imgplay-boot: (?!root ready)[^\n]*\n/ }, 600_000);
      expect(r.outcome, r.serial).toBe('ready');
      expect(linesOf(r.serial, 'imgplay: network: ')).toEqual(['imgplay: network: ens3 10.0.2.77']);
      expect(r.serial).toMatch(/loop\d+: detected capacity change/);
      expect(linesOf(r.serial, `imgplay: download ${served.url}/${set.base} failed`)).toEqual([
        `imgplay: download ${served.url}/${set.base} failed: wget: server returned error: HTTP/1.1 503 Service Unavailable; try 2 of 6 in 1 s`,
        `imgplay: download ${served.url}/${set.base} failed: wget: server returned error: HTTP/1.1 503 Service Unavailable; try 3 of 6 in 2 s`,
      ]);
      expect(served.log.filter((l) => l.endsWith(`/common/${set.base}`))).toEqual([`503 GET /common/${set.base}`, `503 GET /common/${set.base}`, `200 GET /common/${set.base}`]);
      for (const f of [set.base, set.overlays.discovery]) expect(linesOf(r.serial, `imgplay: ${f}: `)).toEqual([expect.stringMatching(/: \d+ bytes, sha256 verified$/)]);
      expect(served.log.filter((l) => l.includes('SHA256SUMS'))).toEqual([]);
    } finally {
      await stopServer();
    }
  }, 900_000);
});
