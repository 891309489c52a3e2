// Plain scalars are read as PyYAML (Ansible's reader) reads them, not as the yaml package's YAML 1.1 does:
// expected values from /usr/bin/python3 -c "import yaml; yaml.safe_load(...)".
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../../src/yaml/load.js';

const read = (text: string): unknown => (parseYaml(`v: ${text}`, 'test.yml') as { v: unknown }).v;

describe('a plain scalar', () => {
  it.each([
    ['e1', 'e1'],
    ['e5', 'e5'],
    ['1e5', '1e5'],
    ['1e-3', '1e-3'],
    ['6.02e23', '6.02e23'],
    ['1.0e+5', 100000],
    ['1.5e+3', 1500],
    ['.5', 0.5],
    ['-.5', '-.5'],
    ['1.', 1],
    ['08', '08'],
    ['017', 15],
    ['0x1f', 31],
    ['0b101', 5],
    ['1_000', 1000],
    ['1:30', 90],
    ['y', 'y'],
    ['n', 'n'],
    ['Y', 'Y'],
    ['yes', true],
    ['Off', false],
    ['~', null],
  ])('%s is read as PyYAML reads it', (text, want) => {
    expect(read(text)).toEqual(want);
  });
});
