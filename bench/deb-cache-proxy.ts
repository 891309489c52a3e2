// A minimal caching HTTP proxy for apt, so the benchmark can measure an overlay build with its .debs
// already downloaded (what an apt-cacher-ng gives a real build host) without installing one.
// Only .deb files are cached: they are immutable by name in a Debian archive, while index files change.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** A running proxy: its host:port (the form apt_proxy takes), what it served, and how to stop it. */
export interface DebCacheProxy {
  hostPort: string;
  stats: { hits: number; misses: number; passed: number };
  close(): Promise<void>;
}

// Request headers that describe the hop to the proxy, not the request to the origin.
const HOP_HEADERS = new Set(['proxy-connection', 'proxy-authorization', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade']);

/** Starts a proxy on 127.0.0.1 that keeps every .deb it fetches in `cacheDir` and serves repeats from there. */
export async function startDebCacheProxy(cacheDir: string): Promise<DebCacheProxy> {
  const stats = { hits: 0, misses: 0, passed: 0 };
  const server: Server = createServer((req, res) => {
    handle(req, res, cacheDir, stats).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`deb cache proxy: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    hostPort: `127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, cacheDir: string, stats: DebCacheProxy['stats']): Promise<void> {
  const url = new URL(req.url ?? '/');
  if (url.protocol !== 'http:') throw new Error(`only http:// URLs can be proxied, got ${req.url}`);
  const cacheable = req.method === 'GET' && url.pathname.endsWith('.deb');
  const file = join(cacheDir, createHash('sha256').update(url.href).digest('hex'));
  if (cacheable) {
    const st = await stat(file).catch(() => undefined);
    if (st !== undefined) {
      stats.hits++;
      res.writeHead(200, { 'content-type': 'application/vnd.debian.binary-package', 'content-length': st.size });
      await pipeline(createReadStream(file), res);
      return;
    }
    stats.misses++;
  } else stats.passed++;
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !HOP_HEADERS.has(k)));
  const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
    const out = request(url, { method: req.method, headers }, resolve);
    out.on('error', reject);
    req.pipe(out);
  });
  res.writeHead(upstream.statusCode ?? 502, upstream.headers);
  if (!cacheable || upstream.statusCode !== 200) {
    await pipeline(upstream, res);
    return;
  }
  // Written under a temporary name and renamed when complete: a cut-off download is never served.
  const tmp = `${file}.part-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const sink = createWriteStream(tmp);
  upstream.on('data', (chunk: Buffer) => sink.write(chunk));
  try {
    await pipeline(upstream, res);
    await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await rename(tmp, file);
  } catch (err) {
    sink.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}
