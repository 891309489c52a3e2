import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aptKey, normaliseId } from '../../../src/modules/apt-key.js';
import { armor, dearmor, parseKeyring } from '../../../src/modules/support/openpgp.js';
import { cases, makeContext, prepare, sandbox } from '../../support/module-cases.js';
import { rooted, rootedRows } from '../../support/rooted-module.js';

// Real keys made by the host's gpg in a throwaway GNUPGHOME: A has an encryption subkey, B has none.
const gnupg = mkdtempSync(join(tmpdir(), 'imgplay-gpg-'));
const gpg = (...args: string[]): string => execFileSync('gpg', ['--batch', '--homedir', gnupg, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
function makeKey(uid: string, withSubkey: boolean): { armored: string; fingerprint: string; keyId: string; subkeyId?: string } {
  gpg('--quick-gen-key', '--passphrase', '', uid, 'ed25519', 'sign', 'never');
  const fpr = (gpg('--with-colons', '--fingerprint', uid).split('\n').find((l) => l.startsWith('fpr:')) as string).split(':')[9] as string;
  if (withSubkey) gpg('--quick-add-key', '--passphrase', '', fpr, 'cv25519', 'encr', 'never');
  const colons = gpg('--with-colons', '--fingerprint', uid).split('\n');
  const sub = colons.find((l) => l.startsWith('sub:'))?.split(':')[4];
  return { armored: gpg('--export', '--armor', uid), fingerprint: fpr, keyId: fpr.slice(-16), ...(sub ? { subkeyId: sub } : {}) };
}
const A = makeKey('Test A <a@example.invalid>', true);
const B = makeKey('Test B <b@example.invalid>', false);
const binA = dearmor(A.armored);
const binB = dearmor(B.armored);
// Tree specs hold text; binary keyrings are compared through the same (lossy but deterministic) decoding.
const asTree = (b: Buffer): string => b.toString('utf8');
afterAll(() => rmSync(gnupg, { recursive: true, force: true }));

describe('OpenPGP parsing', () => {
  it("computes gpg's fingerprints and key ids, subkeys included", () => {
    const keys = parseKeyring(Buffer.concat([binA, binB]));
    expect(keys.map((k) => k.fingerprint)).toEqual([A.fingerprint, B.fingerprint]);
    expect(keys[0]?.subkeyIds).toEqual([A.subkeyId]);
    expect(keys[1]?.subkeyIds).toEqual([]);
    expect(keys[0]?.bytes.equals(binA)).toBe(true);
  });

  it("dearmors to the same bytes as gpg's binary export", () => {
    expect(binA.equals(execFileSync('gpg', ['--batch', '--homedir', gnupg, '--export', A.fingerprint]))).toBe(true);
  });

  it('armors keys so that gpg reads them back (CRC line included)', () => {
    const out = execFileSync('gpg', ['--batch', '--homedir', gnupg, '--dearmor'], { input: armor(binA) });
    expect(out.equals(binA)).toBe(true);
    expect(dearmor(armor(binA)).equals(binA)).toBe(true);
  });

  it('refuses truncated data', () => {
    expect(() => parseKeyring(binA.subarray(0, binA.length - 5))).toThrow('truncated');
  });

  it("takes ids as Ansible does: 8, 16 or 17+ hex digits, 0x allowed, upper-cased", () => {
    expect(normaliseId('0xdeadbeef')).toBe('DEADBEEF');
    expect(normaliseId('1234567890abcdef')).toBe('1234567890ABCDEF');
    expect(normaliseId('123456789')).toBeUndefined();
    expect(normaliseId('xyz12345')).toBeUndefined();
  });
});

const ring = (id: string): string => `etc/apt/trusted.gpg.d/imgplay-${id}.gpg`;

describe('apt_key', () => {
  cases(
    rooted(aptKey),
    rootedRows([
      {
        name: 'writes an armored key from data as a binary keyring named by its key id',
        args: { data: A.armored },
        changed: true,
        after: { [ring(A.keyId)]: { content: asTree(binA), mode: 0o644 } },
        result: { id: A.keyId, key_id: A.keyId, fp: A.keyId, short_id: A.keyId.slice(-8), before: [], after: [A.keyId, A.subkeyId] },
      },
      {
        name: 'names the keyring by the id given (a full fingerprint)',
        args: { id: A.fingerprint.toLowerCase(), data: A.armored },
        changed: true,
        after: { [ring(A.fingerprint)]: asTree(binA) },
        result: { id: A.fingerprint, fp: A.keyId },
      },
      {
        name: 'accepts a short id with 0x, and a subkey id',
        args: { id: `0x${(A.subkeyId as string).slice(-8)}`, data: A.armored },
        changed: true,
        after: { [ring((A.subkeyId as string).slice(-8))]: asTree(binA) },
      },
      {
        name: 'fails when the data does not hold the key asked for',
        args: { id: B.keyId, data: A.armored },
        error: `key ${B.keyId} is not in the key data from data: it holds ${A.fingerprint}`,
      },
      {
        name: 'leaves a key already trusted from another file in trusted.gpg.d (armored .asc)',
        args: { data: A.armored },
        before: { 'etc/apt/trusted.gpg.d/vendor.asc': A.armored },
        changed: false,
        result: { before: [A.keyId, A.subkeyId] },
      },
      {
        name: 'needs no key material when the id is already trusted',
        args: { id: A.keyId },
        before: { 'etc/apt/trusted.gpg.d/vendor.asc': A.armored },
        changed: false,
      },
      {
        name: 'fails when the id is not trusted and no key is given',
        args: { id: A.keyId },
        error: 'no key given: set data, file or url',
      },
      {
        name: 'reads the key from a file in the target',
        args: { file: '/srv/a.asc' },
        before: { 'srv/a.asc': A.armored },
        changed: true,
        after: { 'srv/a.asc': A.armored, [ring(A.keyId)]: asTree(binA) },
      },
      {
        name: 'fails naming a missing key file',
        args: { file: '/srv/none.asc' },
        error: "Unable to extract key from '/srv/none.asc': [Errno 2] No such file or directory: '/srv/none.asc'",
      },
      {
        name: 'appends to a named keyring holding another key',
        args: { data: A.armored, keyring: '/etc/apt/keyrings/vendor.gpg' },
        before: { 'etc/apt/keyrings/vendor.gpg': B.armored },
        changed: true,
        after: { 'etc/apt/keyrings/vendor.gpg': asTree(Buffer.concat([binB, binA])) },
        result: { before: [B.keyId], after: [B.keyId, A.keyId, A.subkeyId] },
      },
      {
        name: 'removes a key, deleting the keyring it leaves empty',
        args: { id: A.keyId, state: 'absent' },
        before: { 'etc/apt/trusted.gpg.d/vendor.asc': A.armored, 'etc/apt/trusted.gpg.d/b.asc': B.armored },
        changed: true,
        after: { 'etc/apt/trusted.gpg.d/b.asc': B.armored },
        result: { before: [B.keyId, A.keyId, A.subkeyId], after: [B.keyId] },
      },
      {
        name: 'removes one key from a named keyring, keeping the other',
        args: { id: B.keyId.slice(-8), state: 'absent', keyring: '/etc/apt/keyrings/vendor.asc' },
        before: { 'etc/apt/keyrings/vendor.asc': `${B.armored}${A.armored}` },
        changed: true,
        after: { 'etc/apt/keyrings/vendor.asc': armor(binA) },
      },
      { name: 'leaves an absent key absent', args: { id: A.keyId, state: 'absent' }, changed: false },
      { name: 'needs an id to remove a key', args: { data: A.armored, state: 'absent' }, error: 'key is required to remove a key' },
      { name: 'refuses a key server', args: { id: A.keyId, keyserver: 'keyserver.ubuntu.com' }, invalid: 'keyserver is not supported by imgplay: builds have no key server to reach' },
      { name: 'refuses two key sources', args: { data: A.armored, file: '/a' }, invalid: 'parameters are mutually exclusive: data|file|keyserver|url' },
      { name: 'refuses a malformed id', args: { id: 'ABCDEF123', data: A.armored }, error: "Invalid key_id 'ABCDEF123'" },
      { name: 'refuses data that is not a key', args: { data: 'hello' }, error: "Unable to extract key from 'inline data'" },
      {
        name: 'refuses a named keyring that is not a keyring',
        args: { data: A.armored, keyring: '/etc/apt/keyrings/junk.gpg' },
        before: { 'etc/apt/keyrings/junk.gpg': 'not a key' },
        error: 'keyring /etc/apt/keyrings/junk.gpg is not an OpenPGP keyring',
      },
    ]),
  );

  describe('url', () => {
    const served = new Map<string, string>([['/a.asc', A.armored]]);
    const server = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      res.writeHead(body === undefined ? 404 : 200).end(body);
    });
    const saved = { NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    afterAll(() => {
      server.close();
      Object.assign(process.env, saved);
    });
    const base = async (): Promise<string> => {
      if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      // The test server is local: whatever proxy the environment names must not be asked for it.
      process.env.NO_PROXY = process.env.no_proxy = '127.0.0.1';
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const run = async (args: Record<string, unknown>) => {
      const sb = await sandbox('confined');
      const mod = rooted(aptKey);
      return { sb, r: await mod.run(makeContext({ args: await prepare(mod, args), conn: sb.conn, vars: { root: sb.rootArg } })) };
    };

    it('downloads the key on the controller and writes it', async () => {
      const { sb, r } = await run({ url: `${await base()}/a.asc` });
      expect(r).toMatchObject({ changed: true, id: A.keyId });
      expect(readFileSync(join(sb.treeDir, ring(A.keyId))).equals(binA)).toBe(true);
    });

    it('fails naming the URL and the HTTP status', async () => {
      const url = `${await base()}/missing.asc`;
      const { r } = await run({ url });
      expect(r).toMatchObject({ failed: true, msg: `Failed to download key at ${url}: HTTP Error 404: Not Found` });
    });
  });
});
