import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ParseError, ValidationError } from '../../../src/errors.js';
import { expandHostPattern, MAX_RANGE_HOSTS } from '../../../src/inventory/host-name.js';
import { loadInventory } from '../../../src/inventory/inventory.js';
import { rejection, thrown } from '../../support/thrown.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-inventory-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('inventories under hostile input', () => {
  it(`expands a range of ${MAX_RANGE_HOSTS} hosts and refuses one more`, () => {
    expect(expandHostPattern(`h[1:${MAX_RANGE_HOSTS}]`).hosts).toHaveLength(MAX_RANGE_HOSTS);
    expect(thrown(() => expandHostPattern(`h[0:${MAX_RANGE_HOSTS}]`)).message).toBe(
      `the host ranges in 'h[0:${MAX_RANGE_HOSTS}]' name more than ${MAX_RANGE_HOSTS} hosts`,
    );
  });

  it('refuses ranges whose product is too large, though each is small', () => {
    expect(thrown(() => expandHostPattern('h[1:1000][1:1000]')).message).toMatch(/name more than/);
  });

  it('refuses h[1:99999999] in a YAML or INI inventory quickly, where it is written', async () => {
    const started = Date.now();
    const yaml = await rejection(loadInventory([file('big.yml', 'all:\n  hosts:\n    "h[1:99999999]":\n')]));
    expect(yaml).toBeInstanceOf(ValidationError);
    expect((yaml as ValidationError).pos).toEqual({ file: join(dir, 'big.yml'), line: 3, col: 5 });
    const ini = await rejection(loadInventory([file('big.ini', '[g]\nh[1:99999999]\n')]));
    expect(ini).toBeInstanceOf(ValidationError);
    expect((ini as ValidationError).pos).toMatchObject({ file: join(dir, 'big.ini'), line: 2 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses an inventory file over the size limit without reading it', async () => {
    const big = file('huge.ini', '');
    truncateSync(big, 100 * 1024 * 1024);
    const err = await rejection(loadInventory([big]));
    expect(err).toBeInstanceOf(ParseError);
    expect(err.message).toBe(`${big} is 100.0 MiB, over the 2.0 MiB imgplay reads from one YAML or inventory input`);
  });

  it('refuses a billion laughs in group_vars, located', async () => {
    const inv = join(dir, 'inv');
    file('inv/hosts.yml', 'all:\n  hosts:\n    localhost:\n');
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    file('inv/group_vars/all.yml', `${lines.join('\n')}\n`);
    const err = await rejection(loadInventory([inv]));
    expect(err.message).toMatch(/YAML aliases expand to more than/);
    expect((err as ParseError).pos?.file).toBe(join(inv, 'group_vars', 'all.yml'));
  });
});
