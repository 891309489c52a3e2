import { describe, expect, it } from 'vitest';
import type { TaskNode } from '../../../src/playbook/model.js';
import { loopItems } from '../../../src/run/loop.js';

const node = { pos: { file: 'p.yml', line: 3, col: 7 } } as TaskNode;

describe('loop items', () => {
  it('takes a loop list as it is', () => {
    expect(loopItems('loop', [[1, 2], 3], node)).toEqual([[1, 2], 3]);
  });

  it('refuses a loop over a string, as Ansible does', () => {
    expect(() => loopItems('loop', 'a,b', node)).toThrow(/Invalid data passed to 'loop', it requires a list/);
  });

  it('flattens one level for with_items and treats a lone string as one item', () => {
    expect(loopItems('items', [[1, 2], 3, [[4]]], node)).toEqual([1, 2, 3, [4]]);
    expect(loopItems('items', 'solo', node)).toEqual(['solo']);
  });

  it('turns with_dict into key/value items', () => {
    expect(loopItems('dict', { a: 1, b: 2 }, node)).toEqual([{ key: 'a', value: 1 }, { key: 'b', value: 2 }]);
  });

  it('counts with_sequence like Ansible', () => {
    expect(loopItems('sequence', 'start=1 end=3', node)).toEqual(['1', '2', '3']);
    expect(loopItems('sequence', 'start=0 count=3 stride=2 format=n%02d', node)).toEqual(['n00', 'n02', 'n04']);
  });
});
