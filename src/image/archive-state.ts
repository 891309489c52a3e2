// The state of a Debian archive suite, as one digest: the sha256 of its InRelease (else Release) file, which
// names every index and so every package version the suite holds. A mirror update changes it.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ImgplayError } from '../errors.js';

const TIMEOUT_MS = 30_000;
// InRelease files are a few hundred KB; anything far larger is not one.
const MAX_BYTES = 16 * 1024 * 1024;

/** The digest ('sha256:<hex>') of a suite's InRelease (or Release) file, fetched through `proxy` when given. */
export async function suiteDigest(uri: string, suite: string, proxy?: string, signal?: AbortSignal): Promise<string> {
  // A flat repository (`deb file:/srv/repo ./`) keeps its Release files under the suite path itself.
  const base = suite.endsWith('/') ? `${uri.replace(/\/+$/, '')}/${suite.replace(/\/+$/, '')}` : `${uri.replace(/\/+$/, '')}/dists/${suite}`;
  let lastErr: unknown;
  for (const name of ['InRelease', 'Release']) {
    try {
      const bytes = await fetchBytes(`${base}/${name}`, proxy, MAX_BYTES, signal);
      return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    } catch (err) {
      lastErr = err;
    }
  }
  throw new ImgplayError(`cannot read the state of ${base}: ${(lastErr as Error).message}`, { cause: lastErr });
}

/** The bytes at a file:, http: or https: URL (http through `proxy` when given), refused beyond `maxBytes`. */
export async function fetchBytes(url: string, proxy?: string, maxBytes = MAX_BYTES, signal?: AbortSignal): Promise<Buffer> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    const body = await readFile(fileURLToPath(u));
    if (body.length > maxBytes) throw new Error(`${url}: larger than ${maxBytes} bytes`);
    return body;
  }
  if (u.protocol === 'http:' && proxy) return viaProxy(u, proxy, maxBytes, signal);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${url}: imgplay fetches only file:, http: and https: URLs`);
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const res = await fetch(u, { signal: signal ? AbortSignal.any([timeout, signal]) : timeout, redirect: 'follow' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > maxBytes) throw new Error(`${url}: larger than ${maxBytes} bytes`);
  return body;
}

// Node's fetch ignores http_proxy; apt-cacher-ng and other apt proxies take the absolute URL as the path.
function viaProxy(u: URL, proxy: string, maxBytes: number, signal: AbortSignal | undefined): Promise<Buffer> {
  const p = new URL(/^\w+:\/\//.test(proxy) ? proxy : `http://${proxy}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: p.hostname, port: p.port || 80, path: u.href, headers: { host: u.host }, timeout: TIMEOUT_MS, ...(signal ? { signal } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${u.href} through ${p.host}: HTTP ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) req.destroy(new Error(`${u.href}: larger than ${maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${u.href} through ${p.host}: no answer in ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}
