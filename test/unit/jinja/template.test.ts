// Expected renderings were produced by ansible-core 2.14 (debug msg for strings, the template module for files).
import { thrown } from '../../support/thrown.js';
import { describe, expect, it } from 'vitest';
import { TemplateError, UndefinedVariableError } from '../../../src/errors.js';
import { OMIT } from '../../../src/jinja/expr.js';
import { markUnsafe } from '../../../src/jinja/values.js';
import { isTemplate, renderString, templateValue } from '../../../src/jinja/template.js';

const vars = {
  l: ['a', 'b'],
  d: { k: 'v', n: 1 },
  t: true,
  f: false,
  n: null,
  i: 3,
  fl: 1.5,
  s: 'Hello World',
  u: 'ünï',
  nested: [1, [2, 'x'], { a: null, b: true }],
  users: [
    { name: 'a', x: 1 },
    { name: 'b', x: 2 },
  ],
  lst: '[1, {{ i }}]',
  num: '{{ 1 + 2 }}',
  lz: '{{ 1 == 2 }}',
  lz2: '{{ s }}',
};


describe('isTemplate', () => {
  it('spots the three Jinja openers and nothing else', () => {
    expect(isTemplate('a {{ b }}')).toBe(true);
    expect(isTemplate('{% if x %}')).toBe(true);
    expect(isTemplate('{# note #}')).toBe(true);
    expect(isTemplate('plain { text } with ${braces}')).toBe(false);
  });
});

describe('renderString: how values print inside text', () => {
  it.each([
    ['l={{ l }} d={{ d }}', "l=['a', 'b'] d={'k': 'v', 'n': 1}"],
    ['t={{ t }} f={{ f }} n={{ n }}|', 't=True f=False n=|'],
    ['{{ nested }}x', "[1, [2, 'x'], {'a': None, 'b': True}]x"],
    ['u={{ [u] }}', "u=['ünï']"],
    ["{{ ['it\\'s', 'a\"b', 'x'] }}", `["it\\\\'s", 'a"b', 'x']`],
    ['{{ 6 / 2 }} {{ 7 // 2 }} {{ 1 + 1.0 }} {{ 10 / 4 }}', '3.0 3 2.0 2.5'],
    ['{{ 1.0 }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 10 / 3 }}', '1.0 1000.0 0.30000000000000004 3.3333333333333335'],
    ['{{ 1.5e-7 }} {{ 1e16 }} {{ 0.0001 }} {{ 0.00001 }} {{ 2 ** 64 }}', '1.5e-07 1e+16 0.0001 1e-05 18446744073709551616'],
    ['{{ [6 / 2, 1.5] }} {{ 3 | float }}', '[3.0, 1.5] 3.0'],
    ['{{ (1, 2) }} {{ (1,) }}', '(1, 2) (1,)'],
    ['{{ d.items() | list }}', "[('k', 'v'), ('n', 1)]"],
    ["{{ 'a' ~ [1] ~ {'k': none} }}", "a[1]{'k': None}"],
    ['{{ none }}|{{ 1 if f else none }}|', '||'],
    ['{{ omit | length > 20 }}', 'True'],
  ])('renders %s', (text, want) => {
    expect(renderString(text, vars)).toBe(want);
  });

  it('returns text without templates untouched', () => {
    const text = 'apt-get install -y --no-install-recommends';
    expect(renderString(text, vars)).toBe(text);
  });

  it('keeps backslashes of string literals in task arguments, and applies escapes in template files', () => {
    expect(renderString("{{ 'a\\nb' }}", vars)).toBe('a\\nb');
    expect(renderString("{{ 'a\\nb' }}", vars, { file: true })).toBe('a\nb');
  });

  it('renders variables that hold templates', () => {
    expect(renderString('{{ lst }} {{ num }} {{ lz }} {{ lz2 }}', vars)).toBe('[1, 3] 3 False Hello World');
  });
});

describe('templateValue', () => {
  it('keeps the type of a lone expression', () => {
    expect(templateValue('{{ l }}', vars)).toEqual(['a', 'b']);
    expect(templateValue('{{ d }}', vars)).toEqual({ k: 'v', n: 1 });
    expect(templateValue('{{ i }}', vars)).toBe(3);
    expect(templateValue('{{ t }}', vars)).toBe(true);
    expect(templateValue('{{ n }}', vars)).toBeNull();
  });

  it('renders a computed number as text, as Ansible 2.14 does (only a bare variable keeps a number)', () => {
    expect(templateValue('{{ i + 1 }}', vars)).toBe('4');
    expect(templateValue('{{ l | length }}', vars)).toBe('2');
  });

  it('keeps lists, dicts and bools typed whatever whitespace surrounds them', () => {
    expect(templateValue('  {{ l }}\n', vars)).toEqual(['a', 'b']);
    expect(templateValue('{{ i == 3 }}\n', vars)).toBe(true);
  });

  it('keeps the whitespace around strings and computed numbers, as Ansible does', () => {
    expect(templateValue('{{ s }}\n', vars)).toBe('Hello World\n');
    expect(templateValue(' {{ s }}', vars)).toBe(' Hello World');
    expect(templateValue('{{ i + 1 }}\n', vars)).toBe('4\n');
    expect(templateValue('{{ 6 / 2 }}\n', vars)).toBe('3.0\n');
    expect(templateValue('{{ i }}\n\n', vars)).toBe('3\n\n');
    expect(templateValue('{{ none }}\n', vars)).toBe('\n');
  });

  it('gives a bare variable followed by one newline its own value (Ansible\'s single-variable shortcut)', () => {
    expect(templateValue('{{ i }}\n', vars)).toBe(3);
    expect(templateValue('{{ n }}\n', vars)).toBeNull();
  });

  it('turns text that looks like a list, dict or bool into one, as Ansible does', () => {
    expect(templateValue('[1, {{ i }}]', vars)).toEqual([1, 3]);
    expect(templateValue('{{ \'[1, 2]\' }}', vars)).toEqual([1, 2]);
    expect(templateValue('{{ js }}', { js: '{"a": true, "b": null}' })).toEqual({ a: true, b: null });
    expect(templateValue("{{ 'True' }}", vars)).toBe(true);
    expect(templateValue('[not a list {{ i }}', vars)).toBe('[not a list 3');
  });

  it('keeps the text of string-type filters such as to_json', () => {
    expect(templateValue('{{ d | to_json }}', vars)).toBe('{"k": "v", "n": 1}');
    expect(templateValue('{{ d | to_nice_json }}', vars)).toBe('{\n    "k": "v",\n    "n": 1\n}');
  });

  it('renders deeply, keys included, and leaves other values as they are', () => {
    const value = { path: '{{ s }}/x', list: ['{{ i }}', 2, true], '{{ d.k }}_key': null, nested: { deep: '{{ l }}' } };
    expect(templateValue(value, vars)).toEqual({ path: 'Hello World/x', list: [3, 2, true], v_key: null, nested: { deep: ['a', 'b'] } });
  });

  it('returns the same object when nothing in it is a template', () => {
    const value = { a: [1, 'x'], b: { c: 'd' } };
    expect(templateValue(value, vars)).toBe(value);
  });

  it('leaves values marked unsafe alone', () => {
    const value = markUnsafe({ stdout: '{{ s }}' });
    expect(templateValue(value, vars)).toBe(value);
  });

  it('passes omit through for the executor to drop', () => {
    expect(templateValue({ mode: '{{ m | default(omit) }}' }, vars)).toEqual({ mode: OMIT });
  });

  it('names the undefined variable and the template it was in', () => {
    const err = thrown(() => templateValue('{{ build.root }}/x', { build: {} })) as UndefinedVariableError;
    expect(err).toBeInstanceOf(UndefinedVariableError);
    expect(err.variable).toBe('build.root');
    expect(err.hint).toBe("dict value {} has no attribute 'root'; in {{ build.root }}");
  });
});

describe('renderString: Jinja statements', () => {
  it('renders a template as the template module does (trim_blocks, whitespace control, loops, set, raw)', () => {
    const text =
      "head\n{% if t %}\nyes\n{% else %}\nno\n{% endif %}\n  {% if t %}\nindented tag\n  {% endif %}\n{% for x in l %}\n- {{ x }} {{ loop.index }} {{ loop.index0 }} {{ loop.first }} {{ loop.last }} {{ loop.length }} {{ loop.revindex }}\n{% endfor %}\n{% for x in [] %}\nnever\n{% else %}\nempty\n{% endfor %}\n{# a comment #}\nafter comment\n{%- if t %} dash-left{% endif %}\n{% if t -%}\n   dash-right\n{% endif %}\n{% set y = 5 %}\ny={{ y }}\n{% for x in l %}{% set y = x %}{{ y }}{% endfor %}\ny after loop={{ y }}\n{% if t %}{% set z = 'inif' %}{% endif %}\nz={{ z }}\n{% raw %}{{ not rendered }}{% endraw %}\n{% for k, v in d.items() %}\n{{ k }}={{ v }}\n{% endfor %}\n{% for x in [1,2,3,4] if x is odd %}{{ x }}{{ loop.index }},{% endfor %}\n\n{{- ' dashvar' }}\n{{ n }}|{{ l }}|{{ t }}\n{% if f %}\nno\n{% elif t %}\nelif\n{% endif %}\n{{ 'a\\nb' }}\n{{ 'a\\\\b' }}\nline with trailing spaces   \n{% for u in users %}\n{{ u.name }}\n{%- endfor %}\n\n{% for i in range(2) %}{{ i }}{% endfor %}\n{{ 'x' }}\nend\n";
    const want =
      "head\nyes\n  indented tag\n  - a 1 0 True False 2 2\n- b 2 1 False True 2 1\nempty\nafter comment dash-leftdash-right\ny=5\naby after loop=5\nz=inif\n{{ not rendered }}k=v\nn=1\n11,32, dashvar\n|['a', 'b']|True\nelif\na\nb\na\\b\nline with trailing spaces   \nab\n01x\nend\n";
    expect(renderString(text, vars, { file: true })).toBe(want);
  });

  it('supports namespaces, dictsort unpacking, formatting and string-type filters in templates', () => {
    const text =
      "{% set ns = namespace(found=false) %}\n{% for u in users %}\n{%   if u.x > 1 %}{% set ns.found = true %}{% endif %}\n{% endfor %}\nfound={{ ns.found }}\n{% for k, v in d | dictsort %}\n{{ loop.index }}. {{ k }} -> {{ v }}{% if not loop.last %},{% endif %}\n\n{% endfor %}\n{%- for x in l -%}\n[{{ x }}]\n{%- endfor %}\n\n{# multi\n   line comment #}\n{{ '%05.1f|%-4s|%x' % (3.14159, 'ab', 255) }}\n{{ users | map(attribute='name') | join(',') }}\n{% if l | length > 1 and 'a' in l %}both{% endif %}\n\n{{ d | to_nice_json }}\n{{ users | to_nice_yaml(indent=2) }}\n{{ s | regex_replace('(\\\\w+) (\\\\w+)', '\\\\2 \\\\1') }}\n{% for i in range(1, 4) %}{{ i }}{{ ',' if not loop.last }}{% endfor %}\n\n{{ lst }} {{ num }} {{ lz }} {{ lz2 }}\n";
    const want =
      'found=True\n1. k -> v,\n2. n -> 1\n[a][b]\n003.1|ab  |ff\na,b\nboth\n{\n    "k": "v",\n    "n": 1\n}\n- name: a\n  x: 1\n- name: b\n  x: 2\n\nWorld Hello\n1,2,3\n[1, 3] 3 False Hello World\n';
    expect(renderString(text, vars, { file: true })).toBe(want);
  });

  it('strips whitespace around dashed tags and keeps indentation before plain ones', () => {
    const text = "  {%- if t %}\n a\n  {%+ if t %}b{% endif %}\n{% endif -%}\n   c {{- ' d ' -}} e\n{{ 'x' }}{# c #}\n{{ 'y' }}\n{% raw %}\n  {{ raw }} {% if %}\n{% endraw %}\nend\n";
    expect(renderString(text, vars, { file: true })).toBe(' a\n  bc d e\nxy\n\n  {{ raw }} {% if %}\nend\n');
  });

  it('keeps the trailing newlines of the source, as Ansible does', () => {
    expect(renderString('x\n{% if t %}y{% endif %}\n', vars)).toBe('x\ny\n');
    expect(renderString('two newlines {{ i }}\n\n', vars)).toBe('two newlines 3\n\n');
    expect(renderString('none at the end {{ t }}', vars)).toBe('none at the end True');
  });

  it('does not leak loop variables or sets made inside a loop', () => {
    expect(renderString('{% for x in l %}{% set y = x %}{% endfor %}{{ x is defined }} {{ y is defined }}', vars)).toBe('False False');
  });

  it('loops over dict keys and string characters', () => {
    expect(renderString('{% for k in d %}{{ k }};{% endfor %}{% for c in "ab" %}{{ c }}.{% endfor %}', vars)).toBe('k;n;a.b.');
  });
});

describe('renderString: handlebars spellings are not Jinja', () => {
  it('rejects handlebars block helpers and helper calls, as Jinja does', () => {
    expect(thrown(() => renderString('{{#each users}}{{this}}{{/each}}', vars)).message).toContain("unexpected character '#'");
    expect(thrown(() => renderString('{{upper s}}', vars)).message).toContain("expected end of expression, found 's'");
  });
});

describe('renderString: errors', () => {
  it('says what was expected, with line and column', () => {
    const err = thrown(() => renderString('line one\n{{ x | }}\n', vars)) as TemplateError;
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.message).toBe("template error: expected a filter name after '|', found end of expression at line 2, column 8 of the template");
    expect(err.hint).toBe('{{ x | }}\n       ^');
  });

  it('suggests a filter for a misspelt one', () => {
    expect(thrown(() => renderString('{{ s | uper }}', vars)).message).toContain("unknown filter 'uper'; did you mean 'upper'?");
  });

  it('names a statement Jinja does not have, and says which extension holds one Ansible leaves out', () => {
    expect(thrown(() => renderString('{% frobnicate %}', vars)).message).toContain("unknown statement 'frobnicate'");
    expect(thrown(() => renderString('{% for x in l %}{% break %}{% endfor %}', vars)).message).toContain('jinja2.ext.loopcontrols extension, which Ansible does not enable');
  });

  it('reports blocks that are never closed or closed by the wrong tag', () => {
    expect(thrown(() => renderString('{% for x in l %}{{ x }}', vars)).message).toContain('{% for %} is never closed with {% endfor %}');
    expect(thrown(() => renderString('{% if t %}\n{% endfor %}', vars)).message).toContain(
      '{% endfor %} closes the {% if %} at line 1: expected {% endif %} at line 2, column 1',
    );
    expect(thrown(() => renderString('{% endif %}', vars)).message).toContain('{% endif %} without an open {% if %}');
  });

  it('reports a comment that is never closed', () => {
    expect(thrown(() => renderString('echo ${#arr[@]}', vars)).message).toContain("'{#' starts a comment that is never closed");
  });

  it('throws UndefinedVariableError for an undefined variable and says where', () => {
    const err = thrown(() => renderString('a\n{% for p in pkgs %}{{ p }}{% endfor %}', vars)) as UndefinedVariableError;
    expect(err).toBeInstanceOf(UndefinedVariableError);
    expect(err.variable).toBe('pkgs');
  });

  it('adds the expression and its line to an evaluation error', () => {
    const err = thrown(() => renderString("a\n{{ 1 + 'x' }}", vars));
    expect(err.message).toBe("unsupported operand type(s) for +: 'int' and 'str' in {{ 1 + 'x' }} (line 2 of the template)");
  });
});
