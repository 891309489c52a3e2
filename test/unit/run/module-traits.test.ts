import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findModule, moduleNames } from '../../../src/modules/index.js';
import { traitsOf } from '../../../src/modules/spec.js';

const runDir = new URL('../../../src/run/', import.meta.url).pathname;

describe('what is special about a module', () => {
  it('is declared by the module: meta acts on the play, set_fact and include_vars keep their own layers, debug always shows and needs no connection', () => {
    expect(traitsOf(findModule('meta')!)).toEqual({ actsOnPlay: true });
    expect(traitsOf(findModule('set_fact')!)).toMatchObject({ factsTo: 'variables' });
    expect(traitsOf(findModule('include_vars')!)).toMatchObject({ factsTo: 'include_vars' });
    expect(traitsOf(findModule('debug')!)).toEqual({ verboseAlways: true, controllerOnly: true });
    for (const name of ['fail', 'assert', 'set_fact', 'include_vars', 'group_by', 'add_host', 'pause']) expect(traitsOf(findModule(name)!).controllerOnly, name).toBe(true);
    expect(traitsOf(findModule('copy')!)).toEqual({});
  });

  it('names the variables a task sets before it runs: set_fact its arguments, include_vars its name or any', () => {
    expect(traitsOf(findModule('set_fact')!).namesSet?.({ a: 1, b: 2, cacheable: true })).toEqual(['a', 'b']);
    expect(traitsOf(findModule('include_vars')!).namesSet?.({ file: 'x.yml', name: 'loaded' })).toEqual(['loaded']);
    expect(traitsOf(findModule('include_vars')!).namesSet?.({ file: 'x.yml' })).toBe('any');
    expect(traitsOf(findModule('ansible.builtin.set_fact')!).namesSet).toBeDefined();
  });

  it('is never decided by the executor comparing a module name', () => {
    const names = new Set(moduleNames());
    const named: string[] = [];
    for (const file of readdirSync(runDir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(runDir, file), 'utf8');
      for (const m of text.matchAll(/\b(?:action|name)\s*[!=]==?\s*'([\w.]+)'/g)) if (names.has(m[1]!)) named.push(`${file}: ${m[0]}`);
    }
    expect(named).toEqual([]);
  });
});
