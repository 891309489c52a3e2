// Trusts (or distrusts) an OpenPGP key for apt in the target. apt-key is deprecated and gone from
// newer Debian, so instead of calling it this writes binary keyrings that apt reads from
// /etc/apt/trusted.gpg.d (or that a signed-by= option names), parsing the keys itself: no gpg needed.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import type { Connection } from '../connection/types.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { DownloadError, HTTP_DEFAULTS, downloadToFile } from './get-url.js';
import { atomicWrite } from '../host/atomic-write.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { armor, OpenPgpError, parseKeyring, type PublicKey, toBinaryKeys } from './support/openpgp.js';
import { hostPathFollow } from './support/target-path.js';
import { type ModuleResult, failed } from './types.js';

const TRUSTED_DIR = '/etc/apt/trusted.gpg.d';
const LEGACY_KEYRING = '/etc/apt/trusted.gpg';

const aptKeyArgs = {
  id: {
    description:
      "Key id: 8 hex digits (short), 16 (long) or more (a fingerprint's tail), `0x` allowed; matches subkeys too. With `data`/`file`/`url`, the key must be in that material. Unset: the first key's 16-digit id.",
  },
  url: { description: 'Where to download the key, on the build host, through `http_proxy`/`https_proxy`/`no_proxy`.' },
  data: { description: 'The key, ASCII-armored.' },
  file: { type: 'path', description: 'A key file in the target (armored or binary).' },
  keyring: {
    type: 'path',
    description:
      'The keyring to write (in the target; default `/etc/apt/trusted.gpg.d/imgplay-<ID>.gpg`). A name ending `.asc` is written armored, anything else binary, as apt reads them.',
  },
  validate_certs: { type: 'bool', default: true, description: 'Check the TLS certificate of `url`.' },
  keyserver: { description: 'A key server to fetch the key from.', refused: 'builds have no key server to reach; give the key with data, file or url.' },
  state: { default: 'present', choices: ['absent', 'present'], description: '`absent` removes the key (`id` required).' },
} as const satisfies Record<string, ArgSpec>;

/** apt_key's arguments, as Ansible's. */
export type AptKeyArgs = ArgsOf<typeof aptKeyArgs>;

export const aptKey = defineModule(
  {
    name: 'apt_key',
    doc: {
      short: 'Makes apt in the target trust an OpenPGP key (or stop trusting it), by writing keyrings.',
      description: `Writes keyrings instead of calling \`apt-key\`: \`apt-key\` is deprecated, gone from Debian 13, and edits one shared \`/etc/apt/trusted.gpg\`; a key in its own file under \`/etc/apt/trusted.gpg.d\` (or in a keyring a repository names with \`signed-by=\`) is what apt recommends. imgplay parses the keys itself (ASCII armor, OpenPGP packets, v4 fingerprints over SHA-1, v5/v6 over SHA-256), so neither the build host nor the target needs gpg.

\`present\`: without \`keyring\`, a key counts as already trusted if it is in \`/etc/apt/trusted.gpg\` or any \`trusted.gpg.d/*.gpg\`/\`*.asc\`; with it, only that keyring is looked at. A trusted key needs no \`data\`/\`file\`/\`url\` (nothing is downloaded). A new key is appended to the keyring (created 0644, as the unprivileged \`_apt\` user must read it). \`absent\`: the key (with its subkeys and signatures) is cut out of every keyring that holds it (only \`keyring\` when given); a keyring left empty is deleted.`,
      returns:
        "`changed` only when a keyring's bytes change. Ansible's `id`, `key_id`, `fp`, `short_id`, `before`, `after` (16-digit ids of keys and subkeys), plus `keyring`; the diff lists key ids.",
      checkMode: 'Predicts the change and writes nothing.',
      differences: [
        'Keyrings, not `apt-key add`: the default is a file per key, named by the id.',
        '`keyserver` is refused.',
        "Expired keys are listed like any other (apt-key's listing skips them).",
        'v3 keys are refused.',
      ],
    },
    args: aptKeyArgs,
    mutuallyExclusive: [['data', 'file', 'keyserver', 'url']],
    checkMode: 'full',
    diff: true,
  },
  async ({ conn, args, check, diff, environment, signal }) => {
    let wantedId: string | undefined;
    if (args.id !== undefined) {
      wantedId = normaliseId(args.id);
      if (wantedId === undefined) return failed(`Invalid key_id '${args.id}': it must be 8, 16, or more than 16 hexadecimal characters, optionally after 0x`);
    }
    try {
      // Key material is loaded lazily: a key already trusted under its id needs no download.
      let material: { keys: PublicKey[]; from: string } | undefined;
      const load = async (): Promise<{ keys: PublicKey[]; from: string } | string> => {
        if (material !== undefined) return material;
        const got = await keyMaterial(conn, args, environment, signal);
        if (typeof got === 'string') return got;
        return (material = got);
      };
      if (wantedId === undefined) {
        if (args.state === 'absent') return failed('key is required to remove a key: give its id');
        const got = await load();
        if (typeof got === 'string') return failed(got);
        wantedId = (got.keys[0] as PublicKey).keyId;
      }
      const ids = { id: wantedId, key_id: wantedId, fp: wantedId.length > 16 ? wantedId.slice(-16) : wantedId, short_id: wantedId.slice(-8) };
      const keyringPath = args.keyring ?? posix.join(TRUSTED_DIR, `imgplay-${wantedId}.gpg`);
      // Without an explicit keyring a key counts as trusted wherever apt would find it.
      const searched = args.keyring !== undefined ? [keyringPath] : await trustedKeyrings(conn, keyringPath);
      const rings = await Promise.all(searched.map((p) => readRing(conn, p, args.keyring !== undefined)));
      const before = rings.flatMap((r) => r.keys.flatMap(listedIds));
      const matches = (k: PublicKey): boolean => matchesId(k, wantedId as string);
      const result: ModuleResult = { changed: false, ...ids, before, keyring: keyringPath };

      if (args.state === 'present') {
        if (rings.some((r) => r.keys.some(matches))) return result;
        const got = await load();
        if (typeof got === 'string') return failed(got, result);
        const adding = got.keys.filter(matches);
        if (adding.length === 0) {
          return failed(`key ${wantedId} is not in the key data from ${got.from}: it holds ${got.keys.map((k) => k.fingerprint).join(', ')}`, result);
        }
        const ring = rings.find((r) => r.path === keyringPath) ?? { path: keyringPath, data: Buffer.alloc(0), keys: [] };
        const next = Buffer.concat([ring.data, ...got.keys.map((k) => k.bytes)]);
        const after = [...before, ...got.keys.flatMap(listedIds)];
        if (!check) await writeRing(conn, keyringPath, next);
        return withDiff({ ...result, changed: true, after }, diff, keyringPath, before, after);
      }

      const holding = rings.filter((r) => r.keys.some(matches));
      if (holding.length === 0) return result;
      for (const ring of holding) {
        const kept = ring.keys.filter((k) => !matches(k));
        if (check) continue;
        if (kept.length === 0) await unlink(await hostPathFollow(conn, ring.path));
        else await writeRing(conn, ring.path, Buffer.concat(kept.map((k) => k.bytes)));
      }
      const after = rings.flatMap((r) => r.keys.filter((k) => !matches(k)).flatMap(listedIds));
      return withDiff({ ...result, changed: true, after }, diff, holding.map((r) => r.path).join(', '), before, after);
    } catch (err) {
      if (err instanceof OpenPgpError) return failed(err.message);
      if (isFsError(err)) return failed(describeFsError(err));
      throw err;
    }
  },
);

/** Ansible's rule for a key id: hex, 8, 16 or more than 16 digits, an optional 0x; upper-cased. */
export function normaliseId(id: string): string | undefined {
  const hex = id.trim().toUpperCase().replace(/^0X/, '');
  if (!/^[0-9A-F]+$/.test(hex)) return undefined;
  if (hex.length !== 8 && hex.length !== 16 && hex.length <= 16) return undefined;
  return hex;
}

// A short id matches the last 8 digits, a long one the key id, a longer one the fingerprint's tail;
// like apt-key's listing, subkeys count too.
function matchesId(key: PublicKey, id: string): boolean {
  if (id.length > 16) return key.fingerprint.endsWith(id);
  return [key.keyId, ...key.subkeyIds].some((k) => k.endsWith(id));
}

// The ids Ansible's `before`/`after` list: each key's and subkey's 16-digit id.
function listedIds(key: PublicKey): string[] {
  return [key.keyId, ...key.subkeyIds];
}

function withDiff(result: ModuleResult, diff: boolean, where: string, before: string[], after: string[]): ModuleResult {
  if (diff) {
    const text = (ids: string[]): string => ids.map((i) => `${i}\n`).join('');
    result.diff = { before: text(before), after: text(after), before_header: `${where} (key ids)`, after_header: `${where} (key ids)` };
  }
  return result;
}

interface Ring {
  path: string;
  data: Buffer;
  keys: PublicKey[];
}

// The keyrings apt trusts without signed-by: trusted.gpg and trusted.gpg.d/*.gpg|*.asc, plus the one to write.
async function trustedKeyrings(conn: Connection, target: string): Promise<string[]> {
  const names = await readdir(await hostPathFollow(conn, TRUSTED_DIR)).catch(() => [] as string[]);
  const found = [LEGACY_KEYRING, ...names.filter((n) => /\.(gpg|asc)$/.test(n)).sort().map((n) => posix.join(TRUSTED_DIR, n))];
  return found.includes(target) ? found : [...found, target];
}

// A keyring's keys; a missing one is empty. Only a keyring the task names must parse: apt itself skips
// a stray unreadable file in trusted.gpg.d.
async function readRing(conn: Connection, path: string, strict: boolean): Promise<Ring> {
  const host = await hostPathFollow(conn, path);
  const data = await readFile(host).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  });
  try {
    const binary = toBinaryKeys(data);
    return { path, data: binary, keys: parseKeyring(binary) };
  } catch (err) {
    if (!(err instanceof OpenPgpError)) throw err;
    if (strict) throw new OpenPgpError(`keyring ${path} is not an OpenPGP keyring: ${err.message}`);
    return { path, data, keys: [] };
  }
}

async function writeRing(conn: Connection, path: string, data: Buffer): Promise<void> {
  const host = await hostPathFollow(conn, path);
  await mkdir(dirname(host), { recursive: true });
  // apt reads *.asc as armored and everything else as binary, so the name decides the format.
  await atomicWrite(host, { data: path.endsWith('.asc') ? armor(data) : data });
  // apt reads keyrings as the unprivileged _apt user: they must be world-readable.
  await chmod(host, 0o644);
}

// The keys to add, from data, a target file or a URL fetched on the controller; a string is the failure.
async function keyMaterial(
  conn: Connection,
  args: AptKeyArgs,
  environment: Record<string, string>,
  signal: AbortSignal,
): Promise<{ keys: PublicKey[]; from: string } | string> {
  let raw: Buffer;
  let from: string;
  if (args.data !== undefined) {
    raw = Buffer.from(args.data, 'latin1');
    from = 'data';
  } else if (args.file !== undefined) {
    from = `file ${args.file}`;
    try {
      raw = await readFile(await hostPathFollow(conn, args.file));
    } catch (err) {
      if (isFsError(err)) return `Unable to extract key from '${args.file}': ${describeFsError(err, args.file)}`;
      throw err;
    }
  } else if (args.url !== undefined) {
    from = args.url;
    const got = await download(args.url, args.validate_certs, environment, signal);
    if (typeof got === 'string') return got;
    raw = got;
  } else {
    return 'no key given: set data, file or url (the key is not in the keyring yet)';
  }
  let keys: PublicKey[];
  try {
    keys = parseKeyring(toBinaryKeys(raw));
  } catch (err) {
    if (err instanceof OpenPgpError) return `Unable to extract key from '${from === 'data' ? 'inline data' : from}': ${err.message}`;
    throw err;
  }
  if (keys.length === 0) return `Unable to extract key from '${from === 'data' ? 'inline data' : from}': it holds no public key`;
  return { keys, from };
}

// Fetched on the build host (the target may have no network tools) by get_url's client, so the
// task's proxy variables and get_url's proxy handling (no CONNECT for plain http) apply here too.
async function download(url: string, validateCerts: boolean, environment: Record<string, string>, signal: AbortSignal): Promise<Buffer | string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-apt-key-'));
  try {
    const file = join(dir, 'key');
    await downloadToFile(url, file, { ...HTTP_DEFAULTS, validate_certs: validateCerts }, environment, signal);
    return await readFile(file);
  } catch (err) {
    if (err instanceof DownloadError) return `Failed to download key at ${url}: ${err.reason}`;
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
