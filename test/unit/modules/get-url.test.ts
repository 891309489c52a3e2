import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filenameFromHeaders, getUrl, pickChecksum, urlFilename } from '../../../src/modules/get-url.js';
import { type Case, cases, makeContext, prepare } from '../../support/module-cases.js';

const sha = (algo: string, text: string): string => createHash(algo).update(text).digest('hex');
const HELLO = 'hello from the server\n';
// Fixed so If-Modified-Since has something to compare with.
const SERVED_AT = new Date('2024-01-01T00:00:00Z');

const seen: string[] = [];
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function serve(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  seen.push(`${req.method} ${url.pathname}`);
  const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const ims = req.headers['if-modified-since'];
  switch (url.pathname) {
    case '/hello.txt':
    case '/dir/hello.txt':
      if (ims !== undefined && new Date(ims) >= SERVED_AT) return send(304, '');
      return send(200, HELLO, { 'last-modified': SERVED_AT.toUTCString() });
    case '/always':
      return send(200, HELLO);
    case '/redirect':
      return send(302, '', { location: '/dir/hello.txt' });
    case '/named':
      return send(200, 'named\n', { 'content-disposition': 'attachment; filename="../evil/report.csv"' });
    case '/':
      return send(200, 'index\n');
    case '/SHA256SUMS':
      return send(200, `${sha('sha256', 'other')}  other.txt\n${sha('sha256', HELLO)} *./hello.txt\n`);
    case '/secret': {
      const want = `Basic ${Buffer.from('ann:pw').toString('base64')}`;
      if (req.headers.authorization !== want) return send(401, 'no\n', { 'www-authenticate': 'Basic realm="x"' });
      return send(200, 'secret\n');
    }
    case '/headers':
      return send(200, `${req.headers['x-token'] ?? '-'} ${req.headers['user-agent'] ?? '-'}\n`);
    case '/slow':
      // Headers never come: the client's timeout must end the wait.
      setTimeout(() => send(200, 'late\n'), 5000).unref();
      return;
    default:
      return send(404, 'missing\n');
  }
}

const server = createServer(serve);
const base = await listen(server);

// A forwarding proxy for plain http: it sees absolute-URI requests and counts them.
const proxied: string[] = [];
const proxy = createServer((req, res) => {
  proxied.push(req.url ?? '');
  const up = httpRequest(req.url ?? '', { method: req.method, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
});
const proxyUrl = await listen(proxy);

afterAll(async () => {
  server.closeAllConnections();
  proxy.closeAllConnections();
  await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => proxy.close(r))]);
});

// No row may reach the build host's own proxy settings: the test server is on 127.0.0.1 only.
const direct = { http_proxy: '', https_proxy: '', no_proxy: '' };
const rows = (list: Case[]): Case[] => list.map((r) => ({ environment: direct, ...r, args: { ...r.args, url: `${base}${String(r.args.url)}` } }));

describe('get_url', () => {
  cases(
    getUrl,
    rows([
      {
        name: 'downloads a file to dest',
        args: { url: '/hello.txt', dest: '{root}/hello.txt' },
        changed: true,
        after: { 'hello.txt': HELLO },
        result: { dest: '{root}/hello.txt', status_code: 200, msg: `OK (${HELLO.length} bytes)`, checksum_src: sha('sha1', HELLO), checksum_dest: null, md5sum: sha('md5', HELLO), size: HELLO.length, state: 'file' },
        check: { changed: true, result: { checksum_src: sha('sha1', '') } },
      },
      {
        name: 'leaves a file the server says is not modified (If-Modified-Since)',
        args: { url: '/hello.txt', dest: '{root}/hello.txt' },
        before: { 'hello.txt': 'old\n' },
        changed: false,
        result: { msg: 'HTTP Error 304: Not Modified', status_code: 304 },
      },
      {
        name: 'replaces an existing file whose content differs when the server has no dates',
        args: { url: '/always', dest: '{root}/hello.txt' },
        before: { 'hello.txt': 'old\n' },
        changed: true,
        after: { 'hello.txt': HELLO },
        result: { checksum_dest: sha('sha1', 'old\n'), checksum_src: sha('sha1', HELLO) },
      },
      {
        name: 'is unchanged when the download equals the existing file',
        args: { url: '/always', dest: '{root}/hello.txt' },
        before: { 'hello.txt': HELLO },
        changed: false,
        // Ansible's check mode asks with HEAD and compares dest with an empty body.
        check: { changed: true },
      },
      {
        name: 'force downloads again past If-Modified-Since',
        args: { url: '/hello.txt', dest: '{root}/hello.txt', force: true },
        before: { 'hello.txt': 'old\n' },
        changed: true,
        after: { 'hello.txt': HELLO },
      },
      {
        name: 'does not ask the server when dest already has the checksum',
        args: { url: '/nothing-here', dest: '{root}/hello.txt', checksum: `sha256:${sha('sha256', HELLO)}` },
        before: { 'hello.txt': HELLO },
        changed: false,
        result: { msg: 'file already exists' },
      },
      {
        name: 'downloads when dest has another checksum',
        args: { url: '/hello.txt', dest: '{root}/hello.txt', checksum: `sha512:${sha('sha512', HELLO)}` },
        before: { 'hello.txt': 'old\n' },
        changed: true,
        after: { 'hello.txt': HELLO },
      },
      {
        name: 'takes the checksum from a checksum file URL',
        args: { url: '/hello.txt', dest: '{root}/hello.txt', checksum: `sha256:${base}/SHA256SUMS` },
        changed: true,
        after: { 'hello.txt': HELLO },
      },
      {
        name: 'fails on a checksum mismatch and leaves nothing at dest',
        args: { url: '/hello.txt', dest: '{root}/hello.txt', checksum: `md5:${sha('md5', 'other')}` },
        error: `The checksum for {root}/hello.txt did not match ${sha('md5', 'other')}; it was ${sha('md5', HELLO)}.`,
        after: {},
      },
      {
        name: 'keeps the old file when a new download fails its checksum',
        args: { url: '/always', dest: '{root}/hello.txt', checksum: `sha1:${sha('sha1', 'other')}` },
        before: { 'hello.txt': 'old\n' },
        error: 'did not match',
      },
      {
        name: 'fails with the HTTP status and the URL on a 404',
        args: { url: '/nope', dest: '{root}/x' },
        error: 'Request failed: HTTP Error 404: Not Found',
        result: { status_code: 404, url: `${base}/nope` },
      },
      {
        name: 'refuses a malformed checksum',
        args: { url: '/hello.txt', dest: '{root}/x', checksum: 'sha256' },
        error: 'The checksum parameter has to be in format <algorithm>:<checksum>',
      },
      {
        name: 'fails when the parent of dest is missing',
        args: { url: '/hello.txt', dest: '{root}/no/such/file' },
        error: 'Destination {root}/no/such does not exist',
      },
      {
        name: 'names a file in a dest directory after the URL, following redirects',
        args: { url: '/redirect', dest: '{root}/' },
        changed: true,
        after: { 'hello.txt': HELLO },
        result: { dest: '{root}/hello.txt' },
        again: false,
      },
      {
        name: 'names a file in a dest directory after Content-Disposition, without its directory part',
        args: { url: '/named', dest: '{root}' },
        changed: true,
        after: { 'report.csv': 'named\n' },
      },
      {
        name: 'names the root of a site index.html',
        args: { url: '/', dest: '{root}' },
        changed: true,
        after: { 'index.html': 'index\n' },
      },
      {
        name: 'answers a Basic challenge with url_username and url_password',
        args: { url: '/secret', dest: '{root}/s', url_username: 'ann', url_password: 'pw' },
        changed: true,
        after: { s: 'secret\n' },
      },
      {
        name: 'sends Basic auth up front with force_basic_auth (aliases username/password)',
        args: { url: '/secret', dest: '{root}/s', username: 'ann', password: 'pw', force_basic_auth: true },
        changed: true,
        after: { s: 'secret\n' },
      },
      { name: 'refuses client certificates, saying why', args: { url: '/secret', dest: '{root}/s', client_cert: '/c.pem' }, invalid: 'client_cert is not supported by imgplay: TLS client certificates are not implemented.' },
      { name: 'refuses use_gssapi: true', args: { url: '/secret', dest: '{root}/s', use_gssapi: 'yes' }, invalid: 'use_gssapi=true is not supported by imgplay' },
      { name: 'needs dest', args: { url: '/secret' }, invalid: 'missing required arguments: dest' },
      {
        name: 'fails with 401 on wrong credentials',
        args: { url: '/secret', dest: '{root}/s', url_username: 'ann', url_password: 'bad' },
        error: 'HTTP Error 401: Unauthorized',
      },
      {
        name: 'sends headers and the http_agent',
        args: { url: '/headers', dest: '{root}/h', headers: { 'X-Token': 'abc' }, http_agent: 'imgplay-test' },
        changed: true,
        after: { h: 'abc imgplay-test\n' },
      },
      {
        name: 'gives up after timeout seconds',
        args: { url: '/slow', dest: '{root}/late', timeout: 1 },
        error: 'Request failed: <urlopen error timed out>',
      },
      {
        name: 'sets mode on the downloaded file and again on an unchanged one',
        args: { url: '/always', dest: '{root}/hello.txt', mode: '0640' },
        changed: true,
        after: { 'hello.txt': { content: HELLO, mode: 0o640 } },
      },
      {
        name: 'changes only the owner from the target accounts when the content is right',
        args: { url: '/always', dest: '{root}/hello.txt', owner: 'imgtest', group: 'imgother' },
        before: { 'hello.txt': HELLO },
        changed: true,
        after: { 'hello.txt': { content: HELLO, uid: 4242, gid: 4444 } },
        targets: ['confined'],
        check: { changed: true },
      },
      {
        name: 'keeps a backup of the replaced file',
        args: { url: '/always', dest: '{root}/hello.txt', backup: true },
        before: { 'hello.txt': 'old\n' },
        changed: true,
        after: { 'hello.txt': HELLO, 'hello.txt.*~': 'old\n' },
        result: { backup_file: expect.stringMatching(/hello\.txt\.\d+\.[-\d]+@[\d:]+~$/) },
      },
      {
        name: 'refuses a tmp_dest that does not exist',
        args: { url: '/always', dest: '{root}/hello.txt', tmp_dest: '{root}/tmp' },
        error: '{root}/tmp directory does not exist.',
      },
    ]),
  );

  it('downloads through http_proxy from the task environment, and not when no_proxy matches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgplay-geturl-'));
    try {
      const run = async (environment: Record<string, string>, name: string) =>
        getUrl.run(makeContext({ args: await prepare(getUrl, { url: `${base}/always`, dest: join(dir, name) }), environment }));
      proxied.length = 0;
      expect(await run({ http_proxy: proxyUrl, no_proxy: '' }, 'a')).toMatchObject({ changed: true, status_code: 200 });
      expect(proxied).toEqual([`${base}/always`]);
      expect(await readFile(join(dir, 'a'), 'utf8')).toBe(HELLO);
      expect(await run({ http_proxy: proxyUrl, no_proxy: '127.0.0.1' }, 'b')).toMatchObject({ changed: true });
      expect(proxied).toHaveLength(1);
      const r = await getUrl.run(
        makeContext({ args: await prepare(getUrl, { url: `${base}/always`, dest: join(dir, 'c'), use_proxy: false }), environment: { http_proxy: proxyUrl, no_proxy: '' } }),
      );
      expect(r.changed).toBe(true);
      expect(proxied).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Not a table row: like Ansible it writes its temp file in tmp_dest on every run, touching the directory.
  it('downloads through tmp_dest and leaves it empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgplay-geturl-'));
    try {
      await mkdir(join(dir, 'tmp'));
      const r = await getUrl.run(makeContext({ args: await prepare(getUrl, { url: `${base}/always`, dest: join(dir, 'f'), tmp_dest: join(dir, 'tmp') }), environment: direct }));
      expect(r).toMatchObject({ changed: true, checksum_src: sha('sha1', HELLO) });
      expect(await readFile(join(dir, 'f'), 'utf8')).toBe(HELLO);
      expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves no temp file behind when the download fails halfway', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgplay-geturl-'));
    const cut = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.destroy(), 50);
    });
    const url = await listen(cut);
    try {
      const r = await getUrl.run(makeContext({ args: await prepare(getUrl, { url: `${url}/f`, dest: join(dir, 'f') }), environment: direct }));
      expect(r.failed).toBe(true);
      expect(String(r.msg)).toMatch(/^Connection failure: .*while reading/);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      cut.closeAllConnections();
      await new Promise((res) => cut.close(res));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes a new file with 0666 less the umask, as atomic_move does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgplay-geturl-'));
    try {
      await writeFile(join(dir, 'keep'), '');
      const r = await getUrl.run(makeContext({ args: await prepare(getUrl, { url: `${base}/always`, dest: join(dir, 'f') }), environment: direct }));
      expect(r.changed).toBe(true);
      expect((await stat(join(dir, 'f'))).mode & 0o777).toBe(0o666 & ~process.umask());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads checksum files and names as Ansible does', () => {
    expect(pickChecksum('abc123\n', 'x')).toBe('abc123');
    expect(pickChecksum('aa  one\nbb *two\ncc ./three\n', 'two')).toBe('bb');
    expect(pickChecksum('aa  one\nbb *two\ncc ./three\n', 'three')).toBe('cc');
    expect(pickChecksum('aa  one\nbb  two\n', 'four')).toBeUndefined();
    expect(urlFilename('http://h/a/b.tar.gz?x=1')).toBe('b.tar.gz');
    expect(urlFilename('http://h/')).toBe('index.html');
    expect(filenameFromHeaders({ 'content-disposition': 'attachment; filename=plain.bin' })).toBe('plain.bin');
    expect(filenameFromHeaders({ 'content-disposition': 'inline' })).toBeUndefined();
  });

  it('asked the test server only with the methods Ansible uses', () => {
    expect(seen.every((s) => /^(GET|HEAD) /.test(s))).toBe(true);
    expect(seen.some((s) => s.startsWith('HEAD '))).toBe(true);
  });
});
