// Downloads a URL into the target, as Ansible's get_url does. The download runs on the controller (a chroot
// target usually has no curl) through undici, honouring http_proxy/https_proxy/no_proxy, and lands in the
// target only through hostPath, so a chroot's files stay inside its root.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, chown, lstat, rename, unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, type Dispatcher, EnvHttpProxyAgent, request } from 'undici';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { atomicWrite, currentUmask } from '../host/atomic-write.js';
import { backupFile } from './support/backup.js';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, checksumData, checksumFile } from '../host/checksum.js';
import { AttrError, applyFileAttrs, pathInfo } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { fileAttrArgs } from './support/file-args.js';
import { hostPathFollow, statOrUndefined, targetPathOf } from './support/target-path.js';
import { type ModuleContext, type ModuleResult, failed } from './types.js';

// urllib's redirect limit, which Ansible's fetch_url inherits.
const MAX_REDIRECTS = 10;
// A checksum file is a few lines; anything bigger is not one.
const MAX_CHECKSUM_FILE = 1024 * 1024;

const getUrlArgs = {
  url: { required: true, description: '`http://` or `https://`; `user:password@` in it works like `url_username`/`url_password`.' },
  dest: {
    type: 'path',
    required: true,
    description:
      "A file, or an existing directory: then the name comes from `Content-Disposition` (directory part dropped) or the URL's last path segment (`index.html` for `/`).",
  },
  backup: { type: 'bool', default: false, description: 'Keep the replaced file as `dest.PID.DATE@TIME~`.' },
  checksum: {
    default: '',
    description:
      '`ALGO:HEX` (md5, sha1, sha224, sha256, sha384, sha512), or `ALGO:URL` of a checksum file (`HASH  name` lines as `sha256sum` writes them, or a lone hash).',
  },
  force: { type: 'bool', default: false, aliases: ['thirsty'], description: 'Download even if `dest` is there and the server says it is not modified.' },
  timeout: { type: 'int', default: 10, description: 'Seconds to wait for the connection, the headers, and each read of the body.' },
  headers: { type: 'dict', description: 'A dict of request headers.' },
  url_username: { aliases: ['username'], description: 'Basic auth user, sent when the server answers 401 with a Basic challenge.' },
  url_password: { aliases: ['password'], description: 'Basic auth password.' },
  force_basic_auth: { type: 'bool', default: false, description: 'Send Basic auth with the first request.' },
  validate_certs: { type: 'bool', default: true, description: '`false` accepts any TLS certificate.' },
  use_proxy: { type: 'bool', default: true, description: '`false` ignores every proxy variable.' },
  http_agent: { default: 'ansible-httpget', description: 'The User-Agent.' },
  tmp_dest: { type: 'path', description: 'A target directory to download into instead of beside `dest`; it must exist.' },
  unredirected_headers: { type: 'list', elements: 'str', default: [], description: 'Headers not sent again after a redirect.' },
  decompress: { type: 'bool', default: true, description: '`false` asks the server for the bytes as stored (`Accept-Encoding: identity`).' },
  use_netrc: { type: 'bool', default: true, description: 'Accepted and ignored: no `~/.netrc` is read.' },
  use_gssapi: { type: 'bool', default: false, description: 'GSSAPI (Kerberos) authentication.', refusedValues: { true: 'there is no GSSAPI on the controller.' } },
  ciphers: { type: 'list', elements: 'str', description: "Accepted and ignored: Node's TLS defaults choose the ciphers." },
  client_cert: { type: 'path', description: 'A TLS client certificate.', refused: 'TLS client certificates are not implemented.' },
  client_key: { type: 'path', description: 'The key of `client_cert`.', refused: 'TLS client certificates are not implemented.' },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

/** get_url's arguments, aliases folded (url_username/username, url_password/password, force/thirsty). */
export type GetUrlArgs = ArgsOf<typeof getUrlArgs>;

export const getUrl = defineModule(
  {
    name: 'get_url',
    doc: {
      short: 'Downloads a URL into the target.',
      description: `The download runs on the controller (a chroot usually has no curl), with \`http_proxy\`/\`https_proxy\`/\`no_proxy\` taken from the task's \`environment\` first, then from imgplay's own environment; plain \`http\` goes to the proxy as an ordinary forwarded request (what apt-cacher-ng expects), \`https\` through CONNECT. The body streams to a temp file beside \`dest\` (inside the target), is checked against \`checksum\`, then renamed into place. \`mode\`, \`owner\` and \`group\` are as the file module's; names are looked up in the target's \`/etc/passwd\` and \`/etc/group\`.

When it downloads (Ansible 2.14's rules): \`dest\` exists and \`checksum\` is given and matches: no request at all; only \`mode\`/\`owner\`/\`group\` can change. \`dest\` exists otherwise (and \`force\` is false): the request carries \`If-Modified-Since\` with dest's mtime; a \`304\` answer is \`changed: false\` (\`msg: HTTP Error 304: Not Modified\`). A full answer is downloaded and replaces \`dest\` only if its sha1 differs. A \`checksum\` mismatch on the existing file forces the download.`,
      returns:
        '`changed`, `dest`, `url`, `checksum_src`/`checksum_dest` (sha1), `md5sum`, `status_code`, `elapsed`, `msg` (`OK (N bytes)` from Content-Length), `backup_file`, and the file\'s `mode`, `owner`, `group`, `uid`, `gid`, `size`, `state`. Failures: `Request failed: HTTP Error 404: Not Found` (with `status_code`, `response`, `url`), `Request failed: <urlopen error timed out>`, `The checksum for DEST did not match EXPECTED; it was ACTUAL.`',
      checkMode:
        'As in Ansible, a `HEAD` request (with `If-Modified-Since` for an existing `dest`) decides: `changed` unless the checksum already matches or the server answers 304 — an existing `dest` whose server ignores `If-Modified-Since` is reported `changed` even if its content is the same.',
      differences: [
        'A checksum mismatch after downloading leaves an existing `dest` as it was (Ansible moves the bad download into place, then deletes `dest`); a new `dest` is never created.',
        '`file://` and `ftp://` URLs, `use_netrc`, `ciphers`, `client_cert`/`client_key` and `use_gssapi` are not supported (`ciphers` and `use_netrc` are accepted and ignored; the others are refused).',
        '`thirsty` is taken as an alias of `force`, as older Ansible did (2.14 no longer knows it).',
        'The HTTP reason in messages is the standard phrase for the status, not the server\'s own words.',
        "`src` (Ansible's temp file path) is not returned.",
        'Node prints a one-time `EnvHttpProxyAgent is experimental` warning on the first download.',
      ],
    },
    args: getUrlArgs,
    checkMode: 'full',
  },
  async (ctx) => {
    const { args } = ctx;
    const http = new Http(args, ctx.environment, ctx.signal);
    try {
      return await getUrlRun(ctx, http);
    } catch (err) {
      if (err instanceof RequestError) return failed(err.message, { url: err.url, dest: args.dest, ...(err.status === undefined ? {} : { status_code: err.status }) });
      if (err instanceof AttrError) return failed(err.message, { path: err.path, ...(err.details === undefined ? {} : { details: err.details }) });
      if (isFsError(err)) return failed(describeFsError(err, args.dest), { url: args.url, dest: args.dest });
      throw err;
    } finally {
      await http.close();
    }
  },
);

async function getUrlRun(ctx: ModuleContext<GetUrlArgs>, http: Http): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  let force = args.force;
  let dest = args.dest;
  const result: ModuleResult = { changed: false, checksum_dest: null, checksum_src: null, dest, elapsed: 0, url: args.url };
  const accounts = new Accounts(conn);
  const destIsDir = (await statOrUndefined(await hostPathFollow(conn, dest)))?.isDirectory() === true;

  let algorithm: ChecksumAlgorithm = 'sha1';
  let expected = '';
  if (args.checksum !== '') {
    const colon = args.checksum.indexOf(':');
    if (colon < 0) return failed('The checksum parameter has to be in format <algorithm>:<checksum>', result);
    const algo = args.checksum.slice(0, colon);
    if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algo)) {
      return failed(`Could not hash file '${dest}' with algorithm '${algo}'. Available algorithms: ${CHECKSUM_ALGORITHMS.join(', ')}`, result);
    }
    algorithm = algo as ChecksumAlgorithm;
    let value = args.checksum.slice(colon + 1);
    if (/^(https?|ftp|file):/.test(value)) {
      const found = pickChecksum(await http.text(value), urlFilename(args.url));
      if (found === undefined) return failed(`Unable to find a checksum for file '${urlFilename(args.url)}' in '${value}'`);
      value = found;
    }
    // Ansible strips everything but word characters (a pasted zero-width space, a trailing newline).
    expected = value.replace(/\W+/g, '').toLowerCase();
    if (!/^[0-9a-f]+$/.test(expected)) return failed('The checksum format is invalid', result);
  }

  let lastModified: Date | undefined;
  if (!destIsDir) {
    const st = await statOrUndefined(await hostPathFollow(conn, dest));
    if (st !== undefined) {
      const mismatch = !force && expected !== '' && (await checksumFile(await hostPathFollow(conn, dest), algorithm)) !== expected;
      // The file is already what the checksum promises: no request at all, only attributes.
      if (!force && expected !== '' && !mismatch) {
        result.changed = await applyFileAttrs({ accounts, check, conn }, await hostPathFollow(conn, dest), dest, args);
        result.msg = result.changed ? 'file already exists but file attributes changed' : 'file already exists';
        return { ...result, ...(await pathInfo(conn, accounts, dest)) };
      }
      lastModified = st.mtime;
      // The local copy may be newer than the server's and still wrong: If-Modified-Since must not skip it.
      if (mismatch) force = true;
    }
  }

  // Checked before asking the server, so a misconfigured task costs no download.
  const tmpDir = await tempDir(ctx);
  const started = Date.now();
  // Ansible asks with HEAD in check mode: the answer decides without the body.
  const res = await http.open(args.url, check ? 'HEAD' : 'GET', { force, lastModified });
  const elapsed = () => Math.floor((Date.now() - started) / 1000);
  if (res.status === 304) {
    res.discard();
    return { changed: false, url: args.url, dest, msg: 'HTTP Error 304: Not Modified', status_code: 304, elapsed: elapsed(), ...(await pathInfo(conn, accounts, dest)) };
  }
  if (res.status !== 200) {
    res.discard();
    return failed(`Request failed: HTTP Error ${res.status}: ${res.reason}`, { status_code: res.status, response: `HTTP Error ${res.status}: ${res.reason}`, url: args.url, dest, elapsed: elapsed() });
  }

  if (destIsDir) {
    dest = posix.join(dest, filenameFromHeaders(res.headers) ?? urlFilename(res.url));
    result.dest = dest;
  }
  const destHost = await hostPathFollow(conn, dest);
  const destSt = await statOrUndefined(destHost);
  if (destSt === undefined && (await statOrUndefined(await hostPathFollow(conn, posix.dirname(dest)))) === undefined) {
    res.discard();
    return failed(`Destination ${posix.dirname(dest)} does not exist`, result);
  }
  if (destSt !== undefined) result.checksum_dest = await checksumFile(destHost);
  const msg = `OK (${res.headers['content-length'] ?? 'unknown'} bytes)`;

  if (check) {
    res.discard();
    result.checksum_src = checksumData('');
    result.changed = result.checksum_src !== result.checksum_dest;
    return { ...result, msg, elapsed: elapsed() };
  }

  const tmpHost = posix.join(tmpDir ?? posix.dirname(destHost), `.${posix.basename(destHost)}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  let download: { sha1: string; wanted: string; size: number };
  try {
    download = await res.saveTo(tmpHost, algorithm);
  } catch (err) {
    await unlink(tmpHost).catch(() => undefined);
    throw err;
  }
  result.elapsed = elapsed();
  result.checksum_src = download.sha1;
  // Verified before the move, so a bad download never replaces (or creates) dest.
  if (expected !== '' && download.wanted !== expected) {
    await unlink(tmpHost).catch(() => undefined);
    return failed(`The checksum for ${dest} did not match ${expected}; it was ${download.wanted}.`, result);
  }
  let backup: string | undefined;
  if (download.sha1 !== result.checksum_dest) {
    try {
      if (args.backup && destSt !== undefined) backup = targetPathOf(conn, await backupFile(destHost));
      await moveInto(tmpHost, destHost);
    } finally {
      await unlink(tmpHost).catch(() => undefined);
    }
    result.changed = true;
  } else {
    await unlink(tmpHost);
  }
  if (await applyFileAttrs({ accounts, check, conn }, destHost, dest, args)) result.changed = true;
  result.md5sum = await checksumFile(destHost, 'md5');
  if (backup !== undefined) result.backup_file = backup;
  return { ...result, msg, status_code: res.status, ...(await pathInfo(conn, accounts, dest)) };
}

// tmp_dest as a host directory (it must exist on the target), or undefined to download beside dest so the move is a rename.
async function tempDir(ctx: ModuleContext<GetUrlArgs>): Promise<string | undefined> {
  const tmpDest = ctx.args.tmp_dest;
  if (tmpDest === undefined || tmpDest === '') return undefined;
  const dirHost = await hostPathFollow(ctx.conn, tmpDest);
  const st = await statOrUndefined(dirHost);
  if (st === undefined) throw new RequestError(`${tmpDest} directory does not exist.`, ctx.args.url);
  if (!st.isDirectory()) throw new RequestError(`${tmpDest} is a file but should be a directory.`, ctx.args.url);
  return dirHost;
}

// Ansible's atomic_move: an existing file's mode and owner carry over, a new one gets 0666 less the umask.
async function moveInto(tmpHost: string, destHost: string): Promise<void> {
  if (posix.dirname(tmpHost) !== posix.dirname(destHost)) {
    await atomicWrite(destHost, { file: tmpHost });
    return;
  }
  const old = await lstat(destHost).catch(() => undefined);
  if (old !== undefined) {
    await chmod(tmpHost, old.mode & 0o7777);
    await chown(tmpHost, old.uid, old.gid).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPERM') throw err;
    });
  } else {
    await chmod(tmpHost, 0o666 & ~currentUmask());
  }
  await rename(tmpHost, destHost);
}

/**
 * Downloads a URL to a controller file (unarchive's remote_src URL, like Ansible's fetch_file) and
 * returns the name the URL gives it; failures throw an Error with Ansible's message.
 */
export async function downloadToFile(url: string, file: string, opts: HttpOptions, environment: Record<string, string>, signal: AbortSignal): Promise<string> {
  const http = new Http(opts, environment, signal);
  try {
    const res = await http.open(url, 'GET', { force: false, lastModified: undefined });
    if (res.status !== 200) {
      res.discard();
      throw new DownloadError(url, `HTTP Error ${res.status}: ${res.reason}`);
    }
    await res.saveTo(file, 'sha1');
    return filenameFromHeaders(res.headers) ?? urlFilename(res.url);
  } catch (err) {
    if (err instanceof RequestError) throw new DownloadError(url, err.message);
    throw err;
  } finally {
    await http.close();
  }
}

/** A download that failed; `reason` is the part after the URL, for modules that word the message their own way. */
export class DownloadError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`Failure downloading ${url}, ${reason}`);
  }
}

/** The file name a URL stands for, as Ansible's url_filename: the last path segment, or index.html. */
export function urlFilename(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url;
  }
  return posix.basename(path) || 'index.html';
}

/** The name Content-Disposition gives (`attachment; filename="x"`), stripped of any directory part. */
export function filenameFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['content-disposition'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  const m = value === undefined ? null : /^attachment; ?filename="?([^"]+)/.exec(value);
  return m?.[1] === undefined ? undefined : posix.basename(m[1]) || undefined;
}

/**
 * The sum for `filename` in a checksum file: a lone hash, or `HASH  name` / `HASH *name` lines
 * (sha256sum's format; a leading ./ on the name is ignored), as Ansible reads them.
 */
export function pickChecksum(text: string, filename: string): string | undefined {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 1 && (lines[0] as string).split(/\s+/).filter(Boolean).length === 1) return lines[0];
  for (const line of lines) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    let name = line.slice(space + 1);
    if (name.startsWith(' ') || name.startsWith('*')) name = name.slice(1);
    if (name.replace(/^[./]+/, '') === filename) return line.slice(0, space);
  }
  return undefined;
}

/** A request that failed before a usable answer: the message is Ansible's. */
class RequestError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface Response {
  status: number;
  reason: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  discard(): void;
  saveTo(host: string, algorithm: ChecksumAlgorithm): Promise<{ sha1: string; wanted: string; size: number }>;
}

/** How the controller's HTTP client behaves: get_url's connection arguments. */
export interface HttpOptions {
  timeout: number;
  validate_certs: boolean;
  use_proxy: boolean;
  http_agent: string;
  force_basic_auth: boolean;
  decompress: boolean;
  unredirected_headers: string[];
  headers?: Record<string, unknown> | undefined;
  url_username?: string | undefined;
  url_password?: string | undefined;
}

/** The connection defaults get_url's schema gives, for modules that download a URL as get_url would (unarchive). */
export const HTTP_DEFAULTS: HttpOptions = {
  timeout: 10,
  validate_certs: true,
  use_proxy: true,
  http_agent: 'ansible-httpget',
  force_basic_auth: false,
  decompress: true,
  unredirected_headers: [],
};

// The controller's HTTP client for one task: one dispatcher (proxy-aware unless use_proxy=false), auth, redirects.
class Http {
  private readonly dispatcher: Dispatcher;
  private readonly user: string | undefined;
  private readonly pass: string;

  constructor(
    private readonly args: HttpOptions,
    environment: Record<string, string>,
    private readonly signal: AbortSignal,
  ) {
    const ms = args.timeout * 1000;
    const tls = { rejectUnauthorized: args.validate_certs };
    const agentOpts = { connect: { ...tls, timeout: ms }, headersTimeout: ms, bodyTimeout: ms };
    if (args.use_proxy) {
      // The task's environment wins over the controller's, as it would for a download run on the target.
      const pick = (...names: string[]): string | undefined => {
        for (const source of [environment, process.env]) for (const n of names) if (source[n] !== undefined) return source[n];
        return undefined;
      };
      this.dispatcher = new EnvHttpProxyAgent({
        ...agentOpts,
        requestTls: tls,
        // Plain http goes to the proxy as an absolute-URI request, as urllib sends it: apt-cacher-ng and
        // most caches refuse CONNECT to port 80.
        proxyTunnel: false,
        httpProxy: pick('http_proxy', 'HTTP_PROXY') ?? '',
        httpsProxy: pick('https_proxy', 'HTTPS_PROXY') ?? '',
        noProxy: pick('no_proxy', 'NO_PROXY') ?? '',
      } as EnvHttpProxyAgent.Options);
    } else {
      this.dispatcher = new Agent(agentOpts);
    }
    this.user = args.url_username;
    this.pass = args.url_password ?? '';
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }

  // Fetches a small text (a checksum file) with the task's headers and credentials.
  async text(url: string): Promise<string> {
    const res = await this.open(url, 'GET', { force: false, lastModified: undefined });
    if (res.status !== 200) {
      res.discard();
      throw new RequestError(`Request failed: HTTP Error ${res.status}: ${res.reason} (checksum file ${url})`, url, res.status);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_CHECKSUM_FILE) {
        res.body.destroy();
        throw new RequestError(`checksum file ${url} is larger than ${MAX_CHECKSUM_FILE} bytes: not a checksum list`, url);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  // Sends the request, following redirects and answering a Basic challenge once, as urllib's handlers do.
  async open(url: string, method: 'GET' | 'HEAD', opts: { force: boolean; lastModified: Date | undefined }): Promise<Response & { body: NodeJS.ReadableStream & { destroy(): void } }> {
    const args = this.args;
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new RequestError(`Request failed: unknown url type: '${url}'`, url);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new RequestError(`Request failed: unsupported URL scheme '${target.protocol}' in ${url} (only http and https)`, url);
    let user = this.user;
    let pass = this.pass;
    // Credentials written into the URL, as Ansible accepts them.
    if (target.username !== '') {
      user ??= decodeURIComponent(target.username);
      if (args.url_password === undefined) pass = decodeURIComponent(target.password);
      target.username = '';
      target.password = '';
    }
    const headers: Record<string, string> = { 'user-agent': args.http_agent };
    if (args.headers !== undefined) for (const [k, v] of Object.entries(args.headers)) headers[k.toLowerCase()] = String(v);
    if (opts.force) headers['cache-control'] = 'no-cache';
    else if (opts.lastModified !== undefined) headers['if-modified-since'] = opts.lastModified.toUTCString();
    if (!args.decompress) headers['accept-encoding'] = 'identity';
    const basic = user === undefined ? undefined : `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    let sendAuth = basic !== undefined && args.force_basic_auth;
    let challenged = false;
    const unredirected = new Set(args.unredirected_headers.map((h) => h.toLowerCase()));
    for (let hop = 0; ; ) {
      const h = { ...headers };
      if (sendAuth && basic !== undefined) h.authorization = basic;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(target, { method, headers: h, dispatcher: this.dispatcher, signal: this.signal });
      } catch (err) {
        throw new RequestError(`Request failed: <urlopen error ${networkReason(err)}>`, url);
      }
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && location !== undefined && hop < MAX_REDIRECTS) {
        await res.body.dump();
        const next = new URL(Array.isArray(location) ? (location[0] as string) : location, target);
        // Credentials and unredirected headers stay with the origin that was asked for them.
        if (next.origin !== target.origin) sendAuth = false;
        for (const name of unredirected) delete headers[name];
        target = next;
        hop++;
        continue;
      }
      if (res.statusCode === 401 && basic !== undefined && !sendAuth && !challenged && /basic/i.test(String(res.headers['www-authenticate'] ?? ''))) {
        await res.body.dump();
        sendAuth = true;
        challenged = true;
        continue;
      }
      return wrap(res, target.href, url);
    }
  }
}

function wrap(res: Dispatcher.ResponseData, finalUrl: string, url: string): Response & { body: Dispatcher.ResponseData['body'] } {
  return {
    status: res.statusCode,
    reason: REASONS[res.statusCode] ?? 'Unknown',
    url: finalUrl,
    headers: res.headers,
    body: res.body,
    discard: () => {
      res.body.dump().catch(() => undefined);
    },
    async saveTo(host, algorithm) {
      const sha1 = createHash('sha1');
      const wanted = createHash(algorithm);
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          sha1.update(chunk);
          wanted.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      try {
        await pipeline(res.body, tap, createWriteStream(host, { flags: 'wx', mode: 0o600 }));
      } catch (err) {
        if (isFsError(err)) throw err;
        throw new RequestError(`Connection failure: ${networkReason(err)} (while reading ${url})`, url);
      }
      return { sha1: sha1.digest('hex'), wanted: wanted.digest('hex'), size };
    },
  };
}

// The words urllib would use for a network failure, from undici's error codes.
function networkReason(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timed out';
    case 'ECONNREFUSED':
      return '[Errno 111] Connection refused';
    case 'ENOTFOUND':
      return '[Errno -2] Name or service not known';
    case 'ECONNRESET':
      return '[Errno 104] Connection reset by peer';
    default:
      return (e.message ?? String(err)).split('\n')[0] as string;
  }
}

// Python's http.client reason phrases for the statuses a download meets.
const REASONS: Record<number, string> = {
  200: 'OK',
  204: 'No Content',
  206: 'Partial Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
