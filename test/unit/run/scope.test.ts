import { describe, expect, it } from 'vitest';
import type { TaskNode } from '../../../src/playbook/model.js';
import { emptyScope, innerScope, keywordTrue, nonEmpty } from '../../../src/run/scope.js';

const pos = { file: 'play.yml', line: 3, col: 5 };
const task = (fields: Partial<TaskNode>): TaskNode => ({ kind: 'task', action: 'debug', args: {}, notify: [], listen: [], when: [], tags: [], vars: {}, pos, baseDir: '.', ...fields });

describe('the scope inside a node', () => {
  it("adds the node's conditions, tags, vars and environment to the outer ones", () => {
    const outer = innerScope(emptyScope(), task({ when: ['a'], tags: ['t1'], vars: { x: 1 }, environment: { A: '1' } }));
    const inner = innerScope(outer, task({ when: ['b'], tags: ['t2'], vars: { y: 2 }, environment: { B: '2' } }));
    expect(inner.when.map((w) => w.cond)).toEqual(['a', 'b']);
    expect(inner.when[1]!.pos).toBe(pos);
    expect(inner.tags).toEqual(['t1', 't2']);
    expect(inner.vars).toEqual([{ x: 1 }, { y: 2 }]);
    expect(inner.environment).toEqual([{ A: '1' }, { B: '2' }]);
  });

  it("lets the innermost node's keywords win, and keeps the outer ones it does not set", () => {
    const outer = innerScope(emptyScope(), task({ ignore_errors: true, run_once: true, delegate_to: 'a' }));
    const inner = innerScope(outer, task({ ignore_errors: false }));
    expect(inner.ignore_errors).toBe(false);
    expect(inner.run_once).toBe(true);
    expect(inner.delegate_to).toBe('a');
  });

  it('accumulates module_defaults, outer entries first, and merges become', () => {
    const outer = innerScope(emptyScope(), task({ module_defaults: [{ copy: { mode: '0600' } }], become: { become: true } }));
    const inner = innerScope(outer, task({ module_defaults: [{ copy: { owner: 'root' } }], become: { become_user: 'x' } }));
    expect(inner.module_defaults).toEqual([{ copy: { mode: '0600' } }, { copy: { owner: 'root' } }]);
    expect(inner.become).toEqual({ become: true, become_user: 'x' });
  });

  it('adds no vars layer for a node without vars', () => {
    const outer = innerScope(emptyScope(), task({ vars: { x: 1 } }));
    expect(innerScope(outer, task({})).vars).toBe(outer.vars);
  });
});

describe('a yes/no keyword', () => {
  it('reads yes, on, 1, true, y and t as true, whatever the case', () => {
    for (const v of ['yes', 'On', '1', 'TRUE', 'y', 't']) expect(keywordTrue(v, {})).toBe(true);
    for (const v of ['no', 'off', '0', 'false', '']) expect(keywordTrue(v, {})).toBe(false);
  });

  it('is templated with the variables, and false when unset', () => {
    expect(keywordTrue('{{ flag }}', { flag: true })).toBe(true);
    expect(keywordTrue(undefined, {})).toBe(false);
  });

  it('takes an empty list or mapping as false, as Python does', () => {
    expect(nonEmpty([])).toBe(false);
    expect(nonEmpty({})).toBe(false);
    expect(nonEmpty([0])).toBe(true);
    expect(nonEmpty(0)).toBe(false);
  });
});
