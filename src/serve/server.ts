// The HTTP boot server: artifacts from a builds folder (also under RackHD's /common/), iPXE scripts
// rendered per MAC from the profiles, and the catalog API the discovery overlay reports to.
import { EventEmitter } from 'node:events';
import { lstat, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { scanBuilds, type BuildsFolder } from './artifacts.js';
import { catalogProblem, CatalogStore, type CatalogInfo } from './catalogs.js';
import { answerClientError, decodeSegment, drainAfterAnswer, HttpError, printable, requestTarget } from './http-guard.js';
import { bootScript, chainScript } from './ipxe.js';
import { checkingInterval, PIPELINE_DEPTH, resolveLimits, type ServeLimits } from './limits.js';
import { normalizeMac } from './mac.js';
import { loadProfiles, profileFor, profileProblems, resolveProfiles, ServeSetupError, type ProfileSet } from './profiles.js';
import { sendFile } from './static.js';

/** How to run a boot server. The limits (timeouts, connection cap, upload memory) default to SERVE_LIMITS. */
export interface BootServerOptions extends Partial<ServeLimits> {
  /** The builds folder. */
  dir: string;
  /** Address to listen on (default 127.0.0.1). */
  listen?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** A profiles YAML file. */
  profiles?: string;
  /** Where catalogs are stored: never inside the builds folder, whose files are served and replaced by builds
   * (the commands default to defaultCatalogsDir()). */
  catalogs: string;
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

// Host headers only ever hold a host and a port: anything else must not reach an iPXE script.
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

// Reads a request body of at most `limit` bytes. Past the limit it stops reading and throws 413; the
// caller's answer goes out and drainAfterAnswer deals with the rest.
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((ok, fail) => {
    if (req.destroyed) {
      fail(new HttpError(400, 'the client went away before its body was read'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        fail(new HttpError(413, `the catalog is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      ok(Buffer.concat(chunks, size));
    };
    const onClose = () => {
      done();
      fail(new HttpError(400, `the client went away after ${size} bytes of its body`));
    };
    const done = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('close', onClose);
      req.pause();
    };
    req.on('data', onData);
    req.once('end', onEnd);
    // 'close' after 'end' is the normal order; alone, it is an aborted upload.
    req.once('close', onClose);
  });
}

// What one request has proven, for its access-log line.
interface Exchange {
  /** The MAC this request names in its URL, when that is a valid one. */
  mac?: string;
  bytes: number;
}

/** Starts serving `options.dir`; refuses (ServeSetupError) when a profile names missing files or mixes kernel versions. */
export async function startBootServer(options: BootServerOptions): Promise<BootServer> {
  const limits = resolveLimits(options);
  const dir = await realpath(options.dir).catch((err: unknown) => {
    throw new ServeSetupError(`the builds folder ${options.dir} is not there (${(err as Error).message})`, { cause: err });
  });
  const folder: BuildsFolder = await scanBuilds(dir);
  const profiles = resolveProfiles(options.profiles === undefined ? {} : await loadProfiles(options.profiles), folder);
  const problems = profileProblems(profiles, folder);
  if (problems.length > 0) throw new ServeSetupError(problems.join('\n'));
  const catalogs = new CatalogStore(resolve(options.catalogs));
  const limit = options.catalogLimit ?? DEFAULT_CATALOG_LIMIT;
  const emitter = new EventEmitter();
  const tell = (line: string) => {
    // A failing log or listener is the embedder's problem, never a reason to drop a connection or the server.
    try {
      options.log?.(line);
      emitter.emit('request', line);
    } catch {
      /* nothing sensible left to do with the line */
    }
  };
  const news = (text: string) => tell(`${new Date().toISOString()} imgplay serve: ${text}`);
  const unfinished = await catalogs.sweep();
  if (unfinished.length > 0) news(`removed ${unfinished.length} unfinished catalog write(s) from ${catalogs.dir}: ${unfinished.join(' ')}`);
  // Bytes of catalog bodies set aside in memory right now, against uploadMemory.
  const uploadBudget = Math.max(limits.uploadMemory, limit);
  let uploading = 0;

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

  async function postCatalog(req: IncomingMessage, res: ServerResponse, mac: string): Promise<number> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
      throw new HttpError(415, `a catalog must be sent as application/json, not ${printable(type) || 'without a Content-Type'}`);
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `the catalog is ${declared} bytes; the limit is ${limit}`);
    // A chunked body may grow to the limit, so that much is set aside for it.
    const reserve = Number.isFinite(declared) ? declared : limit;
    if (uploading + reserve > uploadBudget) throw new HttpError(503, 'too many catalogs are arriving at once; try again in a few seconds', { 'Retry-After': '5' });
    uploading += reserve;
    try {
      const body = await readBody(req, limit);
      const problem = catalogProblem(body);
      if (problem !== undefined) throw new HttpError(400, `the catalog for ${mac} ${problem}`);
      const info = await catalogs.put(mac, body);
      options.onCatalog?.(info);
      emitter.emit('catalog', info);
      return json(res, 201, { mac: info.mac, size: info.size });
    } finally {
      uploading -= reserve;
    }
  }

  async function catalogApi(req: IncomingMessage, res: ServerResponse, rest: string, ex: Exchange): Promise<number> {
    const head = req.method === 'HEAD';
    if (rest === '') {
      if (req.method !== 'GET' && !head) throw new HttpError(405, `${req.method} is not allowed on /api/catalog`, { Allow: 'GET, HEAD' });
      return json(res, 200, await catalogs.list(), head);
    }
    const raw = decodeSegment(rest);
    const mac = normalizeMac(raw);
    if (mac === undefined) throw new HttpError(400, `'${printable(raw)}' is not a MAC address (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff)`);
    ex.mac = mac;
    if (req.method === 'POST') return postCatalog(req, res, mac);
    if (req.method !== 'GET' && !head) throw new HttpError(405, `${req.method} is not allowed on /api/catalog/${mac}`, { Allow: 'GET, HEAD, POST' });
    const doc = await catalogs.get(mac);
    if (doc === undefined) throw new HttpError(404, `no catalog for ${mac}`);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': doc.length, 'Cache-Control': 'no-store' });
    res.end(head ? undefined : doc);
    return head ? 0 : doc.length;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, ex: Exchange): Promise<void> {
    const count = (n: number) => {
      ex.bytes += n;
    };
    const url = requestTarget(req.url ?? '/');
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
      if (mac === undefined) throw new HttpError(400, `boot.ipxe?mac=${printable(macParam)}: not a MAC address`);
      ex.mac = mac;
      count(send(res, 200, bootScript(profileFor(profiles, mac), serverName(req)), 'text/plain; charset=utf-8', head));
      return;
    }
    if (path === '/api/catalog' || path.startsWith('/api/catalog/')) {
      count(await catalogApi(req, res, path.slice('/api/catalog'.length).replace(/^\//, ''), ex));
      return;
    }
    const m = /^\/(?:common\/)?([^/]+)$/.exec(path);
    const name = m ? decodeSegment(m[1]!) : undefined;
    // Only plain names of regular files directly in the folder: no traversal, no dotfiles, no symlinks out.
    if (name === undefined || name.startsWith('.') || name.includes('/') || name.includes('\\') || name.includes('\0')) throw new HttpError(404, `${printable(path)} is not an artifact here`);
    const file = join(dir, name);
    const st = await lstat(file).catch(() => undefined);
    if (st === undefined || !st.isFile()) throw new HttpError(404, `${printable(name)} is not an artifact in ${dir}`);
    if (req.method !== 'GET' && !head) throw new HttpError(405, `${req.method} is not allowed on ${printable(name)}`, { Allow: 'GET, HEAD' });
    sendFile(req, res, file, name, st, count);
  }

  // Answers under way per connection, so a parser error on a pipelined request never writes into one.
  const answers = new WeakMap<Socket, Set<ServerResponse>>();
  const openedAt = new WeakMap<Socket, bigint>();
  const since = (t: bigint | undefined) => (t === undefined ? '-' : `${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(3)}s`);
  const clientOf = (s: Socket) => (s.remoteAddress ?? '-').replace(/^::ffff:/, '');

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const socket = req.socket;
    const ip = clientOf(socket);
    const ex: Exchange = { bytes: 0 };
    const fail = (err: unknown) => {
      try {
        if (res.headersSent || res.destroyed) {
          res.destroy();
          return;
        }
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof HttpError ? err.message : `internal error: ${(err as Error).message}`;
        ex.bytes += send(res, status, `${message}\n`, 'text/plain; charset=utf-8', req.method === 'HEAD', err instanceof HttpError ? err.headers : {});
      } catch {
        res.destroy();
      }
    };
    // Whatever a request does, it costs at most its own connection: nothing here may throw into Node's request event.
    try {
      const mine = answers.get(socket) ?? new Set<ServerResponse>();
      answers.set(socket, mine.add(res));
      // Late errors of a response whose client is gone must not become uncaught exceptions.
      res.on('error', () => undefined);
      res.once('close', () => {
        mine.delete(res);
        const status = res.headersSent ? `${res.statusCode}${res.writableFinished ? '' : ' (aborted)'}` : '- (aborted)';
        tell(`${new Date().toISOString()} ${ip} ${ex.mac ?? '-'} ${req.method} ${printable(req.url ?? '')} ${status} ${ex.bytes} ${since(started)}`);
      });
      drainAfterAnswer(req, res, socket, limits.lingerTimeout);
      const start = () => void handle(req, res, ex).catch(fail);
      // A pipelined request waits for the answers before it: Node hands its response the socket then.
      if (res.socket !== null) start();
      else if (mine.size <= PIPELINE_DEPTH) res.once('socket', start);
      else if (!socket.destroyed) {
        tell(`${new Date().toISOString()} ${ip} - - [PIPELINE_DEPTH] - 0 ${since(openedAt.get(socket))}`);
        socket.destroy();
      }
    } catch (err) {
      fail(err);
    }
  };

  const server: Server = createServer(
    {
      // Smuggling defences (one framing per request, no obsolete line folding) stay on whatever NODE_OPTIONS say.
      insecureHTTPParser: false,
      maxHeaderSize: 16 * 1024,
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      connectionsCheckingInterval: checkingInterval(limits),
      keepAliveTimeout: limits.keepAliveTimeout,
    },
    onRequest,
  );
  server.timeout = limits.idleTimeout;
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const answering = [...(answers.get(socket) ?? [])].some((r) => r.headersSent);
    const status = answerClientError(err, socket, answering);
    if (status !== undefined) tell(`${new Date().toISOString()} ${clientOf(socket)} - - [${err.code}] ${status} 0 ${since(openedAt.get(socket))}`);
  });
  // Past the cap, connections are closed as they arrive. One line a second says how many, not one each;
  // idle keep-alive connections are let go so the next clients get in.
  let dropped = 0;
  server.on('drop', () => {
    if (dropped++ > 0) return;
    server.closeIdleConnections();
    setTimeout(() => {
      news(`${dropped} connection(s) closed on arrival in the last second: ${limits.maxConnections} were open (--max-connections)`);
      dropped = 0;
    }, 1_000).unref();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    openedAt.set(s, process.hrtime.bigint());
    s.on('close', () => sockets.delete(s));
  });

  const listen = options.listen ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(new ServeSetupError(`cannot listen on ${hostPort(listen, options.port ?? 8080)}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`, { cause: err })),
    );
    server.listen(options.port ?? 8080, listen, () => ok());
  });
  // Once listening, an error (EMFILE on accept) is news for the log; the server goes on.
  server.on('error', (err: Error) => news(`server error: ${err.message}`));
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
