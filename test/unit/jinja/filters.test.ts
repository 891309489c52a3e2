// Expected values were checked against ansible-core 2.14 (Jinja 3.1) on Debian bookworm.
import { thrown } from '../../support/thrown.js';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateError, UndefinedVariableError } from '../../../src/errors.js';
import { evaluate } from '../../../src/jinja/expr.js';
import { callFilter, filterNames, testNames } from '../../../src/jinja/filters.js';
import { renderString } from '../../../src/jinja/template.js';

const vars = {
  l: ['a', 'b'],
  d: { k: 'v', n: 1 },
  s: 'Hello World',
  u: 'ünï',
  n: null,
  users: [
    { name: 'a', x: 1 },
    { name: 'b', x: 2 },
  ],
  r: { changed: true, failed: false },
  loop_result: { results: [{ changed: false }, { changed: true }] },
};


// Conditions use Jinja's escapes in string literals ('\\1' is a backslash and a 1), as Ansible's `when` does.
const check = (rows: [string, unknown][]) =>
  it.each(rows)('%s gives %j', (src, want) => {
    expect(evaluate(src, vars)).toEqual(want);
  });

describe('filters: defaults and conversions', () => {
  check([
    ["missing | default('dflt')", 'dflt'],
    ["d.missing | d('z')", 'z'],
    ["'' | default('e')", ''],
    ["'' | default('e', true)", 'e'],
    ["[] | default('x', boolean=true)", 'x'],
    ["n | default('n')", null],
    ["none | default('x', true)", 'x'],
    ["'yes' | bool", true],
    ["'Yes' | bool", true],
    ["'on' | bool", true],
    ["'1' | bool", true],
    ['1 | bool', true],
    ['1.0 | bool', true],
    ["'y' | bool", false],
    ["'foo' | bool", false],
    ['2 | bool', false],
    ['none | bool', null],
    ["'42' | int", 42],
    ["'4.7' | int", 4],
    ['4.7 | int', 4],
    ['-4.7 | int', -4],
    ["'x' | int", 0],
    ["'0x1f' | int", 0],
    ["'0x1f' | int(0, 16)", 31],
    ["'0b101' | int(base=2)", 5],
    ["'  12 ' | int", 12],
    ['true | int', 1],
    ['none | int', 0],
    ["'4.5' | float", 4.5],
    ["'x' | float", 0],
    ['3 | string', '3'],
    ['none | string', 'None'],
    ['true | string', 'True'],
    ['l | string', "['a', 'b']"],
    ['3 | float | string', '3.0'],
    ['s | type_debug', 'str'],
    ['(6 / 2) | type_debug', 'float'],
    ['d.items() | list | type_debug', 'list'],
    ['n | type_debug', 'NoneType'],
  ]);
});

describe('filters: undefined arguments, as Jinja passes them', () => {
  check([
    ["'key' | extract(nope) | default('a')", 'a'],
    ['1 | default(nope)', 1],
    ["true | ternary('x', nope)", 'x'],
    ['nope | default(5)', 5],
  ]);

  it('fail in a filter that uses them, and when default or ternary picks one', () => {
    expect(() => evaluate("'a' | replace('a', nope)", vars)).toThrow(UndefinedVariableError);
    expect(() => evaluate("false | ternary('x', nope) | string", vars)).toThrow(/'nope' is undefined/);
  });
});

describe('filters: logarithms, powers and roots, with the errors of Python\'s math', () => {
  it.each([
    ["'yo' | log", 'log() can only be used on numbers: must be real number, not str'],
    ["'a' | pow(2)", 'pow() can only be used on numbers: must be real number, not str'],
    ["'x' | root", 'root() can only be used on numbers: must be real number, not str'],
    ['-1 | root', 'root() can only be used on numbers: math domain error'],
    ['0 | log', 'math domain error'],
    ['10 | log(1)', 'float division by zero'],
    ['10 | pow(400)', 'math range error'],
  ])('%s fails: %s', (src, message) => {
    expect(thrown(() => evaluate(src, vars)).message).toContain(message);
  });
});

describe('filters: sizes and encodings (checked against ansible-core 2.14)', () => {
  check([
    ['1 | human_readable', '1.00 Bytes'],
    ['1 | human_readable(isbits=True)', '1.00 bits'],
    ['10240 | human_readable', '10.00 KB'],
    ['102400000 | human_readable', '97.66 MB'],
    ['102400000 | human_readable(unit="G")', '0.10 GB'],
    ['102400000 | human_readable(isbits=True, unit="G")', '0.10 Gb'],
    ["'0' | human_to_bytes", 0],
    ["'0.5' | human_to_bytes", 0],
    ["'0.9' | human_to_bytes", 1],
    ["'1.5' | human_to_bytes", 2],
    ["'10.00 KB' | human_to_bytes", 10240],
    ["'11 MB' | human_to_bytes", 11534336],
    ["'1.1 GB' | human_to_bytes", 1181116006],
    ["'10.00 Kb' | human_to_bytes(isbits=True)", 10240],
    ["'10' | human_to_bytes('M')", 10485760],
    ["'Ansible - くらとみ\\n' | b64encode(encoding='utf-16-le')", 'QQBuAHMAaQBiAGwAZQAgAC0AIABPMIkwaDB/MAoA'],
    ["'QQBuAHMAaQBiAGwAZQAgAC0AIABPMIkwaDB/MAoA' | b64decode(encoding='utf-16-le')", 'Ansible - くらとみ\n'],
    ["'é' | b64encode(encoding='latin-1')", '6Q=='],
    ["'ab' | b64encode(encoding='utf-16')", '//5hAGIA'],
    ["'//5hAGIA' | b64decode(encoding='utf-16')", 'ab'],
  ]);

  it.each([
    ["'monkeys' | human_readable", "human_readable() failed on bad input: '>=' not supported between instances of 'str' and 'int'"],
    ["'10.00 foo' | human_to_bytes", "human_to_bytes() can't interpret following string: 10.00 foo"],
    ["'10 MB' | human_to_bytes(isbits=True)", "human_to_bytes() can't interpret following string: 10 MB"],
    ["'é' | b64encode(encoding='ascii')", "'ascii' codec can't encode"],
    ["'x' | b64encode(encoding='koi8-r')", "the encoding 'koi8-r' is not implemented in imgplay"],
  ])('%s fails: %s', (src, message) => {
    expect(thrown(() => evaluate(src, vars)).message).toContain(message);
  });
});

describe('filters: rekey_on_member and combine over nothing (checked against ansible-core 2.14)', () => {
  check([
    ['[{"proto": "eigrp", "state": "enabled"}, {"proto": "ospf", "state": "enabled"}] | rekey_on_member("proto")', { eigrp: { proto: 'eigrp', state: 'enabled' }, ospf: { proto: 'ospf', state: 'enabled' } }],
    ['{"a": {"proto": "eigrp"}} | rekey_on_member("proto")', { eigrp: { proto: 'eigrp' } }],
    ['[{"proto": "eigrp", "n": 1}, {"proto": "eigrp", "n": 2}] | rekey_on_member("proto", duplicates="overwrite")', { eigrp: { proto: 'eigrp', n: 2 } }],
    ['None | combine', {}],
    ['[None, {"a": 1}] | combine', { a: 1 }],
  ]);

  it.each([
    ['[] | rekey_on_member("asdf", duplicates="boo")', 'duplicates parameter to rekey_on_member has unknown value: boo'],
    ['1 | rekey_on_member("a")', 'Type is not a valid list, set, or dict'],
    ['[1] | rekey_on_member("a")', 'List item is not a valid dict'],
    ['[{"b": 1}] | rekey_on_member("a")', 'Key a was not found'],
    ['[{"a": 1}, {"a": 1}] | rekey_on_member("a")', 'Key 1 is not unique, cannot correctly turn into dict'],
  ])('%s fails: %s', (src, message) => {
    expect(thrown(() => evaluate(src, vars)).message).toContain(message);
  });
});

describe('filters: strings and paths', () => {
  check([
    ['l | length', 2],
    ["'ünï' | length", 3],
    ['d | count', 2],
    ["l | join(',')", 'a,b'],
    ["[1, 2] | join('-')", '1-2'],
    ['l | join', 'ab'],
    ["[1, none, true] | join(',')", '1,None,True'],
    ["users | join(', ', attribute='name')", 'a, b'],
    ["'AbC' | lower", 'abc'],
    ["'abc' | upper", 'ABC'],
    ["'  a b  ' | trim", 'a b'],
    ["'xxhixx' | trim('x')", 'hi'],
    ["'the quick' | title", 'The Quick'],
    ["'ABC def' | capitalize", 'Abc def'],
    ["'/a/b/c.txt' | basename", 'c.txt'],
    ["'/a/b/' | basename", ''],
    ["'/a/b/c.txt' | dirname", '/a/b'],
    ["'c' | dirname", ''],
    ["'/' | dirname", '/'],
    ["'/a/b.tar.gz' | splitext", ['/a/b.tar', '.gz']],
    ["'/a/.bashrc' | splitext", ['/a/.bashrc', '']],
    ["['a', 'b', '/c', 'd'] | path_join", '/c/d'],
    ["'hello' | replace('l', 'L')", 'heLLo'],
    ["'hello' | replace('l', 'L', 1)", 'heLlo'],
    ["'a,b,,c' | split(',')", ['a', 'b', '', 'c']],
    ["'a b' | split", ['a', 'b']],
    ["\"it's\" | quote", `'it'"'"'s'`],
    ["'ab c' | quote", "'ab c'"],
    ["'abc' | quote", 'abc'],
    ["'' | quote", "''"],
    ["none | quote", "''"],
    ["'hello' | b64encode", 'aGVsbG8='],
    ["'aGVsbG8=' | b64decode", 'hello'],
    ["'ünï' | b64encode", 'w7xuw68='],
    ["'hello' | hash('sha256')", '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
    ["'hello' | hash('md5')", '5d41402abc4b2a76b9719d911017c592'],
    ["'hello' | hash", 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'],
    ["'hello' | checksum", 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'],
    ["'%s=%s' | format('a', 1)", 'a=1'],
    ["'a\\nb' | indent(2)", 'a\n  b'],
    ["'a' | indent(2, first=true)", '  a'],
    ["'a.b*c' | regex_escape", 'a\\.b\\*c'],
  ]);
});

describe('filters: regular expressions with Python syntax', () => {
  check([
    ["'bar' | regex_replace('a', 'o')", 'bor'],
    ["'foo_name' | regex_replace('^(.*)_name$', '\\\\1')", 'foo'],
    ["'ab' | regex_replace('(a)(b)', '\\\\2\\\\1')", 'ba'],
    ["'ab' | regex_replace('(?P<x>a)', '[\\\\g<x>]')", '[a]b'],
    ["'A' | regex_replace('a', 'b', ignorecase=true)", 'b'],
    ["'foo\\nbar' | regex_replace('^b', 'B')", 'foo\nbar'],
    ["'foo\\nbar' | regex_replace('^b', 'B', multiline=true)", 'foo\nBar'],
    ["'x.y' | regex_replace('\\\\.', '-')", 'x-y'],
    ["'abxd' | regex_replace('x*', '-')", '-a-b--d-'],
    ["'line\\n' | regex_replace('e$', 'E')", 'linE\n'],
    ["'abc123' | regex_search('[0-9]+')", '123'],
    ["'abc' | regex_search('[0-9]+')", null],
    ["'key=val' | regex_search('key=(\\\\w+)', '\\\\1')", ['val']],
    ["'abc' | regex_search('(?P<x>b)', '\\\\g<x>')", ['b']],
    ["'Key: val' | regex_search('(?i)key: (\\\\w+)', '\\\\1')", ['val']],
    ["'a1b22' | regex_findall('\\\\d')", ['1', '2', '2']],
    ["'a1b22' | regex_findall('[a-z](\\\\d+)')", ['1', '22']],
    ["'a1b22' | regex_findall('([a-z])(\\\\d+)')", [['a', '1'], ['b', '22']]],
    ["s is match('Hello')", true],
    ["s is match('World')", false],
    ["s is search('World')", true],
    ["s is match('hello', ignorecase=true)", true],
    ["s is regex('o W')", true],
    ["'ab' is match('a|b$')", true],
  ]);

  it('reads backreferences the way task arguments write them', () => {
    // In task arguments Ansible keeps backslashes of string literals as written.
    expect(renderString("{{ 'foo_name' | regex_replace('^(.*)_name$', '\\1') }}", vars)).toBe('foo');
  });

  it('rejects unknown keyword arguments as Ansible 2.14 does', () => {
    expect(thrown(() => evaluate("'aaa' | regex_replace('a', 'b', count=2)", {})).message).toContain(
      "regex_replace() got an unexpected keyword argument 'count'",
    );
  });

  it('explains a pattern that does not compile', () => {
    expect(thrown(() => evaluate("'a' | regex_search('(')", {})).message).toContain("invalid regular expression '('");
  });
});

describe('filters: lists and dicts', () => {
  check([
    ['l | first', 'a'],
    ['l | last', 'b'],
    ["'abc' | first", 'a'],
    ["[] | first | default('none')", 'none'],
    ['d | list', ['k', 'n']],
    ["'ab' | list", ['a', 'b']],
    ['[3, 1, 2, 1] | unique', [3, 1, 2]],
    ["['b', 'B', 'a'] | unique", ['b', 'a']],
    ['[3, 1, 2] | sort', [1, 2, 3]],
    ["['b', 'A', 'a'] | sort", ['A', 'a', 'b']],
    ["['b', 'B', 'a'] | sort(case_sensitive=true)", ['B', 'a', 'b']],
    ['[3, 1, 2] | sort(reverse=true)', [3, 2, 1]],
    ["users | sort(attribute='x', reverse=true) | map(attribute='name') | list", ['b', 'a']],
    ['[3, 1, 2] | min', 1],
    ['[3, 1, 2] | max', 3],
    ["['b', 'B', 'a'] | min", 'a'],
    ["users | max(attribute='x')", { name: 'b', x: 2 }],
    ['[1, 2, 3] | sum', 6],
    ['[1.5, 2] | sum', 3.5],
    ["users | sum(attribute='x')", 3],
    ['[[1], [2]] | sum(start=[])', [1, 2]],
    ['d | dict2items', [{ key: 'k', value: 'v' }, { key: 'n', value: 1 }]],
    ["d | dict2items(key_name='n', value_name='v')", [{ n: 'k', v: 'v' }, { n: 'n', v: 1 }]],
    ["[{'key': 'a', 'value': 1}] | items2dict", { a: 1 }],
    ["users | items2dict(key_name='name', value_name='x')", { a: 1, b: 2 }],
    ["{'a': 1, 'b': {'c': 1}} | combine({'b': {'d': 2}, 'e': 3})", { a: 1, b: { d: 2 }, e: 3 }],
    ["{'a': 1, 'b': {'c': 1}} | combine({'b': {'d': 2}}, recursive=true)", { a: 1, b: { c: 1, d: 2 } }],
    ["{'a': 1} | combine({'b': 2}, {'c': 3})", { a: 1, b: 2, c: 3 }],
    ["{'a': {'x': [1]}} | combine({'a': {'x': [2]}}, recursive=true, list_merge='append')", { a: { x: [1, 2] } }],
    ["[{'a': 1}, {'b': 2}] | combine", { a: 1, b: 2 }],
    ["users | map(attribute='name') | list", ['a', 'b']],
    ["l | map('upper') | list", ['A', 'B']],
    ["['a', 'bb'] | map('length') | list", [1, 2]],
    ["['1', '2'] | map('int') | sum", 3],
    ["(users + [{'name': 'c'}]) | map(attribute='x', default=0) | list", [1, 2, 0]],
    ["['abc', 'xbc', 'ab'] | select('match', 'a') | list", ['abc', 'ab']],
    ["[0, 1, 2, ''] | select | list", [1, 2]],
    ["[1, 2, 3, 4] | select('odd') | list", [1, 3]],
    ["[1, 2, 3] | select('>', 1) | list", [2, 3]],
    ["[1, 2, 3] | reject('equalto', 2) | list", [1, 3]],
    ["users | selectattr('x', 'equalto', 2) | list", [{ name: 'b', x: 2 }]],
    ["users | rejectattr('x', 'equalto', 2) | map(attribute='name') | list", ['a']],
    ["(users + [{'name': 'c'}]) | selectattr('x', 'defined') | list | length", 2],
    ["users | selectattr('name', 'match', 'a') | map(attribute='x') | list", [1]],
    ["l | zip([1, 2]) | list", [['a', 1], ['b', 2]]],
    ["[1, [2, [3]]] | flatten", [1, 2, 3]],
    ["[1, [2, [3]]] | flatten(1)", [1, 2, [3]]],
    ["[1, 2] | union([2, 3])", [1, 2, 3]],
    ["[1, 2] | intersect([2, 3])", [2]],
    ["[1, 2] | difference([2, 3])", [1]],
    ["['a', 'b'] | symmetric_difference(['b', 'c'])", ['a', 'c']],
    ["d | dictsort", [['k', 'v'], ['n', 1]]],
    ["{'z': 1, 'a': 2} | dictsort(by='value', reverse=true)", [['a', 2], ['z', 1]]],
    ["'abc' | reverse", 'cba'],
    ['[1, 2] | reverse | list', [2, 1]],
    ["'a' | extract({'a': 1})", 1],
    ["n | ternary('y', 'n')", 'n'],
    ["true | ternary('y', 'n')", 'y'],
    ["none | ternary('y', 'n', 'null')", 'null'],
    ["'x' | ternary(1, 2)", 1],
    ["s | mandatory", 'Hello World'],
  ]);

  it('fails on a missing attribute in map, as Ansible does', () => {
    const err = thrown(() => evaluate("(users + [{'name': 'c'}]) | map(attribute='x') | list", vars));
    expect(err).toBeInstanceOf(UndefinedVariableError);
    expect((err as UndefinedVariableError).variable).toBe('x');
  });

  it('names the expression when first has nothing to return', () => {
    const err = thrown(() => evaluate('[] | first', {})) as UndefinedVariableError;
    expect(err.variable).toBe('[] | first');
    expect(err.hint).toContain('No first item, sequence was empty.');
  });

  it('says which variable mandatory wanted, or the message given', () => {
    expect(thrown(() => evaluate('pkgs | mandatory', {})).message).toBe(`Mandatory variable 'pkgs'  not defined. in "pkgs | mandatory"`);
    expect(thrown(() => evaluate('cfg.pkgs | mandatory', { cfg: {} })).message).toMatch(/^Mandatory variable 'pkgs'  not defined\./);
    expect(thrown(() => evaluate("pkgs | mandatory('set pkgs in vars/main.yml')", {})).message).toBe('set pkgs in vars/main.yml in "pkgs | mandatory(\'set pkgs in vars/main.yml\')"');
  });

  it('refuses to sort values Python cannot order', () => {
    expect(thrown(() => evaluate("[1, 'a'] | sort", {})).message).toContain("'<' not supported between instances of 'str' and 'int'");
  });
});

describe('filters: JSON and YAML', () => {
  check([
    ['d | to_json', '{"k": "v", "n": 1}'],
    ["u | to_json", '"\\u00fcn\\u00ef"'],
    ["{'b': 1, 'a': [1, 2.5, none, true]} | to_json", '{"b": 1, "a": [1, 2.5, null, true]}'],
    ["'a\"b/' | to_json", '"a\\"b/"'],
    ['3.0 | to_json', '3.0'],
    ["'é' | to_json(ensure_ascii=false)", '"é"'],
    ['d | to_nice_json', '{\n    "k": "v",\n    "n": 1\n}'],
    [
      "{'b': 1, 'a': [1, {'x': none}], 'e': [], 'f': {}} | to_nice_json",
      '{\n    "a": [\n        1,\n        {\n            "x": null\n        }\n    ],\n    "b": 1,\n    "e": [],\n    "f": {}\n}',
    ],
    ['\'{"a": [1, 2]}\' | from_json', { a: [1, 2] }],
    ['d | to_yaml', '{k: v, n: 1}\n'],
    ["{'b': 1, 'a': [1, {'x': none}], 's': 'yes', 'm': 'a: b', 'e': []} | to_yaml", "a:\n- 1\n- {x: null}\nb: 1\ne: []\nm: 'a: b'\ns: 'yes'\n"],
    ["'a: [1, 2]' | from_yaml", { a: [1, 2] }],
    ["'a: yes' | from_yaml", { a: true }],
    ["'- a\\n- b' | from_yaml", ['a', 'b']],
  ]);

  it('says why text is not JSON', () => {
    expect(thrown(() => evaluate("'{x' | from_json", {})).message).toContain('the text is not valid JSON');
  });
});

describe('tests', () => {
  check([
    ['r is changed', true],
    ['r is failed', false],
    ['r is succeeded', true],
    ['r is success', true],
    ['r is skipped', false],
    ['r is not changed', false],
    ['{} is changed', false],
    ['{} is succeeded', true],
    ['loop_result is changed', true],
    ["{'unreachable': true} is unreachable", true],
    ['r is reachable', true],
    ['s is string', true],
    ['1 is string', false],
    ['1 is number', true],
    ['1.5 is number', true],
    ['true is number', true],
    ['1 is integer', true],
    ['1.0 is float', true],
    ['true is boolean', true],
    ['d is mapping', true],
    ['l is sequence', true],
    ['s is sequence', true],
    ['1 is iterable', false],
    ['n is none', true],
    ['false is none', false],
    ['4 is divisibleby 2', true],
    ['4 is divisibleby(3)', false],
    ['5 is odd', true],
    ['2 is even', true],
    ["'abc' is lower", true],
    ["'ABC' is upper", true],
    ["'a' is in l", true],
    ['[1] is contains 1', true],
    ['[1, 2] is subset([1, 2, 3])', true],
    ['[1, 2, 3] is superset([1])', true],
    ["'yes' is truthy", true],
    ["'no' is truthy(convert_bool=True)", false],
    ['0 is falsy', true],
    ['true is true', true],
    ['1 is true', false],
    ['false is false', true],
    ['1 is eq 1', true],
    ['2 is gt 1', true],
    ['1 is le 0', false],
    ["'1.10' is version('1.9', '>=')", true],
    ["'1.2.3' is version('1.2', '>')", true],
    ["'2.0' is version('2', '==')", false],
    ["'1.0rc1' is version('1.0', '<')", false],
    ["'2.14.18' is version_compare('2.14', 'ge')", true],
    ["'1.0a1' is version('1.0', '<', strict=true)", true],
    ["'/etc' is abs", true],
  ]);

  it('checks paths on the controller', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgplay-tests-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'f'), 'x');
    symlinkSync(join(dir, 'f'), join(dir, 'l'));
    const v = { dir };
    expect(evaluate("(dir ~ '/sub') is directory", v)).toBe(true);
    expect(evaluate("(dir ~ '/f') is file", v)).toBe(true);
    expect(evaluate("(dir ~ '/l') is link", v)).toBe(true);
    expect(evaluate("(dir ~ '/none') is exists", v)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('wants a registered result for result tests', () => {
    expect(thrown(() => evaluate("'x' is changed", {})).message).toContain("test 'changed': expects a dictionary (a registered result), got str");
  });

  it('refuses to compare versions of incomparable parts, as Python does', () => {
    expect(thrown(() => evaluate("'1.a' is version('1.1', '<')", {}))).toBeInstanceOf(TemplateError);
  });
});

describe('the filter table', () => {
  it('has every filter and test the documentation lists', () => {
    for (const name of ['default', 'd', 'bool', 'int', 'float', 'string', 'length', 'count', 'join', 'lower', 'upper', 'trim',
      'basename', 'dirname', 'to_json', 'to_nice_json', 'from_json', 'to_yaml', 'from_yaml', 'regex_replace', 'regex_search',
      'replace', 'first', 'last', 'list', 'unique', 'sort', 'min', 'max', 'sum', 'dict2items', 'items2dict', 'combine', 'map',
      'select', 'selectattr', 'rejectattr', 'quote', 'b64encode', 'b64decode', 'hash', 'mandatory', 'ternary']) {
      expect(filterNames()).toContain(name);
    }
    for (const name of ['defined', 'undefined', 'none', 'changed', 'failed', 'skipped', 'succeeded', 'success', 'string',
      'number', 'mapping', 'sequence', 'match', 'search', 'version']) {
      expect(testNames()).toContain(name);
    }
  });

  it('calls a filter by name with keyword arguments', () => {
    expect(callFilter('join', ['a', 'b'], [], { d: '+' }, { scope: {} })).toBe('a+b');
  });

  it('suggests the closest filter for an unknown name', () => {
    expect(thrown(() => callFilter('lenght', [], [], {}, { scope: {} })).message).toBe("unknown filter 'lenght'; did you mean 'length'?");
  });
});
