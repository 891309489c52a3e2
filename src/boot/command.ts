// `imgplay boot [DIR]`: try a builds folder in a VM before a rack does. Serves DIR itself (or uses a
// running `imgplay serve`), PXE-boots qemu through iPXE, and waits for the catalog, a marker or a failure.
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { EXIT, OptionsError } from '../errors.js';
import { type BootGoal, bootVm, normalizeMac, randomMac } from './vm.js';
import { defaultCatalogsDir } from '../serve/catalogs.js';

interface BootCliOptions {
  server?: string;
  mac?: string;
  memory: string;
  cpus: string;
  nic: string;
  accel: 'tcg' | 'kvm';
  until: string;
  timeout: string;
  log?: string;
  quiet?: boolean;
  profiles?: string;
  catalogs?: string;
}

/** Reads `--until`: catalog, ready, login, exit, or /regex/ for a serial line. */
export function parseGoal(text: string): BootGoal {
  if (text === 'catalog' || text === 'ready' || text === 'login' || text === 'exit') return { kind: text };
  const m = /^\/(.*)\/([a-z]*)$/.exec(text);
  if (m) {
    try {
      return { kind: 'marker', pattern: new RegExp(m[1] ?? '', m[2]) };
    } catch (e) {
      throw new OptionsError(`--until ${text} is not a regular expression: ${(e as Error).message}`);
    }
  }
  throw new OptionsError(`--until ${text} is not one of catalog, ready, login, exit or /regex/`);
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new OptionsError(`${name} ${text} is not a positive whole number`);
  return n;
}

/** Adds `imgplay boot` to the CLI. */
export function registerBootCommand(program: Command, io: { out: (s: string) => void; err: (s: string) => void; setCode: (n: number) => void }): void {
  program
    .command('boot')
    .description('network-boot a qemu VM from a builds folder (or a running imgplay serve) and wait for it')
    .argument('[dir]', 'the builds folder to serve when --server is not given', 'builds')
    .option('--server <url>', 'a running imgplay serve, as this host reaches it (default: serve DIR on 127.0.0.1)')
    .option('--mac <mac>', "the VM's MAC (default: random 52:54:00:xx:xx:xx)")
    .option('--memory <MiB>', 'guest memory: the base, the overlays and the tmpfs live in it', '2048')
    .option('--cpus <n>', 'virtual CPUs', '2')
    .addOption(new Option('--nic <model>', 'qemu NIC model (its iPXE ROM comes from ipxe-qemu)').default('virtio-net-pci'))
    .addOption(new Option('--accel <accel>', 'tcg (always works) or kvm').choices(['tcg', 'kvm']).default('tcg'))
    .option('--until <goal>', 'catalog (the discovery catalog arrives), ready (the root is mounted), login, exit, or /regex/', 'catalog')
    .option('--timeout <seconds>', 'give up after this long', '600')
    .option('--log <file>', 'write the serial console here (default: boot-<mac>.log in the current folder)')
    .option('-q, --quiet', 'do not echo the serial console')
    .option('--profiles <file>', 'profiles for the server this command starts')
    .option('--catalogs <dir>', `where the server this command starts stores catalogs (default: ${defaultCatalogsDir()})`)
    .action(async (dir: string, opts: BootCliOptions) => {
      const goal = parseGoal(opts.until);
      const mac = opts.mac === undefined ? randomMac() : normalizeMac(opts.mac);
      if (mac === undefined) throw new OptionsError(`--mac ${opts.mac} is not a MAC address`);
      const timeoutSeconds = positive('--timeout', opts.timeout);
      let server = opts.server;
      let stop: (() => Promise<void>) | undefined;
      if (server === undefined) {
        const { startBootServer } = await import('../serve/server.js');
        const started = await startBootServer({
          dir: resolve(dir),
          listen: '127.0.0.1',
          port: 0,
          ...(opts.profiles ? { profiles: resolve(opts.profiles) } : {}),
          catalogs: resolve(opts.catalogs ?? defaultCatalogsDir()),
          log: (line: string) => io.err(`serve: ${line}\n`),
        });
        server = started.url;
        stop = () => started.close();
      }
      const logFile = opts.log ?? `boot-${mac.replace(/:/g, '')}.log`;
      io.err(`imgplay boot: ${mac} from ${server}, waiting for ${opts.until} (up to ${timeoutSeconds} s); serial console in ${logFile}\n`);
      try {
        const result = await bootVm({
          server,
          mac,
          memoryMiB: positive('--memory', opts.memory),
          cpus: positive('--cpus', opts.cpus),
          nic: opts.nic,
          accel: opts.accel,
          goal,
          timeoutSeconds,
          logFile,
          onLine: opts.quiet ? undefined : (line) => io.out(`${line}\n`),
        });
        const summary = `imgplay boot: ${result.outcome} after ${result.seconds} s: ${result.detail}\n`;
        if (result.outcome === 'reached') {
          io.out(summary);
          io.setCode(EXIT.ok);
        } else {
          io.err(summary);
          io.setCode(EXIT.error);
        }
      } finally {
        await stop?.();
      }
    });
}
