import { describe, expect, it } from 'vitest';
import { excerpt, parseYaml, posOfKey } from '../../../src/yaml/load.js';

describe('the YAML loader', () => {
  it('reads YAML 1.1 as Ansible does: yes/no are booleans and 0644 is octal', () => {
    expect(parseYaml('a: yes\nb: no\nmode: 0644\n', 'f.yml')).toEqual({ a: true, b: false, mode: 420 });
  });

  it('keeps y and n as strings, in keys and values, as PyYAML does', () => {
    expect(parseYaml('n: 5\ny: n\n', 'f.yml')).toEqual({ n: 5, y: 'n' });
  });

  it('remembers where each key was written', () => {
    const doc = parseYaml('- hosts: all\n  tasks:\n    - copy: {}\n', 'p.yml') as Array<{ tasks: object[] }>;
    expect(posOfKey(doc[0]!.tasks[0], 'copy')).toEqual({ file: 'p.yml', line: 3, col: 7 });
  });

  it('points a syntax error at its line with a caret', () => {
    try {
      parseYaml('a: [1, 2\nb: c\n', 'bad.yml');
      expect.unreachable();
    } catch (e) {
      const err = e as { message: string; pos: { file: string; line: number; col: number } };
      expect(err.message).toMatch(/^YAML syntax error/);
      expect(excerpt(err.pos)).toBe('   2 | b: c\n     | ^');
    }
  });

  it('applies merge keys, explicit keys winning', () => {
    expect(parseYaml('base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n', 'm.yml')).toEqual({ base: { x: 1, y: 2 }, other: { x: 1, y: 3 } });
  });
});
