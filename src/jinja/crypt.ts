// crypt(3)'s MD5-crypt ($1$) and SHA-crypt ($5$, $6$, Ulrich Drepper's published specification), as glibc and
// libxcrypt compute them: the `password_hash` filter and the password lookup's `encrypt=` give Ansible's hashes.
// Written out here because Node has no crypt(3), and spawning a tool per hash would not keep expressions synchronous.
import { createHash, randomInt } from 'node:crypto';
import { TemplateError } from '../errors.js';

const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += B64[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

function digest(algo: 'md5' | 'sha256' | 'sha512', ...parts: Buffer[]): Buffer {
  const h = createHash(algo);
  for (const p of parts) h.update(p);
  return h.digest();
}

// `len` bytes of `block` repeated.
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
  return out;
}

function md5Crypt(pw: Buffer, saltText: string): string {
  const salt = Buffer.from(saltText.slice(0, 8).split('$')[0]!, 'utf8');
  const alt = digest('md5', pw, salt, pw);
  const h = createHash('md5').update(pw).update('$1$').update(salt).update(repeatTo(alt, pw.length));
  for (let i = pw.length; i > 0; i >>= 1) h.update(i & 1 ? Buffer.from([0]) : pw.subarray(0, 1));
  let fin = h.digest();
  for (let i = 0; i < 1000; i++) {
    const c = createHash('md5');
    c.update(i & 1 ? pw : fin);
    if (i % 3) c.update(salt);
    if (i % 7) c.update(pw);
    c.update(i & 1 ? fin : pw);
    fin = c.digest();
  }
  const f = fin;
  const enc =
    b64From24(f[0]!, f[6]!, f[12]!, 4) + b64From24(f[1]!, f[7]!, f[13]!, 4) + b64From24(f[2]!, f[8]!, f[14]!, 4) +
    b64From24(f[3]!, f[9]!, f[15]!, 4) + b64From24(f[4]!, f[10]!, f[5]!, 4) + b64From24(0, 0, f[11]!, 2);
  return `$1$${salt.toString('utf8')}$${enc}`;
}

// The byte triples of the final encoding (the specification's order), the last group written with fewer characters.
const ORDER_512 = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7], [50, 8, 29],
  [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57], [37, 58, 16],
  [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];
const ORDER_256 = [[0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14], [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29]];

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
// An expression must not hang a run: 50 million rounds take about half a minute.
const ROUNDS_AFFORDED = 50_000_000;

/** crypt(3) returned its failure token for this setting. */
export class CryptRefused extends TemplateError {}

function shaCrypt(pw: Buffer, setting: string, id: '5' | '6'): string {
  const algo = id === '5' ? 'sha256' : 'sha512';
  let rest = setting;
  let rounds = ROUNDS_DEFAULT;
  let custom = false;
  const m = /^rounds=(\d+)\$/.exec(rest);
  if (m) {
    // libxcrypt (Debian's crypt) refuses rounds out of range where the specification would clamp them.
    rounds = Number(m[1]);
    if (rounds < ROUNDS_MIN || rounds > ROUNDS_MAX) throw new CryptRefused(`rounds=${m[1]} is out of crypt's range ${ROUNDS_MIN}..${ROUNDS_MAX}`);
    if (rounds > ROUNDS_AFFORDED) {
      throw new TemplateError(`rounds=${rounds} would take minutes to hash; imgplay hashes with at most ${ROUNDS_AFFORDED} rounds`);
    }
    custom = true;
    rest = rest.slice(m[0].length);
  }
  const saltText = rest.split('$')[0]!.slice(0, 16);
  const salt = Buffer.from(saltText, 'utf8');
  const b = digest(algo, pw, salt, pw);
  const ha = createHash(algo).update(pw).update(salt).update(repeatTo(b, pw.length));
  for (let i = pw.length; i > 0; i >>= 1) ha.update(i & 1 ? b : pw);
  const a = ha.digest();
  const dpCtx = createHash(algo);
  for (let i = 0; i < pw.length; i++) dpCtx.update(pw);
  const p = repeatTo(dpCtx.digest(), pw.length);
  const dsCtx = createHash(algo);
  for (let i = 0; i < 16 + a[0]!; i++) dsCtx.update(salt);
  const s = repeatTo(dsCtx.digest(), salt.length);
  let c = a;
  for (let i = 0; i < rounds; i++) {
    const h = createHash(algo);
    h.update(i & 1 ? p : c);
    if (i % 3) h.update(s);
    if (i % 7) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }
  let enc = '';
  for (const [x, y, z] of id === '6' ? ORDER_512 : ORDER_256) enc += b64From24(c[x!]!, c[y!]!, c[z!]!, 4);
  enc += id === '6' ? b64From24(0, 0, c[63]!, 2) : b64From24(0, c[31]!, c[30]!, 3);
  return `$${id}$${custom ? `rounds=${rounds}$` : ''}${saltText}$${enc}`;
}

/** crypt(3) of a password with a setting such as `$6$rounds=5000$salt`; only the MD5 and SHA methods. */
export function crypt(password: string, setting: string): string {
  const pw = Buffer.from(password, 'utf8');
  if (setting.startsWith('$1$')) return md5Crypt(pw, setting.slice(3));
  if (setting.startsWith('$5$')) return shaCrypt(pw, setting.slice(3), '5');
  if (setting.startsWith('$6$')) return shaCrypt(pw, setting.slice(3), '6');
  throw new TemplateError(`crypt setting ${JSON.stringify(setting.slice(0, 4))} is not implemented in imgplay`, { hint: 'md5, sha256 and sha512 hashes are' });
}

const ALGORITHMS: Record<string, { id: string; saltSize: number; implicitRounds?: number }> = {
  md5_crypt: { id: '1', saltSize: 8 },
  sha256_crypt: { id: '5', saltSize: 16, implicitRounds: 535000 },
  sha512_crypt: { id: '6', saltSize: 16, implicitRounds: 656000 },
};
const NAMES: Record<string, string> = { md5: 'md5_crypt', sha256: 'sha256_crypt', sha512: 'sha512_crypt', blowfish: 'bcrypt' };
const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./';

/** Ansible's password_hash without passlib (its crypt path, which Debian's ansible-core takes): same salts,
 *  rounds and error texts. A missing salt is random. */
export function passwordHash(password: string, hashtype: string, salt?: string, rounds?: number, ident?: string, saltSize?: number): string {
  const name = NAMES[hashtype] ?? hashtype;
  if (name === 'bcrypt') throw new TemplateError("password_hash('blowfish') (bcrypt) is not implemented in imgplay", { hint: 'use sha512 (the default) or sha256' });
  const algo = ALGORITHMS[name];
  if (!algo) throw new TemplateError(`crypt.crypt does not support '${name}' algorithm`);
  const s = salt ?? Array.from({ length: saltSize ?? algo.saltSize }, () => SALT_CHARS[randomInt(SALT_CHARS.length)]).join('');
  if (/[^./0-9A-Za-z]/.test(s)) throw new TemplateError('invalid characters in salt');
  if (s.length > algo.saltSize) throw new TemplateError('invalid salt size');
  // Passlib leaves the implicit rounds out; Ansible makes crypt do the same (which then uses crypt's own default).
  const r = rounds === algo.implicitRounds ? undefined : rounds;
  // Without passlib Ansible drops a given ident for these methods and crypt(3) then refuses the setting.
  if (ident) throw new TemplateError(`crypt.crypt does not support '${name}' algorithm`);
  try {
    return crypt(password, `$${algo.id}${r ? `$rounds=${r}` : ''}$${s}`);
  } catch (err) {
    if (err instanceof CryptRefused) throw new TemplateError(`crypt.crypt does not support '${name}' algorithm`, { hint: err.message });
    throw err;
  }
}
