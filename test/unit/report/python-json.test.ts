import { describe, expect, it } from 'vitest';
import { pythonJson } from '../../../src/report/python-json.js';
import { pyRepr } from '../../../src/report/plain.js';

describe('Python-compatible JSON', () => {
  it('sorts keys and uses Python separators on one line', () => {
    expect(pythonJson({ msg: 'hi', changed: false, rc: 0 })).toBe('{"changed": false, "msg": "hi", "rc": 0}');
  });

  it('indents by four like json.dumps(indent=4)', () => {
    expect(pythonJson({ msg: ['a'] }, 4)).toBe('{\n    "msg": [\n        "a"\n    ]\n}');
  });

  it('writes floats with a decimal point and keeps unicode', () => {
    expect(pythonJson([1.5, 2, 'é'])).toBe('[1.5, 2, "é"]');
  });

  it('renders loop labels as Python repr', () => {
    expect(pyRepr({ name: 'a', n: 1, on: true, x: null })).toBe("{'name': 'a', 'n': 1, 'on': True, 'x': None}");
  });
});
