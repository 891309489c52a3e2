// `imgplay serve [DIR]`: the boot server in front of a builds folder, until SIGINT or SIGTERM.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT, OptionsError } from '../errors.js';
import { ServeSetupError } from './profiles.js';
import { defaultCatalogsDir } from './catalogs.js';
import { SERVE_LIMITS } from './limits.js';
import { DEFAULT_CATALOG_LIMIT, startBootServer } from './server.js';

interface ServeCliOptions {
  listen: string;
  port: string;
  profiles?: string;
  catalogs?: string;
  catalogLimit: string;
  maxConnections: string;
  advertise?: string;
}

function wholeNumber(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n > max) throw new OptionsError(`${name} ${text} is not a whole number from 0 to ${max}`);
  return n;
}

/** Adds `imgplay serve` to the CLI. */
export function registerServeCommand(program: Command, io: { out: (s: string) => void; err: (s: string) => void; setCode: (n: number) => void }): void {
  program
    .command('serve')
    .description('serve a builds folder to netbooting machines: artifacts, iPXE scripts per MAC, and the catalog API')
    .argument('[dir]', 'the builds folder', 'builds')
    .option('--listen <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', '8080')
    .option('--profiles <file>', 'profiles YAML: which kernel, base and overlays each MAC or group boots')
    .option('--catalogs <dir>', `where POSTed catalogs are stored (default: ${defaultCatalogsDir()})`)
    .option('--catalog-limit <bytes>', 'largest catalog accepted', String(DEFAULT_CATALOG_LIMIT))
    .option('--max-connections <n>', 'connections open at once; more are closed as they arrive', String(SERVE_LIMITS.maxConnections))
    .option('--advertise <host:port>', "the address written into iPXE scripts (default: the request's Host header)")
    .action(async (dir: string, opts: ServeCliOptions) => {
      const port = wholeNumber('--port', opts.port, 65535);
      const catalogLimit = wholeNumber('--catalog-limit', opts.catalogLimit, Number.MAX_SAFE_INTEGER);
      const maxConnections = wholeNumber('--max-connections', opts.maxConnections, 1_000_000);
      if (maxConnections === 0) throw new OptionsError('--max-connections 0 would refuse every client');
      if (opts.advertise !== undefined && !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(opts.advertise)) {
        throw new OptionsError(`--advertise ${opts.advertise} is not host:port`);
      }
      const folder = resolve(dir);
      let server;
      try {
        server = await startBootServer({
          dir: folder,
          listen: opts.listen,
          port,
          catalogLimit,
          maxConnections,
          ...(opts.profiles !== undefined ? { profiles: resolve(opts.profiles) } : {}),
          catalogs: resolve(opts.catalogs ?? defaultCatalogsDir()),
          ...(opts.advertise !== undefined ? { advertise: opts.advertise } : {}),
          log: (line) => io.err(`${line}\n`),
          onCatalog: (c) => io.err(`imgplay serve: catalog for ${c.mac} stored (${c.size} bytes)\n`),
        });
      } catch (e) {
        // Profile files' own errors carry file:line:col and are reported by the CLI like any YAML error.
        if (!(e instanceof ServeSetupError)) throw e;
        io.err(`imgplay serve: ${e.message.split('\n').join('\nimgplay serve: ')}\n`);
        io.setCode(EXIT.error);
        return;
      }
      const at = server.address.includes(':') ? `[${server.address}]` : server.address;
      io.out(`imgplay serve: serving ${folder} at http://${at}:${server.port}/ (boot script: /boot.ipxe)\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.removeListener('SIGINT', stop);
          process.removeListener('SIGTERM', stop);
          done();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
      io.err('imgplay serve: stopped\n');
      io.setCode(EXIT.ok);
    });
}
