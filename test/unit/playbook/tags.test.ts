import { describe, expect, it } from 'vitest';
import { selectedByTags } from '../../../src/playbook/tags.js';

describe('tag selection', () => {
  it('runs everything but never-tagged tasks by default', () => {
    expect(selectedByTags([], [], [])).toBe(true);
    expect(selectedByTags(['a'], [], [])).toBe(true);
    expect(selectedByTags(['never'], [], [])).toBe(false);
  });

  it('runs only matching tasks, plus always, with --tags', () => {
    expect(selectedByTags(['a'], ['a'], [])).toBe(true);
    expect(selectedByTags(['b'], ['a'], [])).toBe(false);
    expect(selectedByTags([], ['a'], [])).toBe(false);
    expect(selectedByTags(['always'], ['a'], [])).toBe(true);
  });

  it('runs a never-tagged task only when one of its other tags is asked for', () => {
    expect(selectedByTags(['never', 'debug'], ['debug'], [])).toBe(true);
    expect(selectedByTags(['never', 'debug'], ['all'], [])).toBe(false);
  });

  it('skips with --skip-tags, even always when named', () => {
    expect(selectedByTags(['a'], [], ['a'])).toBe(false);
    expect(selectedByTags(['always'], [], ['a'])).toBe(true);
    expect(selectedByTags(['always'], [], ['always'])).toBe(false);
  });

  it('understands tagged and untagged', () => {
    expect(selectedByTags([], ['untagged'], [])).toBe(true);
    expect(selectedByTags(['x'], ['untagged'], [])).toBe(false);
    expect(selectedByTags(['x'], ['tagged'], [])).toBe(true);
    expect(selectedByTags(['x'], [], ['tagged'])).toBe(false);
  });
});
