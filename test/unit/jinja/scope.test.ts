// Lazy variables and hostvars: every read of hostvars builds the host's variables afresh (as the executor
// does), each holding hostvars again, so nothing may walk into them to describe or render them.
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../../src/errors.js';
import { evaluate } from '../../../src/jinja/expr.js';
import { describeValue, markSelfTemplating } from '../../../src/jinja/values.js';
import { lazyVars } from '../../../src/jinja/scope.js';
import { templateValue } from '../../../src/jinja/template.js';
import { thrown } from '../../support/thrown.js';

// Host variables with hostvars in them, the shape the executor gives a task.
function inventory(hosts: Record<string, Record<string, unknown>>, playVars: Record<string, unknown> = {}) {
  const varsOf = (name: string): Record<string, unknown> => lazyVars([hosts[name], playVars], { inventory_hostname: name, hostvars: hostvars() });
  const hostvars = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(hosts)) {
      Object.defineProperty(out, name, { enumerable: true, get: () => markSelfTemplating(varsOf(name), `hostvars['${name}']`) });
    }
    return markSelfTemplating(out, 'hostvars');
  };
  return varsOf;
}

describe('hostvars in expressions', () => {
  const vars = inventory({ localhost: { a: 1 }, web: { b: 2, c: '{{ b + 1 }}' } })('localhost');

  it('gives the default for a variable a host does not have', () => {
    expect(evaluate("hostvars['localhost'].nope | default('d')", vars)).toBe('d');
    expect(evaluate("hostvars['web'].nope | default('d')", vars)).toBe('d');
    expect(evaluate("hostvars['web']['nope'] | default('d')", vars)).toBe('d');
    expect(evaluate("hostvars['localhost'].nope.deeper | default('d')", vars)).toBe('d');
  });

  it('renders the variables of another host with that host\'s variables', () => {
    expect(evaluate("hostvars['web'].c", vars)).toBe('3');
    expect(templateValue("{{ hostvars['web'].b }}-{{ hostvars.web.c }}", vars)).toBe('2-3');
  });

  it('says which host lacks the variable, without printing its variables', () => {
    const err = thrown(() => evaluate("hostvars['web'].nope", vars));
    expect(err.message).toContain("'hostvars['web'].nope' is undefined");
    expect((err as TemplateError).hint).toContain("hostvars['web'] has no attribute 'nope'");
  });

  it('gives the default even when another variable of the host refers to itself', () => {
    const withLoop = inventory({ localhost: { self: '{{ self }}', other: '{{ hostvars.localhost.other }}' } })('localhost');
    expect(evaluate("hostvars['localhost'].nope | default('d')", withLoop)).toBe('d');
  });
});

describe('a variable that refers to itself', () => {
  it('is named, with the loop', () => {
    expect(thrown(() => templateValue('{{ a }}', lazyVars([{ a: '{{ b }}', b: '{{ a }}' }]))).message).toContain("recursive loop detected in template for variable 'a': a -> b -> a");
  });

  it('is named when the loop runs through hostvars, before the stack runs out', () => {
    const vars = inventory({ localhost: { y: '{{ hostvars[inventory_hostname].y }}' } })('localhost');
    const err = thrown(() => templateValue('{{ y }}', vars));
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.message).toContain("recursive loop detected in template for variable 'y': y -> y");
    expect(err.message).not.toMatch(/nests too deeply|call stack/);
  });

  it('is named when two hosts refer to each other', () => {
    const vars = inventory({ a: { x: "{{ hostvars['b'].x }}" }, b: { x: "{{ hostvars['a'].x }}" } })('a');
    expect(thrown(() => templateValue('{{ x }}', vars)).message).toContain("variable 'x': x -> x");
  });

  it('leaves a long chain of variables that ends alone', () => {
    const chain: Record<string, unknown> = { v0: 'end' };
    for (let i = 1; i <= 50; i++) chain[`v${i}`] = `{{ v${i - 1} }}`;
    expect(templateValue('{{ v50 }}', lazyVars([chain]))).toBe('end');
  });
});

describe('describeValue', () => {
  it('prints the start of a value', () => {
    expect(describeValue({ k: 'v', n: [1, 2] })).toBe("{'k': 'v', 'n': [1, 2]}");
    expect(describeValue({ long: 'x'.repeat(100) })).toBe(`{'long': '${'x'.repeat(27)}...`);
  });

  it('reads no more of a value than it prints', () => {
    let reads = 0;
    const big: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) Object.defineProperty(big, `k${i}`, { enumerable: true, get: () => ++reads });
    describeValue(big);
    expect(reads).toBeLessThan(10);
  });

  it('ends the text at a value that fails to render', () => {
    expect(describeValue(lazyVars([{ a: '{{ a }}' }]))).toBe("{'a': ...");
  });
});
