// Serves one artifact file: HEAD, GET, a single byte range, and conditional requests, streamed from
// disk in large reads (the base image is tens of MB and a rack asks for it all at once).
import type { Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';

// Node has no sendfile: every byte is read into a buffer and written to the socket. What costs most
// besides the copies is fresh memory, so buffers are large (few syscalls and writes per MB), reused
// from a pool (a new 512 KiB buffer is page faults and later GC), and DEPTH of them are in flight per
// download so the next read overlaps the socket write. Measured in bench/serve.ts: fs.createReadStream
// piped into the response reached 60% of nginx's throughput; this loop reaches it or more.
const CHUNK = 512 * 1024;
const DEPTH = 3;
// Idle buffers kept for the next downloads; more are made under load and left to the GC after it.
const POOL_MAX = 64;
const pool: Buffer[] = [];

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

function giveBack(buf: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

// Sends bytes start..end (inclusive) of `path`, then ends the response; stops when the client goes.
async function streamRange(res: ServerResponse, path: string, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const fh = await open(path, 'r');
  const gone = new Promise<void>((ok) => res.once('close', ok));
  try {
    const inFlight: Promise<void>[] = [];
    let pos = start;
    while (pos <= end && !res.destroyed) {
      if (inFlight.length >= DEPTH) {
        await Promise.race([inFlight.shift(), gone]);
        continue;
      }
      const buf = takeBuffer();
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error(`${path} ended at byte ${pos} while being sent (${end + 1} expected): it shrank`);
      pos += bytesRead;
      onBytes(bytesRead);
      // The buffer goes back to the pool only once the socket has taken its bytes.
      inFlight.push(new Promise<void>((ok) => res.write(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead), (err) => {
        if (!err) giveBack(buf);
        ok();
      })));
    }
    if (!res.destroyed) res.end();
  } finally {
    await fh.close();
  }
}

/** A byte range to send, inclusive at both ends; 'unsatisfiable' for 416; undefined to send the whole file. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // Multiple ranges and other units are allowed to be answered with the whole file.
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return undefined;
  return { start, end };
}

/** The validator nginx gives a static file: its mtime and size in hex. */
export function etagOf(st: Stats): string {
  return `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`;
}

function contentType(name: string): string {
  if (name.endsWith('.json')) return 'application/json';
  if (name === 'SHA256SUMS' || name.endsWith('.txt')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

function notModified(req: IncomingMessage, st: Stats, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return inm.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const since = Date.parse(ims);
    return !Number.isNaN(since) && Math.floor(st.mtimeMs / 1000) * 1000 <= since;
  }
  return false;
}

/** Answers a GET or HEAD for the file at `path`; `onBytes` hears how many body bytes went out. */
export function sendFile(req: IncomingMessage, res: ServerResponse, path: string, name: string, st: Stats, onBytes: (n: number) => void): void {
  const etag = etagOf(st);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString());
  if (notModified(req, st, etag)) {
    res.writeHead(304).end();
    return;
  }
  // If-Range names the version the client already holds part of: another version gets the whole file.
  const ifRange = req.headers['if-range'] as string | undefined;
  const rangeHeader = ifRange === undefined || ifRange === etag || Date.parse(ifRange) >= Math.floor(st.mtimeMs / 1000) * 1000 ? req.headers.range : undefined;
  const range = parseRange(rangeHeader, st.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${st.size}`, 'Content-Type': 'text/plain; charset=utf-8' });
    const body = `range ${req.headers.range ?? ''} is outside ${name} (${st.size} bytes)\n`;
    res.end(req.method === 'HEAD' ? undefined : body);
    if (req.method !== 'HEAD') onBytes(Buffer.byteLength(body));
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? st.size - 1;
  const length = st.size === 0 ? 0 : end - start + 1;
  const headers: Record<string, string | number> = { 'Content-Type': contentType(name), 'Content-Length': length };
  if (range !== undefined) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  res.writeHead(range === undefined ? 200 : 206, headers);
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  streamRange(res, path, start, end, onBytes).catch((err: unknown) => res.destroy(err as Error));
}
