// Python's random.Random (the Mersenne Twister MT19937 and its seeding), so seeded filters and lookups (`random`,
// `shuffle`, password's `seed=`) pick exactly what ansible-core picks for the same seed.
import { createHash } from 'node:crypto';
import { TemplateError } from '../errors.js';
import { isFloat, num, PyFloat, pyTypeName } from './values.js';

const N = 624;
const M = 397;

/** A random.Random(seed) generator: same seed, same sequence as CPython 3. */
export class PyRandom {
  private readonly mt = new Uint32Array(N);
  private mti = N + 1;

  constructor(seed: unknown) {
    this.initByArray(seedKey(seed));
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** genrand_uint32: the next 32 random bits. */
  uint32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      const mag = (y: number) => (y & 1 ? 0x9908b0df : 0);
      for (; kk < N - M; kk++) {
        const y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ mag(y);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ mag(y);
      }
      const y = (mt[N - 1]! & 0x80000000) | (mt[0]! & 0x7fffffff);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ mag(y);
      this.mti = 0;
    }
    let y = mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** getrandbits(k) for k up to 53 bits (CPython fills 32-bit words from the least significant up). */
  getrandbits(k: number): number {
    if (k <= 32) return k === 0 ? 0 : this.uint32() >>> (32 - k);
    const low = this.uint32();
    const high = this.uint32() >>> (64 - k);
    return high * 0x1_0000_0000 + low;
  }

  /** _randbelow(n): uniform in [0, n) by rejection, as CPython does. */
  randbelow(n: number): number {
    if (n <= 0) throw new TemplateError('empty range for randrange()');
    if (n > 2 ** 53) throw new TemplateError('imgplay draws random numbers below 2**53 only');
    const k = n.toString(2).length;
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** randrange(start, stop, step) with integer arguments. */
  randrange(start: number, stop: number, step: number): number {
    const width = stop - start;
    if (step === 1) {
      if (width > 0) return start + this.randbelow(width);
      throw new TemplateError(`empty range for randrange() (${start}, ${stop}, ${width})`);
    }
    if (step === 0) throw new TemplateError('zero step for randrange()');
    const n = step > 0 ? Math.floor((width + step - 1) / step) : Math.floor((width + step + 1) / step);
    if (n <= 0) throw new TemplateError('empty range for randrange()');
    return start + step * this.randbelow(n);
  }

  /** shuffle(list) in place, Fisher-Yates from the end as CPython does. */
  shuffle<T>(list: T[]): T[] {
    for (let i = list.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  }
}

// random.seed(a) version 2: ints by their absolute value, str/bytes as the integer of their bytes followed by
// their SHA-512; the integer is cut into 32-bit words, least significant first.
function seedKey(seed: unknown): number[] {
  let big: bigint;
  if (typeof seed === 'boolean') big = seed ? 1n : 0n;
  else if (typeof seed === 'number' && Number.isInteger(seed) && !isFloat(seed)) big = BigInt(Math.abs(seed));
  else if (typeof seed === 'string') {
    const bytes = Buffer.from(seed, 'utf8');
    const all = Buffer.concat([bytes, createHash('sha512').update(bytes).digest()]);
    big = BigInt(`0x${all.toString('hex')}`);
  } else if (seed instanceof PyFloat || typeof seed === 'number') {
    throw new TemplateError(`a float seed (${num(seed as number)}) is not supported by imgplay: Python hashes floats to seed with them`, { hint: 'seed with an integer or a string' });
  } else if (seed === null) {
    throw new TemplateError('a seed of None draws from the system clock; give an integer or a string');
  } else {
    throw new TemplateError(`The only supported seed types are: None, int, float, str, bytes, and bytearray, not ${pyTypeName(seed)}`);
  }
  const words: number[] = [];
  while (big > 0n) {
    words.push(Number(big & 0xffffffffn));
    big >>= 32n;
  }
  return words.length ? words : [0];
}
