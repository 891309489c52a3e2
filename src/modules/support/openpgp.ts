// Just enough OpenPGP (RFC 4880/9580) to handle apt keyrings without gpg: undo ASCII armor, split a
// keyring into keys, and compute each key's fingerprint and key id.
import { createHash } from 'node:crypto';

/** A problem with key data: not armored, truncated, or a packet this parser does not take. */
export class OpenPgpError extends Error {}

/** One packet: its tag and where it sits in the buffer (header included), with its body. */
export interface Packet {
  tag: number;
  start: number;
  end: number;
  body: Buffer;
}

/** One transferable public key: its primary key's identity, subkeys' ids and its bytes in the keyring. */
export interface PublicKey {
  /** Hex, upper case: 40 digits for v4, 64 for v5/v6. */
  fingerprint: string;
  /** The 16-digit key id (last 8 bytes of a v4 fingerprint, first 8 of a v5/v6 one). */
  keyId: string;
  subkeyIds: string[];
  /** The key's packets, as found, from its public-key packet up to the next one. */
  bytes: Buffer;
}

const PUBLIC_KEY = 6;
const PUBLIC_SUBKEY = 14;

/** True if the text holds an ASCII-armored public key block. */
export function isArmored(data: Buffer | string): boolean {
  return data.toString('latin1').includes('-----BEGIN PGP PUBLIC KEY BLOCK-----');
}

/** The binary packets of every armored public key block in the text (headers and CRC lines dropped). */
export function dearmor(text: string): Buffer {
  const parts: Buffer[] = [];
  const re = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;
  for (const m of text.matchAll(re)) {
    const lines = (m[1] as string).split(/\r?\n/);
    // Armor headers (Comment:, Version:) run up to the first blank line; a block may have none.
    const blank = lines.findIndex((l) => l.trim() === '');
    const hasHeaders = blank > 0 && lines.slice(0, blank).every((l) => /^[\w-]+: /.test(l));
    const body = (hasHeaders ? lines.slice(blank + 1) : lines).map((l) => l.trim()).filter((l) => l !== '' && !/^=[A-Za-z0-9+/]{4}$/.test(l));
    const joined = body.join('');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(joined)) throw new OpenPgpError('the armored key block holds characters that are not base64');
    parts.push(Buffer.from(joined, 'base64'));
  }
  if (parts.length === 0) throw new OpenPgpError('no "-----BEGIN PGP PUBLIC KEY BLOCK-----" ... "-----END" block found');
  return Buffer.concat(parts);
}

/** The packets of binary OpenPGP data, with old- and new-format headers. */
export function packets(data: Buffer): Packet[] {
  const out: Packet[] = [];
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > data.length) throw new OpenPgpError(`the key data is truncated at byte ${pos}`);
  };
  while (pos < data.length) {
    const start = pos;
    const first = data[pos++] as number;
    if ((first & 0x80) === 0) throw new OpenPgpError(`byte ${start} is not an OpenPGP packet header (is the key data binary OpenPGP?)`);
    let tag: number;
    let len: number;
    if (first & 0x40) {
      tag = first & 0x3f;
      need(1);
      const o1 = data[pos++] as number;
      if (o1 < 192) len = o1;
      else if (o1 < 224) {
        need(1);
        len = ((o1 - 192) << 8) + (data[pos++] as number) + 192;
      } else if (o1 === 255) {
        need(4);
        len = data.readUInt32BE(pos);
        pos += 4;
      } else {
        throw new OpenPgpError(`packet at byte ${start} uses a partial body length, which keys never do`);
      }
    } else {
      tag = (first >> 2) & 0x0f;
      const lenType = first & 3;
      if (lenType === 3) len = data.length - pos;
      else {
        const size = [1, 2, 4][lenType] as number;
        need(size);
        len = data.readUIntBE(pos, size);
        pos += size;
      }
    }
    need(len);
    out.push({ tag, start, end: pos + len, body: data.subarray(pos, pos + len) });
    pos += len;
  }
  return out;
}

/** A key packet's fingerprint and key id (v4: SHA-1 over 0x99, 2-byte length, body; v5/v6: SHA-256). */
export function fingerprintOf(body: Buffer): { fingerprint: string; keyId: string } {
  const version = body[0];
  if (version === 4) {
    const head = Buffer.from([0x99, (body.length >> 8) & 0xff, body.length & 0xff]);
    const fp = createHash('sha1').update(head).update(body).digest('hex').toUpperCase();
    return { fingerprint: fp, keyId: fp.slice(-16) };
  }
  if (version === 5 || version === 6) {
    const head = Buffer.alloc(5);
    head[0] = version === 5 ? 0x9a : 0x9b;
    head.writeUInt32BE(body.length, 1);
    const fp = createHash('sha256').update(head).update(body).digest('hex').toUpperCase();
    return { fingerprint: fp, keyId: fp.slice(0, 16) };
  }
  throw new OpenPgpError(`a version ${String(version)} key is not supported (only v4, v5 and v6 keys; v3 keys are obsolete)`);
}

/** The public keys in binary keyring data, in order. */
export function parseKeyring(data: Buffer): PublicKey[] {
  const keys: PublicKey[] = [];
  let current: { fingerprint: string; keyId: string; subkeyIds: string[]; start: number } | undefined;
  const close = (end: number): void => {
    if (current !== undefined) keys.push({ ...current, bytes: data.subarray(current.start, end) });
  };
  for (const p of packets(data)) {
    if (p.tag === PUBLIC_KEY) {
      close(p.start);
      current = { ...fingerprintOf(p.body), subkeyIds: [], start: p.start };
    } else if (p.tag === PUBLIC_SUBKEY && current !== undefined) {
      current.subkeyIds.push(fingerprintOf(p.body).keyId);
    } else if (current === undefined && p.tag !== 0 && p.tag !== 12) {
      // Anything but a trust packet before the first key means this is not a keyring.
      throw new OpenPgpError(`the data starts with a packet of tag ${p.tag}, not a public key (is it a secret key or a signature?)`);
    }
  }
  close(data.length);
  return keys;
}

/** Key material as the binary keyring apt reads: armored text is dearmored, binary kept. */
export function toBinaryKeys(data: Buffer): Buffer {
  return isArmored(data) ? dearmor(data.toString('latin1')) : data;
}

/** Binary keys as an ASCII-armored public key block, with its CRC-24 line (for apt's *.asc keyrings). */
export function armor(data: Buffer): string {
  const b64 = data.toString('base64').replace(/.{1,64}/g, '$&\n');
  const crc = Buffer.alloc(3);
  crc.writeUIntBE(crc24(data), 0, 3);
  return `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${b64}=${crc.toString('base64')}\n-----END PGP PUBLIC KEY BLOCK-----\n`;
}

function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}
