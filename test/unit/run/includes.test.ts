import { describe, expect, it } from 'vitest';
import { includeTooDeep, MAX_INCLUDE_DEPTH } from '../../../src/run/includes.js';

describe('how deep includes may nest', () => {
  it(`lets them nest ${MAX_INCLUDE_DEPTH} deep`, () => {
    expect(includeTooDeep(Array.from({ length: MAX_INCLUDE_DEPTH - 1 }, (_, i) => `f${i}.yml`), 'next.yml')).toBeUndefined();
  });

  it('past that, names the files that repeat', () => {
    const chain = Array.from({ length: MAX_INCLUDE_DEPTH }, (_, i) => (i % 2 ? 'b.yml' : 'a.yml'));
    expect(includeTooDeep(chain, 'a.yml')).toBe(`includes nest more than ${MAX_INCLUDE_DEPTH} deep: a.yml -> b.yml -> a.yml repeats without end`);
  });

  it('names the last three when nothing repeats', () => {
    const chain = Array.from({ length: MAX_INCLUDE_DEPTH }, (_, i) => `f${i}.yml`);
    expect(includeTooDeep(chain, 'new.yml')).toContain(`f${MAX_INCLUDE_DEPTH - 2}.yml -> f${MAX_INCLUDE_DEPTH - 1}.yml -> new.yml repeats`);
  });
});
