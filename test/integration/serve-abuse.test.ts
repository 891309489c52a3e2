// `imgplay serve` under abuse, over real sockets on 127.0.0.1: bodies over the limit, broken %-escapes,
// garbage and smuggling, slow and stalled clients, floods of connections, uploads cut off and servers
// killed mid-write. The server runs as a process of its own with short timeouts; after every abuse it
// must still be running and still serve a boot script and an artifact byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, watch } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const KV = '6.1.0-28-amd64';
const BASE = `base.bookworm.${KV}.squashfs.img`;
const BIG = 'big.overlay.cpio.gz';
const base = randomBytes(64 * 1024);
const big = randomBytes(16 * 1024 * 1024);
// Short enough for a fast test, in the same proportions as the production defaults (limits.ts).
const LIMITS = { catalogLimit: 4096, headersTimeout: 1000, requestTimeout: 2000, idleTimeout: 1500, keepAliveTimeout: 500, lingerTimeout: 300 };
// What a loaded 2-core machine may add to any deadline.
const SLACK = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Served {
  port: number;
  log: string[];
  child: ResultPromise;
  running(): boolean;
  stop(): Promise<void>;
}

// Starts test/integration/serve-abuse/server.ts on `dir` with these startBootServer options.
function serve(dir: string, options: Record<string, unknown>): Promise<Served> {
  return spawnServer(['server.ts', dir, JSON.stringify(options)], /^(\d+)\n/);
}

// Starts `imgplay serve` with these arguments, as the command line does (serve-abuse/cli.ts).
function serveCli(args: string[]): Promise<Served> {
  return spawnServer(['cli.ts', 'serve', '--catalogs', `${args[0]}.catalogs`, ...args], /^imgplay serve: serving .* at http:\/\/127\.0\.0\.1:(\d+)\//);
}

// Runs a fixture from serve-abuse/ under tsx and waits for `listening` on its stdout, which captures the port.
async function spawnServer([script, ...args]: string[], listening: RegExp): Promise<Served> {
  const child = execa('node', ['--import', 'tsx', join(here, 'serve-abuse', script!), ...args], {
    cwd: join(here, '..', '..'),
    reject: false,
    buffer: false,
  });
  const log: string[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    log.push(...lines);
  });
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = listening.exec(out);
      if (m) ok(Number(m[1]));
    });
    void child.then((r) => fail(new Error(`the server exited (${r.exitCode ?? r.signal}) before listening:\n${log.join('\n')}${partial}`)));
  });
  return {
    port,
    log,
    child,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}

// Waits (boundedly) for a log line matching `pattern`: the server's stderr arrives a little after its answers.
async function logLine(s: Served, pattern: RegExp): Promise<string | undefined> {
  for (let i = 0; i < 50; i++) {
    const line = s.log.find((l) => pattern.test(l));
    if (line !== undefined) return line;
    await sleep(50);
  }
  return undefined;
}

interface Reply {
  text: string;
  status: number | undefined;
  /** When the server closed (or reset) the connection, in ms from connecting; undefined if it was still open at the end. */
  closedAfterMs: number | undefined;
}

// Writes `pieces` to a new connection, `gapMs` apart, then half-closes it unless `end` is false, and reads until
// the server closes it or `waitMs` has passed.
function exchange(port: number, pieces: (string | Buffer)[], { gapMs = 0, waitMs = 3000, end = true } = {}): Promise<Reply> {
  return new Promise((ok) => {
    const started = Date.now();
    const sock = connect(port, '127.0.0.1');
    let text = '';
    let closedAfterMs: number | undefined;
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      sock.destroy();
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      ok({ text, status: m ? Number(m[1]) : undefined, closedAfterMs });
    };
    const writeNext = () => {
      if (sock.destroyed || sock.writableEnded) return;
      if (next >= pieces.length) {
        if (end) sock.end();
        return;
      }
      sock.write(pieces[next++]!);
      timer = setTimeout(writeNext, gapMs);
    };
    const deadline = setTimeout(finish, waitMs);
    sock.on('connect', writeNext);
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    // A reset is an answer too: what arrived before it is what counts.
    sock.on('error', () => undefined);
    sock.on('close', () => {
      closedAfterMs = Date.now() - started;
      finish();
    });
  });
}

// An HTTP request on a connection of its own: status, headers and body.
function http(port: number, method: string, path: string, { headers = {}, body }: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.end(body);
  });
}

async function expectServing(s: Served): Promise<void> {
  expect(s.running(), `the server exited:\n${s.log.join('\n')}`).toBe(true);
  const chain = await http(s.port, 'GET', '/boot.ipxe', { headers: { Host: '10.0.2.2:8080' } });
  expect(chain.status).toBe(200);
  expect(chain.body.toString()).toBe('#!ipxe\nchain http://10.0.2.2:8080/boot.ipxe?mac=${netX/mac}\n');
  const artifact = await http(s.port, 'GET', `/common/${BASE}`);
  expect(artifact.status).toBe(200);
  expect(artifact.body.equals(base)).toBe(true);
}

// Opens `n` connections at once and leaves each `sent` written; resolves once all are connected or closed.
async function openMany(port: number, n: number, sent: string): Promise<{ sockets: Socket[]; closed: Set<Socket>; replies: Map<Socket, string> }> {
  const closed = new Set<Socket>();
  const replies = new Map<Socket, string>();
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((ok) => {
          const s = connect(port, '127.0.0.1');
          s.on('data', (d: Buffer) => replies.set(s, (replies.get(s) ?? '') + d.toString('latin1')));
          s.on('error', () => undefined);
          s.on('close', () => {
            closed.add(s);
            ok(s);
          });
          s.on('connect', () => {
            s.write(sent);
            ok(s);
          });
        }),
    ),
  );
  return { sockets, closed, replies };
}

async function untilTrue(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return true;
    await sleep(25);
  }
  return what();
}

const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
const postHead = (mac: string, framing: string) => `POST /api/catalog/${mac} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`;

let builds: string;
// One server for most abuse, one with a small connection cap and little memory for uploads, and one run
// as the command line runs it (killed in the end): started together, they start sooner.
let main: Served;
let small: Served;
let cli: Served;

beforeAll(async () => {
  builds = await mkdtemp(join(tmpdir(), 'imgplay-serve-abuse-'));
  await writeFile(join(builds, `vmlinuz-${KV}`), randomBytes(1000));
  await writeFile(join(builds, `initrd.img-${KV}`), randomBytes(1000));
  await writeFile(join(builds, BASE), base);
  await writeFile(join(builds, BIG), big);
  [main, small, cli] = await Promise.all([
    serve(builds, LIMITS),
    serve(builds, { ...LIMITS, maxConnections: 20, uploadMemory: 2 * LIMITS.catalogLimit }),
    serveCli([builds, '--port', '0', '--max-connections', '3']),
  ]);
});

afterAll(async () => {
  await Promise.all([main?.stop(), small?.stop(), cli?.stop()]);
  if (builds) await rm(builds, { recursive: true, force: true });
  if (builds) await rm(`${builds}.catalogs`, { recursive: true, force: true });
});

describe('imgplay serve under abuse', () => {
  let s: Served;

  beforeAll(() => {
    s = main;
  });

  afterEach(async () => {
    await expectServing(s);
  });

  describe('bodies over the catalog limit', () => {
    it('answers 413 to a Content-Length over the limit before reading the body, and lets the connection go', async () => {
      const r = await exchange(s.port, [postHead('52:54:00:00:01:01', 'Content-Length: 1000000'), '{"pad":"'], { end: false });
      expect(r.status).toBe(413);
      expect(r.closedAfterMs).toBeLessThan(LIMITS.lingerTimeout + SLACK);
      expect(existsSync(join(`${builds}.catalogs`, '52:54:00:00:01:01.json'))).toBe(false);
    });

    it('answers 413 to a chunked body once it grows past the limit, while the client is still sending', async () => {
      const pieces = [postHead('52:54:00:00:01:02', 'Transfer-Encoding: chunked'), ...Array.from({ length: 100 }, () => chunk('x'.repeat(100)))];
      const r = await exchange(s.port, pieces, { gapMs: 10, end: false, waitMs: 5000 });
      expect(r.status).toBe(413);
      expect(r.text).toContain('over the limit of 4096 bytes');
      // The rest of the body is read and dropped for the linger time, then the connection goes.
      expect(r.closedAfterMs).toBeLessThan(100 * 10 + LIMITS.lingerTimeout + SLACK);
      expect(existsSync(join(`${builds}.catalogs`, '52:54:00:00:01:02.json'))).toBe(false);
    });

    it('answers 413 to a chunked body past the limit that then ends, and never takes its rest for a request', async () => {
      const smuggled = `GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`;
      const pieces = [postHead('52:54:00:00:01:03', 'Transfer-Encoding: chunked'), ...Array.from({ length: 50 }, () => chunk(`${smuggled}${'x'.repeat(60)}`)), '0\r\n\r\n', 'GET /boot.ipxe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'];
      const r = await exchange(s.port, pieces);
      expect(r.status).toBe(413);
      // The connection goes on with the request after the body, and only that one.
      expect(r.text.match(/^HTTP\/1\.1 \d{3} /gm)).toEqual(['HTTP/1.1 413 ', 'HTTP/1.1 200 ']);
      expect(r.text).toContain('#!ipxe\nchain ');
      expect(s.log.some((l) => l.includes('/smuggled'))).toBe(false);
    });
  });

  it('refuses a catalog nested deeper than 512 levels with 400', async () => {
    const body = `{"a":${'['.repeat(600)}${']'.repeat(600)}}`;
    const r = await http(s.port, 'POST', '/api/catalog/52:54:00:00:01:04', { headers: { 'Content-Type': 'application/json' }, body });
    expect(r.status).toBe(400);
    expect(r.body.toString()).toBe('the catalog for 52:54:00:00:01:04 nests deeper than 512 levels\n');
  });

  describe('malformed %-escapes', () => {
    it.each([
      ['GET', '/api/catalog/%zz'],
      ['POST', '/api/catalog/%zz'],
      ['HEAD', '/api/catalog/%zz'],
      ['GET', '/api/catalog/%'],
      ['GET', '/api/catalog/%E0%A4%A'],
      ['GET', '/api/catalog/%ff%fe'],
      ['GET', '/api/%zz/catalog'],
      ['GET', '/%zz'],
      ['GET', '/%ff'],
      ['GET', '/common/%zz'],
      ['GET', `/common/${BASE}%`],
      ['GET', '/boot.ipxe?mac=%zz'],
      ['GET', '/boot.ipxe?mac=52%3A54%3A00%3A12%3A34%3Azz'],
      ['GET', '/boot.ipxe?other=%'],
    ])('answers %s %s with 400, not 500', async (method, path) => {
      const post = method === 'POST' ? 'Content-Type: application/json\r\nContent-Length: 2\r\n' : '';
      const r = await exchange(s.port, [`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${post}\r\n${post ? '{}' : ''}`]);
      expect(r.status, r.text).toBe(400);
      expect(r.text).not.toContain('internal error');
    });
  });

  describe('garbage and smuggling', () => {
    it.each([
      { what: 'bytes that are not HTTP', text: '\x00\x01\x02 hello\r\n\r\n', status: 400 },
      { what: 'a request line ended by a bare LF', text: 'GET / HTTP/1.1\nHost: x\n\n', status: 400 },
      { what: 'an unknown method', text: 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
      { what: 'an escape character in the path', text: 'GET /a\x1b[31m HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
      { what: 'bytes over 0x7f in the path', text: 'GET /a\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
      { what: 'headers over 16 KiB', text: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431 },
      { what: 'a header folded over two lines', text: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', status: 400 },
      { what: 'a space before a header colon', text: 'POST /api/catalog/52:54:00:00:02:01 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', status: 400 },
      { what: 'a chunk size that is not hex', text: `${postHead('52:54:00:00:02:02', 'Transfer-Encoding: chunked')}zz\r\n`, status: 400 },
      { what: 'a negative Content-Length', text: `${postHead('52:54:00:00:02:03', 'Content-Length: -1')}`, status: 400 },
      { what: 'no Host header', text: 'GET /boot.ipxe HTTP/1.1\r\n\r\n', status: 400 },
      { what: 'an absolute URL that does not parse', text: 'GET http://[/ HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
      { what: 'the target *', text: 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
      { what: 'an HTTP/2 preface', text: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 400 },
    ])('answers $what with $status and closes the connection', async ({ text, status }) => {
      const r = await exchange(s.port, [Buffer.from(text, 'latin1')]);
      expect(r.status, r.text).toBe(status);
      expect(r.closedAfterMs).toBeDefined();
    });

    it('closes a CONNECT without an answer: it is no proxy', async () => {
      const r = await exchange(s.port, ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n']);
      expect(r.text).toBe('');
      expect(r.closedAfterMs).toBeDefined();
    });

    it('logs what the parser refused, with the reason', async () => {
      await exchange(s.port, ['BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n']);
      expect(await logLine(s, / 127\.0\.0\.1 - - \[HPE_INVALID_METHOD\] 400 0 \d+\.\d{3}s$/)).toBeDefined();
    });

    it.each([
      ['both Content-Length and Transfer-Encoding', 'Content-Length: 4\r\nTransfer-Encoding: chunked'],
      ['two different Content-Lengths', 'Content-Length: 4\r\nContent-Length: 42'],
      ['chunked not as the last transfer coding', 'Transfer-Encoding: chunked, gzip'],
    ])('refuses a request with %s, and serves nothing hidden behind it', async (_what, framing) => {
      const hidden = 'GET /smuggled-by-framing HTTP/1.1\r\nHost: x\r\n\r\n';
      const r = await exchange(s.port, [`${postHead('52:54:00:00:02:04', framing)}0\r\n\r\n${hidden}`]);
      expect(r.status).toBe(400);
      expect(r.text.match(/^HTTP\/1\.1 /gm)).toHaveLength(1);
      await sleep(100);
      expect(s.log.some((l) => l.includes('/smuggled-by-framing'))).toBe(false);
    });
  });

  describe('slow and stalled clients', () => {
    it('closes clients that dribble their headers byte by byte with 408 after the header timeout, serving others meanwhile', async () => {
      const head = [...`GET /boot.ipxe HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(400)}`];
      const slow = Array.from({ length: 5 }, () => exchange(s.port, head, { gapMs: 20, end: false, waitMs: LIMITS.headersTimeout + SLACK }));
      const silent = exchange(s.port, [], { end: false, waitMs: LIMITS.headersTimeout + SLACK });
      for (let i = 0; i < 4; i++) await expectServing(s);
      for (const r of await Promise.all([...slow, silent])) {
        expect(r.status).toBe(408);
        expect(r.closedAfterMs).toBeGreaterThanOrEqual(LIMITS.headersTimeout - 50);
      }
    });

    it('cuts a catalog upload dribbled past the request timeout with 408, storing nothing', async () => {
      const mac = '52:54:00:00:03:01';
      const r = await exchange(s.port, [postHead(mac, 'Content-Length: 2000'), ...'{"pad":"'.padEnd(2000, 'x')], { gapMs: 20, end: false, waitMs: LIMITS.requestTimeout + SLACK });
      expect(r.status).toBe(408);
      expect(r.closedAfterMs).toBeGreaterThanOrEqual(LIMITS.requestTimeout - 50);
      expect(existsSync(join(`${builds}.catalogs`, `${mac}.json`))).toBe(false);
    });

    it('closes a download whose client stopped reading after the idle timeout, and never cuts a slow one that keeps reading', async () => {
      const stalled = connect(s.port, '127.0.0.1');
      stalled.on('error', () => undefined);
      stalled.pause();
      stalled.write(`GET /${BIG} HTTP/1.1\r\nHost: x\r\n\r\n`);
      // 16 MiB at about 6 MiB/s: longer than the request timeout, and longer than the idle timeout.
      const started = Date.now();
      const slow = await new Promise<{ status: number; sha: string }>((ok, fail) => {
        const req = request({ host: '127.0.0.1', port: s.port, path: `/${BIG}`, agent: false }, (res) => {
          const hash = createHash('sha256');
          let got = 0;
          res.on('data', (c: Buffer) => {
            hash.update(c);
            got += c.length;
            const ahead = got / (6 * 1024 * 1024) - (Date.now() - started) / 1000;
            if (ahead > 0) {
              res.pause();
              setTimeout(() => res.resume(), ahead * 1000);
            }
          });
          res.on('end', () => ok({ status: res.statusCode!, sha: hash.digest('hex') }));
          res.on('error', fail);
        });
        req.on('error', fail);
        req.end();
      });
      expect(slow.status).toBe(200);
      expect(slow.sha).toBe(createHash('sha256').update(big).digest('hex'));
      expect(Date.now() - started).toBeGreaterThan(LIMITS.requestTimeout);
      expect(await logLine(s, new RegExp(`GET /${BIG} 200 \\(aborted\\) `))).toBeDefined();
      // The stalled client finds its connection closed once it reads again, short of the whole file.
      let got = 0;
      stalled.on('data', (c: Buffer) => (got += c.length));
      stalled.resume();
      expect(await untilTrue(() => stalled.destroyed, SLACK)).toBe(true);
      expect(got).toBeLessThan(big.length);
    });
    it('cuts only that download when its file shrinks while it is being sent', async () => {
      const name = 'shrinking.overlay.cpio.gz';
      await writeFile(join(builds, name), big);
      try {
        const sock = connect(s.port, '127.0.0.1');
        sock.on('error', () => undefined);
        let got = 0;
        const first = new Promise<void>((ok) =>
          sock.once('data', (c: Buffer) => {
            got += c.length;
            sock.pause();
            ok();
          }),
        );
        sock.write(`GET /${name} HTTP/1.1\r\nHost: x\r\n\r\n`);
        await first;
        await truncate(join(builds, name), 1024 * 1024);
        sock.on('data', (c: Buffer) => (got += c.length));
        sock.resume();
        expect(await untilTrue(() => sock.destroyed, SLACK)).toBe(true);
        expect(got).toBeLessThan(big.length);
        expect(await logLine(s, new RegExp(`GET /${name} 200 \\(aborted\\) `))).toBeDefined();
      } finally {
        await rm(join(builds, name), { force: true });
      }
    });
  });

  describe('pipelining', () => {
    it('answers pipelined requests in order', async () => {
      const r = await exchange(s.port, [`GET /boot.ipxe?mac=${'52:54:00:00:07:01'} HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\n\r\nGET /common/${BASE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], { end: false });
      expect(r.text.match(/^HTTP\/1\.1 \d{3} /gm)).toEqual(['HTTP/1.1 200 ', 'HTTP/1.1 404 ', 'HTTP/1.1 200 ']);
      expect(r.text.endsWith(base.toString('latin1'))).toBe(true);
    });

    it('closes a connection that pipelines 2000 downloads in one packet, without reading them into memory', async () => {
      const rss = async () => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${s.child.pid}/status`, 'utf8'))![1]) * 1024;
      const before = await rss();
      const sock = connect(s.port, '127.0.0.1');
      sock.on('error', () => undefined);
      sock.pause();
      sock.write(`GET /${BIG} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(2000));
      await sleep(1000);
      expect((await rss()) - before).toBeLessThan(100 * 1024 * 1024);
      sock.resume();
      expect(await untilTrue(() => sock.destroyed, SLACK)).toBe(true);
      expect(await logLine(s, / 127\.0\.0\.1 - - \[PIPELINE_DEPTH\] - 0 /)).toBeDefined();
    });
  });

  describe('floods of connections', () => {
    it('serves a normal client while 300 connections hang halfway through their headers, then closes them all', async () => {
      const { sockets, closed, replies } = await openMany(s.port, 300, 'GET /boot.ipxe HTTP/1.1\r\nHost: x\r\n');
      try {
        await expectServing(s);
        expect(sockets.length - closed.size).toBeGreaterThan(250);
        expect(await untilTrue(() => closed.size === sockets.length, LIMITS.headersTimeout + SLACK)).toBe(true);
        expect(sockets.every((k) => replies.get(k)?.startsWith('HTTP/1.1 408 '))).toBe(true);
      } finally {
        for (const k of sockets) k.destroy();
      }
    });
  });

  describe('uploads cut off', () => {
    it('keeps the stored catalog whole when a client disconnects halfway through replacing it', async () => {
      const mac = '52:54:00:00:04:01';
      const old = Buffer.from('{"old":true}');
      expect((await http(s.port, 'POST', `/api/catalog/${mac}`, { headers: { 'Content-Type': 'application/json' }, body: old })).status).toBe(201);
      await exchange(s.port, [postHead(mac, 'Content-Length: 3000'), `{"new":"${'n'.repeat(1000)}`], { end: false, waitMs: 300 });
      expect(await logLine(s, new RegExp(`POST /api/catalog/${mac} - \\(aborted\\) `))).toBeDefined();
      const now = await http(s.port, 'GET', `/api/catalog/${mac}`);
      expect(now.body.equals(old)).toBe(true);
      expect((await readdir(join(`${builds}.catalogs`))).filter((f) => f.startsWith('.'))).toEqual([]);
    });
  });
});

describe('imgplay serve at its limits of connections and upload memory', () => {
  let s: Served;

  beforeAll(() => {
    s = small;
  });

  afterEach(async () => {
    await expectServing(s);
  });

  it('answers 503 with Retry-After to a catalog that would take more memory than uploads may hold, and takes it once they are done', async () => {
    // Two chunked uploads under way hold the whole catalog limit each: all the memory there is.
    const holding = [1, 2].map((i) => exchange(s.port, [postHead(`52:54:00:00:06:0${i}`, 'Transfer-Encoding: chunked'), chunk('{"a":')], { end: false, waitMs: 1500 }));
    await sleep(500);
    const refused = await http(s.port, 'POST', '/api/catalog/52:54:00:00:06:03', { headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    await Promise.all(holding);
    expect((await http(s.port, 'POST', '/api/catalog/52:54:00:00:06:03', { headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(201);
  });

  it('closes connections past the cap on arrival, says how many once, and lets clients in again as slots free', async () => {
    const { sockets, closed } = await openMany(s.port, 300, 'GET /boot.ipxe HTTP/1.1\r\nHost: x\r\n');
    try {
      await sleep(200);
      expect(sockets.length - closed.size).toBeLessThanOrEqual(20);
      expect(await logLine(s, /imgplay serve: \d+ connection\(s\) closed on arrival in the last second: 20 were open \(--max-connections\)$/)).toBeDefined();
      // The header timeout frees the slots the hanging clients held; a client retrying gets in.
      const started = Date.now();
      let status: number | undefined;
      while (status === undefined && Date.now() - started < LIMITS.headersTimeout + SLACK) {
        status = await http(s.port, 'GET', '/boot.ipxe').then(
          (r) => r.status,
          () => undefined,
        );
        if (status === undefined) await sleep(100);
      }
      expect(status).toBe(200);
      await expectServing(s);
    } finally {
      for (const k of sockets) k.destroy();
    }
  });
});

describe('imgplay serve --max-connections', () => {
  it('keeps at most that many connections open, and lets clients in again once they go', async () => {
    const s = cli;
    const { sockets, closed } = await openMany(s.port, 10, 'GET /boot.ipxe HTTP/1.1\r\nHost: x\r\n');
    try {
      expect(await untilTrue(() => closed.size === 7, SLACK)).toBe(true);
      await sleep(100);
      expect(closed.size).toBe(7);
    } finally {
      for (const k of sockets) k.destroy();
    }
    let status: number | undefined;
    for (let i = 0; i < 20 && status === undefined; i++) {
      status = await http(s.port, 'GET', '/boot.ipxe').then(
        (r) => r.status,
        () => sleep(100).then(() => undefined),
      );
    }
    expect(status).toBe(200);
  });
});

describe('a catalog write cut short by the server being killed', () => {
  const mac = '52:54:00:00:05:01';
  const catalogs = () => `${builds}.catalogs`;
  // Each document says which it is, and is large enough that writing it takes a few milliseconds.
  const doc = (seq: number) => Buffer.from(JSON.stringify({ seq, pad: `${seq}`.padEnd(6 * 1024 * 1024, 'x') }));
  const temps = async () => (await readdir(catalogs()).catch(() => [] as string[])).filter((f) => f.endsWith('.tmp'));
  const post = (s: Served, seq: number) => http(s.port, 'POST', `/api/catalog/${mac}`, { headers: { 'Content-Type': 'application/json' }, body: doc(seq) });

  let again: Served | undefined;

  afterAll(async () => {
    await again?.stop();
  });

  it("leaves the old or the new catalog whole, never part of one; the next start removes the dead writer's temp file and leaves a live one's", async () => {
    const s = cli;
    expect((await post(s, 1)).status).toBe(201);
    // The moment the next write creates its temp file, the server is killed.
    const watcher = watch(catalogs());
    let killedAt: string | undefined;
    watcher.on('change', (_event, name) => {
      if (killedAt !== undefined || !String(name).endsWith('.tmp')) return;
      killedAt = String(name);
      s.child.kill('SIGKILL');
    });
    try {
      await post(s, 2).catch(() => undefined);
      await s.child;
    } finally {
      watcher.close();
    }
    expect(killedAt).toBeDefined();
    const onDisk = await readFile(join(catalogs(), `${mac}.json`));
    const seq = (JSON.parse(onDisk.toString()) as { seq: number }).seq;
    expect(onDisk.equals(doc(seq))).toBe(true);
    // What the write left, if the kill came before its rename, and a file a live writer is still writing.
    const left = await temps();
    const live = `.${mac}.json.${process.pid}.cafef00d.tmp`;
    await writeFile(join(catalogs(), live), '{"seq":');
    again = await serveCli([builds, '--port', '0']);
    try {
      expect(await temps()).toEqual([live]);
      if (left.length > 0) expect(await logLine(again, new RegExp(`removed ${left.length} unfinished catalog write\\(s\\) from `))).toBeDefined();
      expect((await http(again.port, 'GET', `/api/catalog/${mac}`)).body.equals(onDisk)).toBe(true);
      await expectServing(again);
    } finally {
      await rm(join(catalogs(), live), { force: true });
    }
  });

  it("stops the restarted command line cleanly on SIGTERM: exit code 0 and 'stopped'", async () => {
    expect(again).toBeDefined();
    again!.child.kill('SIGTERM');
    const r = await again!.child;
    expect(r.exitCode).toBe(0);
    expect(await logLine(again!, /^imgplay serve: stopped$/)).toBeDefined();
  });
});
