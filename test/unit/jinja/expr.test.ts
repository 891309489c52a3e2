// Expected values were checked against ansible-core 2.14 (Jinja 3.1) on Debian bookworm.
import { thrown } from '../../support/thrown.js';
import { describe, expect, it } from 'vitest';
import { TemplateError, UndefinedVariableError } from '../../../src/errors.js';
import { evaluate, evaluateCondition, OMIT } from '../../../src/jinja/expr.js';
import { parseExpression } from '../../../src/jinja/expr-syntax.js';
import { markUnsafe } from '../../../src/jinja/values.js';

const vars = {
  l: ['a', 'b'],
  d: { k: 'v', n: 1 },
  t: true,
  f: false,
  n: null,
  i: 3,
  fl: 1.5,
  e: '',
  s: 'Hello World',
  users: [
    { name: 'a', x: 1 },
    { name: 'b', x: 2 },
  ],
  build: { root: '/srv/build' },
  item: { size: 2 },
  r: { changed: true, failed: false },
};


describe('parseExpression', () => {
  it('returns the cached tree for a source it has already parsed', () => {
    expect(parseExpression('a.b | default(1)')).toBe(parseExpression('a.b | default(1)'));
  });

  it('says what was expected and at which column', () => {
    const err = thrown(() => parseExpression('x |'));
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.message).toBe('invalid expression: expected a filter name after \'|\', found end of expression at column 4 of "x |"');
  });

  it('suggests the closest filter name for a misspelt one', () => {
    expect(thrown(() => parseExpression('pkgs | jion(" ")')).message).toContain("unknown filter 'jion'; did you mean 'join'?");
  });

  it('suggests the closest test name for a misspelt one', () => {
    expect(thrown(() => parseExpression('x is defind')).message).toContain("unknown test 'defind'; did you mean 'defined'?");
  });

  it('rejects words left over after a complete expression', () => {
    expect(thrown(() => parseExpression('a b')).message).toContain("expected end of expression, found 'b' at column 3");
  });

  it('names the bracket that is never closed', () => {
    expect(thrown(() => parseExpression('[1, 2')).message).toContain("'[' is never closed at column 1");
  });

  it('accepts the collection prefix of builtin filters', () => {
    expect(evaluate("'ab' | ansible.builtin.upper", {})).toBe('AB');
  });
});

describe('evaluate: literals', () => {
  it.each([
    ["'str'", 'str'],
    ['"it\'s"', "it's"],
    ["'a\\nb'", 'a\nb'],
    ["'a' 'b'", 'ab'],
    ['42', 42],
    ['1_000', 1000],
    ['0x1f', 31],
    ['1.5e3', 1500],
    ['true', true],
    ['False', false],
    ['none', null],
    ['None', null],
    ["[1, 'a', [true]]", [1, 'a', [true]]],
    ["{'k': 1, 'n': [2]}", { k: 1, n: [2] }],
    ['(1, 2)', [1, 2]],
  ])('reads %s', (src, want) => {
    expect(evaluate(src, {})).toEqual(want);
  });
});

describe('evaluate: variables', () => {
  it.each([
    ['d.k', 'v'],
    ["d['k']", 'v'],
    ['l[0]', 'a'],
    ['l.0', 'a'],
    ['l[-1]', 'b'],
    ['l[i - 2]', 'b'],
    ['users[1].name', 'b'],
    ["users[0]['x']", 1],
    ['s[:5]', 'Hello'],
    ['l[::-1]', ['b', 'a']],
  ])('resolves %s', (src, want) => {
    expect(evaluate(src, vars)).toEqual(want);
  });

  it('gives omit as the sentinel the executor drops', () => {
    expect(evaluate('omit', {})).toBe(OMIT);
    expect(evaluate('x | default(omit)', {})).toBe(OMIT);
  });

  it('renders a variable that holds a template when it is read, as Ansible does', () => {
    const v = { root: '/srv', rootfs: '{{ root }}/rootfs', paths: ['{{ rootfs }}/etc'], flag: '{{ 1 == 2 }}' };
    expect(evaluate('rootfs', v)).toBe('/srv/rootfs');
    expect(evaluate('paths[0]', v)).toBe('/srv/rootfs/etc');
    expect(evaluate('flag', v)).toBe(false);
  });

  it('never templates values marked unsafe, such as registered output', () => {
    const result = markUnsafe({ stdout: '{{ secret }}' });
    expect(evaluate('result.stdout', { result })).toBe('{{ secret }}');
  });

  it('reports a variable whose value refers to itself', () => {
    expect(thrown(() => evaluate('a', { a: '{{ a }}' })).message).toContain("recursive loop detected: the value of 'a' refers to 'a' itself");
  });

  it('reads variables through a prototype chain but not from Object.prototype', () => {
    const layered = Object.assign(Object.create({ base: 1 }) as Record<string, unknown>, { top: 2 });
    expect(evaluate('base + top', layered)).toBe(3);
    expect(thrown(() => evaluate('constructor', layered))).toBeInstanceOf(UndefinedVariableError);
  });
});

describe('evaluate: undefined values', () => {
  it.each([
    ['pkgs', 'pkgs'],
    ['build.rootfs', 'build.rootfs'],
    ["item['name']", "item['name']"],
    ['l[5]', 'l[5]'],
    ['missing.attr.deeper', 'missing'],
  ])('throws UndefinedVariableError naming %s', (src, variable) => {
    const err = thrown(() => evaluate(src, vars));
    expect(err).toBeInstanceOf(UndefinedVariableError);
    expect((err as UndefinedVariableError).variable).toBe(variable);
    expect(err.message).toBe(`'${variable}' is undefined`);
  });

  it('explains why an attribute is missing', () => {
    const err = thrown(() => evaluate('d.missing', vars)) as UndefinedVariableError;
    expect(err.hint).toContain("dict value {'k': 'v', 'n': 1} has no attribute 'missing'");
  });

  it.each([
    ['pkgs is defined', false],
    ['pkgs is undefined', true],
    ['pkgs.x is defined', false],
    ['d.missing is not defined', true],
    ['l[9] is defined', false],
    ["pkgs | default('x')", 'x'],
    ['pkgs | d(1)', 1],
    ['d.missing | default(d.k)', 'v'],
    ['1 if pkgs is defined else 2', 2],
  ])('lets %s look at an undefined value without throwing', (src, want) => {
    expect(evaluate(src, vars)).toEqual(want);
  });

  it('does not evaluate the right side of a false and', () => {
    expect(evaluate('f and pkgs', vars)).toBe(false);
    expect(evaluate('t or pkgs', vars)).toBe(true);
  });
});

describe('evaluate: operators with Python semantics', () => {
  it.each([
    ['1 == 1.0', true],
    ["'1' == 1", false],
    ['1 == true', true],
    ['[1] == [1]', true],
    ["{'a': 1} == {'a': 1}", true],
    ['1 < 2 < 3', true],
    ['3 > 2 > 2', false],
    ["'a' < 'b'", true],
    ['[1, 2] < [1, 3]', true],
    ["'abc' in 'xabcx'", true],
    ["'k' in d", true],
    ["'v' in d", false],
    ["'a' in l", true],
    ["'z' not in l", true],
    ['7 / 2', 3.5],
    ['7 // 2', 3],
    ['-7 // 2', -4],
    ['-7 % 3', 2],
    ['7.5 % 2', 1.5],
    ['2 ** 3', 8],
    ['2 ** -1', 0.5],
    ['-2 ** 2', 4],
    ['2 * 3 + 4', 10],
    ['10 % 3 ** 2', 1],
    ["'a' + 'b'", 'ab'],
    ['[1] + [2]', [1, 2]],
    ["'ab' * 2", 'abab'],
    ['[0] * 3', [0, 0, 0]],
    ["'a' ~ 1 ~ none ~ true", 'a1NoneTrue'],
    ["'%s-%03d' % ('a', 7)", 'a-007'],
    ["'%(x)s!' % {'x': 1}", '1!'],
    ['-i', -3],
    ['not t', false],
    ['not 0 == 1', true],
    ['not 1 in [1]', false],
    ["0 or 'x'", 'x'],
    ["'' and 1", ''],
    ['1 == 1 and 2', 2],
    ['none or []', []],
    ["'x' if t else 'y'", 'x'],
    ["'x' if f", null],
    ["'a' if 1 > 2 else 'b' if 2 > 1 else 'c'", 'b'],
    ["1 + l | length", 3],
    ["'Hello' ~ ' ' ~ 'x' | upper", 'Hello X'],
  ])('%s gives %j', (src, want) => {
    expect(evaluate(src, vars)).toEqual(want);
  });

  it.each([
    ["'a' + 1", 'can only concatenate str (not "int") to str'],
    ["1 + 'a'", "unsupported operand type(s) for +: 'int' and 'str'"],
    ['1 / 0', 'division by zero'],
    ['5 // 0', 'integer division or modulo by zero'],
    ["3 > 'a'", "'>' not supported between instances of 'int' and 'str'"],
    ["'a' in none", "argument of type 'NoneType' is not iterable"],
    ["1 in 'abc'", "'in <string>' requires string as left operand, not int"],
  ])('%s fails as Python does', (src, message) => {
    const err = thrown(() => evaluate(src, vars));
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.message).toBe(`${message} in ${JSON.stringify(src)}`);
  });
});

describe('evaluate: methods', () => {
  it.each([
    ["s.split(' ')", ['Hello', 'World']],
    ["'a b  c'.split()", ['a', 'b', 'c']],
    ["s.split(' ', 1)", ['Hello', 'World']],
    ["'a,b,c'.rsplit(',', 1)", ['a,b', 'c']],
    ["s.startswith('He')", true],
    ["s.endswith(('x', 'ld'))", true],
    ["'  a '.strip()", 'a'],
    ["'xxaxx'.strip('x')", 'a'],
    ["'xxa'.lstrip('x')", 'a'],
    ['s.lower()', 'hello world'],
    ['s.upper()', 'HELLO WORLD'],
    ["s.replace('l', 'L')", 'HeLLo WorLd'],
    ["'-'.join(l)", 'a-b'],
    ['d.keys() | list', ['k', 'n']],
    ['d.values() | list', ['v', 1]],
    ['d.items() | list', [['k', 'v'], ['n', 1]]],
    ["d.get('k')", 'v'],
    ["d.get('zz')", null],
    ["d.get('zz', 1)", 1],
    ["l.index('b')", 1],
  ])('%s gives %j', (src, want) => {
    expect(evaluate(src, vars)).toEqual(want);
  });

  it('refuses methods outside the whitelist and names the ones that exist', () => {
    const err = thrown(() => evaluate('s.format(1)', vars)) as TemplateError;
    expect(err.message).toContain("str value has no method 'format' in imgplay");
    expect(err.hint).toContain('str methods: split, rsplit');
  });
});

describe('evaluate: functions', () => {
  it('builds ranges', () => {
    expect(evaluate('range(3) | list', {})).toEqual([0, 1, 2]);
    expect(evaluate('range(2, 10, 3) | list', {})).toEqual([2, 5, 8]);
  });

  it('reads environment variables with lookup and query', () => {
    process.env.IMGPLAY_TEST_ENV = 'yes';
    expect(evaluate("lookup('env', 'IMGPLAY_TEST_ENV')", {})).toBe('yes');
    expect(evaluate("query('env', 'IMGPLAY_TEST_ENV')", {})).toEqual(['yes']);
    expect(evaluate("lookup('env', 'IMGPLAY_TEST_UNSET_VAR')", {})).toBe('');
  });

  it('says which lookups exist when one does not', () => {
    const err = thrown(() => evaluate("lookup('nosuch', 'x')", {})) as TemplateError;
    expect(err.message).toContain('lookup plugin (nosuch) not found');
    expect(err.hint).toContain('first_found');
  });

  it('suggests a function for a misspelt call', () => {
    expect(thrown(() => evaluate('rnage(3)', {})).message).toContain("unknown function 'rnage'; did you mean 'range'?");
  });
});

describe('evaluateCondition', () => {
  it('takes booleans as they are and treats an empty condition as true', () => {
    expect(evaluateCondition(true, {})).toBe(true);
    expect(evaluateCondition(false, {})).toBe(false);
    expect(evaluateCondition('', {})).toBe(true);
    expect(evaluateCondition(null, {})).toBe(true);
  });

  it('uses Python truthiness', () => {
    for (const falsy of ["''", '0', '0.0', '[]', '{}', 'none', 'e', 'n']) expect(evaluateCondition(falsy, vars)).toBe(false);
    for (const truthy of ["'false'", '1', '[0]', "{'a': 0}", 's']) expect(evaluateCondition(truthy, vars)).toBe(true);
  });

  it('ANDs a list and stops at the first false item', () => {
    expect(evaluateCondition([true, '1 == 1', "s == 'Hello World'"], vars)).toBe(true);
    expect(evaluateCondition(['t', '1 == 2', 'undefined_var'], vars)).toBe(false);
  });

  it('tests registered results', () => {
    expect(evaluateCondition('r is changed and r is not failed', vars)).toBe(true);
    expect(evaluateCondition('r is succeeded and r is success and r is not skipped', vars)).toBe(true);
  });

  it("accepts one '{{ expr }}' as Ansible does", () => {
    expect(evaluateCondition('{{ i > 2 }}', vars)).toBe(true);
    expect(evaluateCondition('{{ f }}', vars)).toBe(false);
    expect(evaluateCondition("'{{ s }}' == 'Hello World'", vars)).toBe(true);
  });

  it('evaluates again what a {{ }} condition rendered to, as Ansible does', () => {
    expect(evaluateCondition('{{ cond }}', { cond: 'x == 1', x: 1 })).toBe(true);
    const err = thrown(() => evaluateCondition('{{ flag }}', { flag: 'yes' })) as UndefinedVariableError;
    expect(err.variable).toBe('yes');
    expect(err.hint).toContain('rendered to "yes", which Ansible then evaluates as an expression');
  });

  it('throws for an undefined variable that a condition uses', () => {
    const err = thrown(() => evaluateCondition('missing.attr', vars));
    expect(err).toBeInstanceOf(UndefinedVariableError);
    expect((err as UndefinedVariableError).variable).toBe('missing');
  });
});
