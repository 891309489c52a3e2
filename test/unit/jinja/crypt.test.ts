import { describe, expect, it } from 'vitest';
import { crypt, passwordHash } from '../../../src/jinja/crypt.js';
import { PyRandom } from '../../../src/jinja/pyrandom.js';

// Expected values were computed with CPython 3.11's crypt and random modules on Debian (libxcrypt).
describe('crypt(3) methods', () => {
  it('gives glibc/libxcrypt SHA-512, SHA-256 and MD5 hashes', () => {
    expect(crypt('secret', '$6$saltsalt')).toBe('$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1');
    expect(crypt('', '$6$x')).toBe('$6$x$QSmr1Bx2g4O6BzKvdkgOcyU6H91X6I/XBv5pSalMhSPkwdH6Beo3F455xZJg0v//bxVK5F4OE5k1.0xuR26MK0');
    expect(crypt('abc', '$5$rounds=5000$salt')).toBe('$5$rounds=5000$salt$6XvgFG1LMWL/SedlWdxAafOEHFFpkPXLqeNHsdc7P16');
    expect(crypt('pw', '$1$12345678')).toBe('$1$12345678$OYWcP3UEQ50eVnrC3.L3v/');
  });

  it('cuts a salt longer than the method allows, as crypt does', () => {
    const long = 'pässwörd long long long long long long long long long long long long long long';
    expect(crypt(long, '$6$rounds=1000$abcdefghijklmnopq')).toBe(
      '$6$rounds=1000$abcdefghijklmnop$.PqXruUAk/Kl8VqtJCeuAVKnRY1o6cuBDw4vBo4OIIXRghC9t3rkKZSJDmM1PUfxfoIlplQ991X19ZM0MkEzM1',
    );
  });

  it('hashes as password_hash does without passlib: implicit rounds dropped, bad salts and rounds refused', () => {
    expect(passwordHash('secret', 'sha512', 'abc', 656000)).toBe(crypt('secret', '$6$abc'));
    expect(() => passwordHash('x', 'sha512', 'bad salt!')).toThrow('invalid characters in salt');
    expect(() => passwordHash('x', 'md5', '123456789')).toThrow('invalid salt size');
    expect(() => passwordHash('x', 'sha512', 's', 10)).toThrow("crypt.crypt does not support 'sha512_crypt' algorithm");
    expect(() => passwordHash('x', 'whirlpool')).toThrow("crypt.crypt does not support 'whirlpool' algorithm");
    expect(passwordHash('x', 'sha256')).toMatch(/^\$5\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{43}$/);
  });
});

describe("Python's random.Random", () => {
  it('draws what CPython draws for string, int and big int seeds', () => {
    const r = new PyRandom('imgplay');
    expect([0, 1, 2].map(() => r.randrange(0, 100, 1))).toEqual([16, 47, 15]);
    const i = new PyRandom(12345);
    expect([i.getrandbits(32), i.getrandbits(32)]).toEqual([1789368711, 3146859322]);
    expect(new PyRandom('imgplay').shuffle(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toEqual(['d', 'g', 'e', 'f', 'a', 'c', 'b']);
    expect(new PyRandom(0).randbelow(2 ** 40)).toBe(849735321549);
  });

  it('refuses seeds it cannot reproduce', () => {
    expect(() => new PyRandom(null)).toThrow(/seed of None/);
    expect(() => new PyRandom({})).toThrow(/supported seed types/);
  });
});
