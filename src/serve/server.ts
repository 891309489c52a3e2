// The HTTP boot server: artifacts from a builds folder (also under RackHD's /common/), iPXE scripts
// rendered per MAC from the profiles, and the catalog API the discovery overlay reports to.
import { EventEmitter } from 'node:events';
import { lstat, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { scanBuilds, type BuildsFolder } from './artifacts.js';
import { CatalogStore, type CatalogInfo } from './catalogs.js';
import { bootScript, chainScript } from './ipxe.js';
import { normalizeMac } from './mac.js';
import { loadProfiles, profileFor, profileProblems, resolveProfiles, ServeSetupError, type ProfileSet } from './profiles.js';
import { sendFile } from './static.js';

/** How to run a boot server. */
export interface BootServerOptions {
  /** The builds folder. */
  dir: string;
  /** Address to listen on (default 127.0.0.1). */
  listen?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** A profiles YAML file. */
  profiles?: string;
  /** Where catalogs are stored (default <dir>/catalogs). */
  catalogs?: string;
  /** Largest catalog accepted, in bytes (default 16 MiB). */
  catalogLimit?: number;
  /** host:port written into iPXE scripts instead of the request's Host header. */
  advertise?: string;
  /** One line per request (and other news), without a trailing newline. */
  log?: (line: string) => void;
  /** Called when a catalog has been stored. */
  onCatalog?: (catalog: CatalogInfo) => void;
}

/** A running boot server. Emits 'catalog' (CatalogInfo) and 'request' (the log line). */
export interface BootServer extends EventEmitter {
  /** http://address:port as this host reaches it. */
  url: string;
  port: number;
  address: string;
  /** The profiles in force (after defaults). */
  profiles: ProfileSet;
  close(): Promise<void>;
}

export const DEFAULT_CATALOG_LIMIT = 16 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

// Host headers only ever hold a host and a port: anything else must not reach an iPXE script.
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `the catalog is ${declared} bytes; the limit is ${limit}`, { Connection: 'close' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the catalog is over the limit of ${limit} bytes`, { Connection: 'close' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Starts serving `options.dir`; refuses (ServeSetupError) when a profile names missing files or mixes kernel versions. */
export async function startBootServer(options: BootServerOptions): Promise<BootServer> {
  const dir = await realpath(options.dir).catch((err: unknown) => {
    throw new ServeSetupError(`the builds folder ${options.dir} is not there (${(err as Error).message})`, { cause: err });
  });
  const folder: BuildsFolder = await scanBuilds(dir);
  const profiles = resolveProfiles(options.profiles === undefined ? {} : await loadProfiles(options.profiles), folder);
  const problems = profileProblems(profiles, folder);
  if (problems.length > 0) throw new ServeSetupError(problems.join('\n'));
  const catalogs = new CatalogStore(resolve(options.catalogs ?? join(dir, 'catalogs')));
  const limit = options.catalogLimit ?? DEFAULT_CATALOG_LIMIT;
  const log = options.log ?? (() => undefined);
  const emitter = new EventEmitter();
  // The MAC behind each client address, learnt from boot.ipxe?mac= and catalog posts, for the log.
  const macOf = new Map<string, string>();

  const serverName = (req: IncomingMessage): string => {
    if (options.advertise !== undefined) return options.advertise;
    const host = req.headers.host;
    if (host !== undefined && HOST_HEADER.test(host)) return host;
    const sock = req.socket;
    return hostPort(sock.localAddress ?? '127.0.0.1', sock.localPort ?? 80);
  };

  const send = (res: ServerResponse, status: number, body: string, type: string, head: boolean, headers: Record<string, string> = {}): number => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
    res.end(head ? undefined : body);
    return head ? 0 : Buffer.byteLength(body);
  };
  const json = (res: ServerResponse, status: number, value: unknown, head = false) => send(res, status, `${JSON.stringify(value)}\n`, 'application/json', head);

  async function catalogApi(req: IncomingMessage, res: ServerResponse, rest: string, ip: string): Promise<number> {
    const head = req.method === 'HEAD';
    if (rest === '') {
      if (req.method !== 'GET' && !head) throw new HttpError(405, `${req.method} is not allowed on /api/catalog`, { Allow: 'GET, HEAD' });
      return json(res, 200, await catalogs.list(), head);
    }
    const raw = decodeURIComponent(rest);
    const mac = normalizeMac(raw);
    if (mac === undefined) throw new HttpError(400, `'${raw}' is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff)`);
    if (req.method === 'POST') {
      macOf.set(ip, mac);
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
        throw new HttpError(415, `a catalog must be sent as application/json, not ${type || 'without a Content-Type'}`, { Connection: 'close' });
      }
      const body = await readBody(req, limit);
      let doc: unknown;
      try {
        doc = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new HttpError(400, `the catalog for ${mac} is not JSON: ${(err as Error).message}`);
      }
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new HttpError(400, `the catalog for ${mac} must be a JSON object, not ${Array.isArray(doc) ? 'an array' : doc === null ? 'null' : typeof doc}`);
      const info = await catalogs.put(mac, body);
      options.onCatalog?.(info);
      emitter.emit('catalog', info);
      return json(res, 201, { mac: info.mac, size: info.size });
    }
    if (req.method !== 'GET' && !head) throw new HttpError(405, `${req.method} is not allowed on /api/catalog/${mac}`, { Allow: 'GET, HEAD, POST' });
    const doc = await catalogs.get(mac);
    if (doc === undefined) throw new HttpError(404, `no catalog for ${mac}`);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': doc.length, 'Cache-Control': 'no-store' });
    res.end(head ? undefined : doc);
    return head ? 0 : doc.length;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, ip: string, count: (n: number) => void): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const head = req.method === 'HEAD';
    if (path === '/boot.ipxe') {
      if (req.method !== 'GET' && !head) throw new HttpError(405, `${req.method} is not allowed on /boot.ipxe`, { Allow: 'GET, HEAD' });
      const macParam = url.searchParams.get('mac');
      if (macParam === null || macParam === '') {
        count(send(res, 200, chainScript(serverName(req)), 'text/plain; charset=utf-8', head));
        return;
      }
      const mac = normalizeMac(macParam);
      if (mac === undefined) throw new HttpError(400, `boot.ipxe?mac=${macParam}: not a MAC address`);
      macOf.set(ip, mac);
      count(send(res, 200, bootScript(profileFor(profiles, mac), serverName(req)), 'text/plain; charset=utf-8', head));
      return;
    }
    if (path === '/api/catalog' || path.startsWith('/api/catalog/')) {
      count(await catalogApi(req, res, path.slice('/api/catalog'.length).replace(/^\//, ''), ip));
      return;
    }
    const m = /^\/(?:common\/)?([^/]+)$/.exec(path);
    let name: string | undefined;
    try {
      name = m ? decodeURIComponent(m[1]!) : undefined;
    } catch {
      name = undefined;
    }
    // Only plain names of regular files directly in the folder: no traversal, no dotfiles, no symlinks out.
    if (name === undefined || name.startsWith('.') || name.includes('/') || name.includes('\\') || name.includes('\0')) throw new HttpError(404, `${path} is not an artifact here`);
    const file = join(dir, name);
    const st = await lstat(file).catch(() => undefined);
    if (st === undefined || !st.isFile()) throw new HttpError(404, `${name} is not an artifact in ${dir}`);
    if (req.method !== 'GET' && !head) throw new HttpError(405, `${req.method} is not allowed on ${name}`, { Allow: 'GET, HEAD' });
    sendFile(req, res, file, name, st, count);
  }

  const server: Server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    const ip = (req.socket.remoteAddress ?? '-').replace(/^::ffff:/, '');
    let bytes = 0;
    const count = (n: number) => {
      bytes += n;
    };
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = `${res.statusCode}${res.writableFinished ? '' : ' (aborted)'}`;
      const line = `${new Date().toISOString()} ${ip} ${macOf.get(ip) ?? '-'} ${req.method} ${req.url} ${status} ${bytes} ${seconds.toFixed(3)}s`;
      log(line);
      emitter.emit('request', line);
    });
    handle(req, res, ip, count).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy(err as Error);
        return;
      }
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : `internal error: ${(err as Error).message}`;
      count(send(res, status, `${message}\n`, 'text/plain; charset=utf-8', req.method === 'HEAD', err instanceof HttpError ? err.headers : {}));
      // A refused upload is not read to its end: the connection goes, so the rest of the body cannot be taken for a request.
      if (err instanceof HttpError && err.headers.Connection === 'close') res.on('finish', () => req.socket.end());
    });
  });
  server.keepAliveTimeout = 65_000;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const listen = options.listen ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(new ServeSetupError(`cannot listen on ${hostPort(listen, options.port ?? 8080)}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`, { cause: err })),
    );
    server.listen(options.port ?? 8080, listen, () => ok());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '::1' : addr.address;
  return Object.assign(emitter, {
    url: `http://${hostPort(shown, addr.port)}`,
    port: addr.port,
    address: addr.address,
    profiles,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        // Idle keep-alive connections and half-done downloads must not hold a shutdown open.
        server.closeIdleConnections();
        for (const s of sockets) s.destroy();
      }),
  });
}

