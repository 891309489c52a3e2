import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { literalEval } from '../../../src/inventory/python-literal.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

const read = (text: string) => literalEval(text)?.value;
const isText = (text: string) => literalEval(text) === undefined;

describe('literalEval', () => {
  it('reads integers in every base, with underscores and a sign', () => {
    expect([read('5'), read('-5'), read('+7'), read('0x1F'), read('0o17'), read('0b101'), read('1_000'), read('0')]).toEqual([
      5, -5, 7, 31, 15, 5, 1000, 0,
    ]);
  });

  it('reads floats', () => {
    expect([read('1.5'), read('.5'), read('5.'), read('1e3'), read('-2.5e-1')]).toEqual([1.5, 0.5, 5, 1000, -0.25]);
  });

  it('leaves numbers Python rejects as text', () => {
    expect([isText('0644'), isText('1__0'), isText('5abc'), isText('1j'), isText('--5'), isText('1+2')]).toEqual([true, true, true, true, true, true]);
  });

  it('reads True, False and None but not yes or true', () => {
    expect([read('True'), read('False'), read('None')]).toEqual([true, false, null]);
    expect([isText('yes'), isText('true'), isText('none')]).toEqual([true, true, true]);
  });

  it('reads quoted strings with their escapes', () => {
    expect(read(`'it\\'s'`)).toBe("it's");
    expect(read('"a\\tb\\x41\\u00e9\\101"')).toBe('a\tbA\u00e9A');
    expect(read(`r'a\\nb'`)).toBe('a\\nb');
    expect(read(`'a' "b"`)).toBe('ab');
    expect(read(`'''x'''`)).toBe('x');
    expect(read(`'\\q'`)).toBe('\\q');
  });

  it('leaves unterminated strings and f-strings as text', () => {
    expect([isText(`'abc`), isText(`f'x'`), isText(`"a" b`)]).toEqual([true, true, true]);
  });

  it('reads lists, tuples, sets and dicts', () => {
    expect(read('[1, "a", [True]]')).toEqual([1, 'a', [true]]);
    expect(read('(1, 2)')).toEqual([1, 2]);
    expect(read('(1,)')).toEqual([1]);
    expect(read('(1)')).toBe(1);
    expect(read('1, 2')).toEqual([1, 2]);
    expect(read('{1, 2}')).toEqual([1, 2]);
    expect(read("{'a': 1, 2: [3], None: 'n',}")).toEqual({ a: 1, '2': [3], None: 'n' });
    expect(read('{}')).toEqual({});
    expect(read('set()')).toEqual([]);
  });

  it('ignores a trailing comment and leading blanks', () => {
    expect(read('  5 # five')).toBe(5);
  });

  it('leaves names and expressions as text', () => {
    expect([isText('{x:1}'), isText('a b'), isText(''), isText('{{ x }}'), isText('[1, 2'), isText('abs(1)')]).toEqual([
      true, true, true, true, true, true,
    ]);
  });
});

const PYTHON = '/usr/bin/python3';

describe.skipIf(skipWithout(lacking(file(PYTHON, 'python3'))))('literalEval against Python', () => {
  it('agrees with ast.literal_eval on the values inventories hold', async () => {
    const samples = [
      '5', '-5', '0x10', '1_0', '1.0e2', '0644', '00', 'True', 'None', 'yes', "'5'", '"a b"', "'\\x41\\n'", "r'\\d+'",
      '[1, 2]', '(1,)', '{"a": [1, {"b": None}]}', '{1, 2}', 'a=b', '', '  7', '7 # c', '[1, 2', '{x:1}', "u'x'", "b'x'",
      '1, 2', '-True', '"""a"b"""', "'a' 'b'", '{{ x }}', '/usr/bin/python3', '10.0.0.1', '1e', '.5', '5.',
    ];
    const script = [
      'import ast, json, sys',
      'out = []',
      'for s in json.load(sys.stdin):',
      '    try:',
      '        v = ast.literal_eval(s)',
      '        if isinstance(v, bytes): v = v.decode()',
      '        if isinstance(v, (tuple, set)): v = list(v)',
      '        out.append({"value": v})',
      '    except Exception:',
      '        out.append(None)',
      'print(json.dumps(out))',
    ].join('\n');
    const { stdout } = await execa(PYTHON, ['-c', script], { input: JSON.stringify(samples) });
    const expected = JSON.parse(stdout) as unknown[];
    expect(samples.map((s) => literalEval(s) ?? null)).toEqual(expected);
  });
});
