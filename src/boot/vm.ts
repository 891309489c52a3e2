// `imgplay boot`'s engine: one qemu VM network-booting through its iPXE ROM from a boot server, its
// serial console read line by line until the wanted point of the boot, a failure, or a timeout.
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { ImgplayError } from '../errors.js';

/** What to wait for: the discovery catalog, the initrd's root, a login prompt, or a serial line. */
export type BootGoal = { kind: 'catalog' } | { kind: 'ready' } | { kind: 'login' } | { kind: 'marker'; pattern: RegExp } | { kind: 'exit' };

/** How to boot one VM. */
export interface BootOptions {
  /** The boot server as this host reaches it, e.g. http://127.0.0.1:8080. */
  server: string;
  /** The VM's MAC, colon form; random 52:54:00:xx:xx:xx when absent. */
  mac?: string | undefined;
  memoryMiB?: number | undefined;
  cpus?: number | undefined;
  /** A qemu NIC model whose iPXE ROM ipxe-qemu ships: virtio-net-pci, e1000, e1000e, rtl8139... */
  nic?: string | undefined;
  accel?: 'tcg' | 'kvm' | undefined;
  goal: BootGoal;
  timeoutSeconds: number;
  /** The serial console is written here as it arrives. */
  logFile?: string | undefined;
  /** Each serial line, e.g. to echo it on the terminal. */
  onLine?: ((line: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** How a boot ended. */
export interface BootResult {
  outcome: 'reached' | 'failed' | 'timeout' | 'exited';
  mac: string;
  seconds: number;
  /** The serial line (or catalog event) that decided it. */
  detail: string;
  /** Every serial line, ANSI escapes removed. */
  lines: string[];
}

/** The boot cannot start: no qemu, no ROM, a bad option. */
export class BootSetupError extends ImgplayError {}

const QEMU = 'qemu-system-x86_64';
const ROM_DIR = '/usr/lib/ipxe/qemu';
// The ROMs qemu's NIC models load by default (ipxe-qemu); booting a model without one never reaches iPXE.
const NIC_ROMS: Record<string, string> = {
  'virtio-net-pci': 'efi-virtio.rom',
  e1000: 'efi-e1000.rom',
  e1000e: 'efi-e1000e.rom',
  rtl8139: 'efi-rtl8139.rom',
  pcnet: 'efi-pcnet.rom',
  vmxnet3: 'efi-vmxnet3.rom',
};

// Lines after which the boot can only be lost: the initrd's own failure report, a kernel panic, iPXE
// giving up, or the firmware finding nothing to boot.
const FAILURE_LINES: readonly RegExp[] = [
  // The initrd's contract: progress is `imgplay: ...`; `imgplay-boot: ` is a failure, or `root ready`.
  /imgplay-boot: (?!root ready\b).*/,
  /Kernel panic - not syncing.*/,
  /No bootable device\./,
  /imgplay-ipxe: .*/,
];
const READY_LINE = /imgplay-boot: root ready\b.*/;
const LOGIN_LINE = /^\S+ login: ?$/;

/** A random locally administered MAC in qemu's own 52:54:00 range. */
export function randomMac(): string {
  return ['52', '54', '00', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** A MAC in lower-case colon form, or undefined when the text is not one. */
export function normalizeMac(text: string): string | undefined {
  const hex = text.replace(/[:-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex) || !/^([0-9a-f]{2}[:-]?){5}[0-9a-f]{2}$/i.test(text)) return undefined;
  return hex.match(/../g)!.join(':');
}

/** The server's address as the guest sees it: qemu's user network maps the host's loopback to 10.0.2.2. */
export function guestServerUrl(server: string): URL {
  const url = new URL(server);
  if (['127.0.0.1', 'localhost', '[::1]', '0.0.0.0'].includes(url.hostname) || url.hostname.startsWith('127.')) url.hostname = '10.0.2.2';
  return url;
}

/** The first iPXE script, served over qemu's TFTP: chain to the boot server's /boot.ipxe with our MAC. */
export function chainScript(server: string): string {
  const url = new URL('boot.ipxe', guestServerUrl(server));
  // `||` keeps iPXE from falling through to the next boot device silently: the line is what we wait for.
  return [
    '#!ipxe',
    `echo imgplay: chaining to ${url.href}`,
    `chain --autofree ${url.href}?mac=\${net0/mac} || goto failed`,
    ':failed',
    `echo imgplay-ipxe: could not boot from ${url.href}: \${errno}`,
    'shell',
    '',
  ].join('\n');
}

/** The qemu command line for one network boot (serial on stdio, no display, no reboot). */
export function qemuArgs(o: { tftpDir: string; mac: string; memoryMiB: number; cpus: number; nic: string; accel: 'tcg' | 'kvm'; serconFile: string }): string[] {
  return [
    '-machine', 'pc',
    '-accel', o.accel === 'tcg' ? 'tcg,thread=multi' : 'kvm',
    '-m', String(o.memoryMiB),
    '-smp', String(o.cpus),
    '-display', 'none',
    '-monitor', 'none',
    '-serial', 'stdio',
    '-no-reboot',
    // SeaBIOS mirrors the text console (and so iPXE's messages) to the serial port.
    '-fw_cfg', `name=etc/sercon-port,file=${o.serconFile}`,
    '-netdev', `user,id=net0,tftp=${o.tftpDir},bootfile=imgplay.ipxe`,
    '-device', `${o.nic},netdev=net0,mac=${o.mac}`,
    '-boot', 'order=n',
  ];
}

interface CatalogListing {
  mac: string;
  receivedAt?: string;
  size?: number;
}

async function catalogStamp(server: string, mac: string): Promise<string | undefined> {
  try {
    const res = await fetch(new URL('api/catalog', server));
    if (!res.ok) return undefined;
    const list = (await res.json()) as CatalogListing[];
    const mine = list.find((c) => c.mac === mac);
    return mine ? `${mine.receivedAt ?? ''}/${mine.size ?? ''}` : '';
  } catch {
    return undefined;
  }
}

/** Checks qemu and the NIC's iPXE ROM are installed, naming the package to install when not. */
export function checkBootTools(nic: string): void {
  const qemu = ['/usr/bin', '/usr/local/bin'].some((d) => existsSync(join(d, QEMU)));
  if (!qemu) throw new BootSetupError(`${QEMU} is not installed`, { hint: 'apt-get install qemu-system-x86' });
  const rom = NIC_ROMS[nic];
  if (rom === undefined) throw new BootSetupError(`no iPXE ROM is known for the NIC model ${nic}`, { hint: `use one of ${Object.keys(NIC_ROMS).join(', ')}` });
  if (!existsSync(join(ROM_DIR, rom))) throw new BootSetupError(`the iPXE ROM ${join(ROM_DIR, rom)} is missing`, { hint: 'apt-get install ipxe-qemu' });
}

/** Boots one VM from the server and resolves when the goal, a failure, qemu's exit or the timeout comes. */
export async function bootVm(opts: BootOptions): Promise<BootResult> {
  const mac = opts.mac ?? randomMac();
  const nic = opts.nic ?? 'virtio-net-pci';
  checkBootTools(nic);
  const work = await mkdtemp(join(tmpdir(), 'imgplay-boot-'));
  const started = Date.now();
  const lines: string[] = [];
  const log = opts.logFile ? createWriteStream(opts.logFile) : undefined;
  let child: ResultPromise | undefined;
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  try {
    await writeFile(join(work, 'imgplay.ipxe'), chainScript(opts.server));
    await writeFile(join(work, 'sercon'), Buffer.from([0xf8, 0x03]));
    const before = opts.goal.kind === 'catalog' ? await catalogStamp(opts.server, mac) : undefined;
    const args = qemuArgs({ tftpDir: work, mac, memoryMiB: opts.memoryMiB ?? 2048, cpus: opts.cpus ?? 2, nic, accel: opts.accel ?? 'tcg', serconFile: join(work, 'sercon') });
    child = execa(QEMU, args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false, cancelSignal: opts.signal, forceKillAfterDelay: 5000 });
    const running = child;
    const seconds = () => Math.round((Date.now() - started) / 100) / 10;

    return await new Promise<BootResult>((resolve) => {
      let done = false;
      const finish = (outcome: BootResult['outcome'], detail: string) => {
        if (done) return;
        done = true;
        resolve({ outcome, mac, seconds: seconds(), detail, lines });
      };
      let partial = '';
      let stderr = '';
      const onLine = (raw: string) => {
        const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1bc/g, '').replace(/\r/g, '').trimEnd();
        if (line === '') return;
        lines.push(line);
        opts.onLine?.(line);
        const failed = FAILURE_LINES.map((re) => re.exec(line)).find(Boolean);
        if (failed) return finish('failed', failed[0]);
        const goal = opts.goal;
        if (goal.kind === 'ready' && READY_LINE.test(line)) return finish('reached', line);
        if (goal.kind === 'login' && LOGIN_LINE.test(line)) return finish('reached', line);
        if (goal.kind === 'marker' && goal.pattern.test(line)) return finish('reached', line);
      };
      running.stdout?.on('data', (chunk: Buffer) => {
        log?.write(chunk);
        const text = partial + chunk.toString('utf8');
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) onLine(p);
        // A login prompt has no newline after it.
        if (opts.goal.kind === 'login' && LOGIN_LINE.test(partial.replace(/\r/g, ''))) onLine(partial);
      });
      running.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      void running.then((r) => {
        if (partial) onLine(partial);
        const why = stderr.trim().split('\n').slice(-5).join('\n') || `qemu exited with ${r.exitCode ?? r.signal}`;
        finish(opts.goal.kind === 'exit' ? 'reached' : 'exited', why);
      });
      timer = setTimeout(() => finish('timeout', `nothing decided the boot within ${opts.timeoutSeconds} s`), opts.timeoutSeconds * 1000);
      if (opts.goal.kind === 'catalog') {
        const tick = async () => {
          const now = await catalogStamp(opts.server, mac);
          if (now !== undefined && now !== '' && now !== before) return finish('reached', `the catalog for ${mac} arrived at ${opts.server}`);
          if (!done) poll = setTimeout(() => void tick(), 1000);
        };
        poll = setTimeout(() => void tick(), 1000);
      }
    });
  } finally {
    if (timer) clearTimeout(timer);
    if (poll) clearTimeout(poll);
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await child.catch(() => undefined);
    }
    await new Promise<void>((r) => (log ? log.end(r) : r()));
    await rm(work, { recursive: true, force: true });
  }
}
