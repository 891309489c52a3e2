import { describe, expect, it } from 'vitest';
import type { TaskNode } from '../../../src/playbook/model.js';
import { loopItems } from '../../../src/playbook/loop.js';

const node = { pos: { file: 'p.yml', line: 3, col: 7 }, action: 'debug' } as TaskNode;
const vars = { xs: [1, 2], flavour: 'debian' };

describe('loop items', () => {
  it('takes a loop list as it is', () => {
    expect(loopItems('loop', [[1, 2], 3], node, vars)).toEqual([[1, 2], 3]);
  });

  it('refuses a loop over a string, as Ansible does', () => {
    expect(() => loopItems('loop', 'a,b', node, vars)).toThrow(/Invalid data passed to 'loop', it requires a list/);
  });

  it('flattens one level for with_items and treats a lone string or None as one item', () => {
    expect(loopItems('items', [[1, 2], 3, [[4]]], node, vars)).toEqual([1, 2, 3, [4]]);
    expect(loopItems('items', 'solo', node, vars)).toEqual(['solo']);
    expect(loopItems('items', null, node, vars)).toEqual([null]);
    expect(loopItems('items', '{{ xs }}', node, vars)).toEqual([1, 2]);
  });

  it('turns with_dict into key/value items', () => {
    expect(loopItems('dict', { a: 1, b: 2 }, node, vars)).toEqual([{ key: 'a', value: 1 }, { key: 'b', value: 2 }]);
  });

  it('counts with_sequence like Ansible, printf formats included', () => {
    expect(loopItems('sequence', 'start=1 end=3', node, vars)).toEqual(['1', '2', '3']);
    expect(loopItems('sequence', 'start=0 count=3 stride=2 format=n%02d', node, vars)).toEqual(['n00', 'n02', 'n04']);
    expect(loopItems('sequence', 'start=5 end=11 stride=2 format=0x%02x', node, vars)).toEqual(['0x05', '0x07', '0x09', '0x0b']);
    expect(loopItems('sequence', '4:host%02d', node, vars)).toEqual(['host01', 'host02', 'host03', 'host04']);
    expect(loopItems('sequence', 'start=0x0f00 count=2 format=%04X', node, vars)).toEqual(['0F00', '0F01']);
    expect(loopItems('sequence', 'start=3 end=1 stride=-1', node, vars)).toEqual(['3', '2', '1']);
  });

  it('refuses with_sequence arguments Ansible refuses', () => {
    expect(() => loopItems('sequence', 'start=1 end=3 step=1', node, vars)).toThrow("unrecognized arguments to with_sequence: ['step']");
    expect(() => loopItems('sequence', 'end=3 format=%d-%d', node, vars)).toThrow('bad formatting string: %d-%d');
    expect(() => loopItems('sequence', 'start=5 end=1', node, vars)).toThrow('to count backwards make stride negative');
    expect(() => loopItems('sequence', 'start=010 end=12', node, vars)).toThrow("can't parse start=010 as integer");
  });

  it('combines lists for with_nested and with_together', () => {
    expect(loopItems('nested', [['a', 'b'], [1, 2]], node, vars)).toEqual([['a', 1], ['a', 2], ['b', 1], ['b', 2]]);
    expect(loopItems('together', [[1, 2], [3]], node, vars)).toEqual([[1, 3], [2, null]]);
  });

  it('pairs each element with its sublist items for with_subelements, without the sublist', () => {
    const users = [{ name: 'a', keys: ['k1', 'k2'] }, { name: 'b' }];
    expect(loopItems('subelements', [users, 'keys', { skip_missing: true }], node, vars)).toEqual([
      [{ name: 'a' }, 'k1'],
      [{ name: 'a' }, 'k2'],
    ]);
    expect(() => loopItems('subelements', [users, 'keys'], node, vars)).toThrow("could not find 'keys' key in iterated item");
  });

  it('drops with_first_found candidates that name undefined variables', () => {
    expect(() => loopItems('first_found', ['{{ nosuch }}.yml', 'none-here.yml'], node, vars)).toThrow('No file was found when using first_found.');
  });
});
