import { describe, expect, it } from 'vitest';
import { findModule } from '../../../src/modules/index.js';
import type { Module } from '../../../src/modules/types.js';
import { moduleArgs, taskEnvironment } from '../../../src/run/module-args.js';

const pos = { file: 'play.yml', line: 2, col: 3 };
const mod = (name: string) => findModule(name) as Module<unknown>;

describe("a task's arguments as its module gets them", () => {
  it('are templated and checked against the spec (aliases folded, types coerced)', () => {
    const args = moduleArgs(mod('file'), { dest: '{{ d }}/x', state: 'directory' }, [], { d: '/tmp' }, pos);
    expect(args).toMatchObject({ path: '/tmp/x', state: 'directory' });
  });

  it("take module_defaults for the module under the task's own, later entries winning", () => {
    const defaults = [{ file: { mode: '0600', owner: 'a' } }, { file: { owner: '{{ who }}' } }, { copy: { mode: '0644' } }];
    const args = moduleArgs(mod('file'), { path: '/x', mode: '0700' }, defaults, { who: 'b' }, pos);
    expect(args).toMatchObject({ path: '/x', mode: '0700', owner: 'b' });
  });

  it('refuse module_defaults that are not a mapping, at the task', () => {
    expect(() => moduleArgs(mod('file'), { path: '/x' }, [{ file: ['mode'] }], {}, pos)).toThrow(/module_defaults for file must be a mapping/);
  });

  it('leave the arguments the module takes raw untemplated', () => {
    const args = moduleArgs(mod('assert'), { that: ['{{ x }} == 1'] }, [], {}, pos);
    expect(args.that).toEqual(['{{ x }} == 1']);
  });
});

describe("a task's environment", () => {
  it('merges the environments around it, outer first, as strings', () => {
    expect(taskEnvironment([{ A: 1, B: 'x' }, { B: '{{ b }}' }], { b: 'y' })).toEqual({ A: '1', B: 'y' });
  });
});
