// Expected renderings were produced by python3-jinja2 3.1.2 (Debian bookworm) with Ansible's trim_blocks and a
// strict undefined, the same templates given to both engines; the template differential cases 100-109 hold the
// template module to ansible-playbook itself.
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../../src/errors.js';
import { renderString, type Loader } from '../../../src/jinja/template.js';
import { thrown } from '../../support/thrown.js';

const templates: Record<string, string> = {
  "m.j2": "{% macro twice(x) %}{{ x }}{{ x }}{% endmacro %}{% set shared = 'S' %}{% set _hidden = 1 %}",
  "ctx.j2": "{% macro who() %}{{ name | default('nobody') }}{% endmacro %}",
  "base.j2": "<{% block a %}A{% endblock %}|{% block b scoped %}B{% endblock %}>",
  "mid.j2": "{% extends 'base.j2' %}{% block a %}mid({{ super() }}){% endblock %}",
  "inc.j2": "[{{ name }}{{ x | default('') }}]\n",
  "blk.j2": "[{% block inner %}in-{{ v | default('none') }}{% endblock %}]",
  "lay.j2": "{% block head %}H{% endblock %}/{% block body %}{% endblock %}/{% block foot %}F{{ self.head() }}{% endblock %}",
};
const loader: Loader = (name) => (Object.hasOwn(templates, name) ? { text: templates[name]!, name } : undefined);
const render = (text: string, vars: Record<string, unknown> = {}) => renderString(text, vars, { file: true, loader });

describe('Jinja statements render as Jinja renders them', () => {
  it.each([
    ["macro defaults, varargs, kwargs", "{% macro m(a, b=a ~ '!') %}{{ a }},{{ b }},{{ varargs }},{{ kwargs }}{% endmacro %}{{ m(1) }} {{ m(1, 2, 3) }} {{ m(1, c=4) }}", "1,1!,(),{} 1,2,(3,),{} 1,1!,(),{'c': 4}"],
    ["caller with arguments", "{% macro list(items) %}{% for i in items %}{{ caller(i, loop.index) }};{% endfor %}{% endmacro %}{% call(x, n) list(['a','b']) %}{{ n }}={{ x }}{% endcall %}", "1=a;2=b;"],
    ["nested call blocks", "{% macro wrap(t) %}<{{ t }}>{{ caller() }}</{{ t }}>{% endmacro %}{% call wrap('a') %}{% call wrap('b') %}x{% endcall %}{% endcall %}", "<a><b>x</b></a>"],
    ["import and from", "{% import 'm.j2' as m %}{% from 'm.j2' import twice as t, shared %}{{ m.twice('a') }}{{ t('b') }}{{ shared }}{{ m.shared }}{{ m._hidden is defined }}", "aabbSSFalse"],
    ["import without and with context", "{% set name = 'ctx' %}{% import 'ctx.j2' as a %}{% import 'ctx.j2' as b with context %}{{ a.who() }} {{ b.who() }}", "nobody ctx"],
    ["include sees loop variables", "{% set name = 'n' %}{% for x in [1, 2] %}{% include 'inc.j2' %}{% endfor %}|{% include 'nope.j2' ignore missing without context %}", "[n1][n2]|"],
    ["include ignore missing list", "{% set name = 'l' %}{% include ['nope.j2', 'inc.j2'] %}{% include 'nope.j2' ignore missing %}end", "[l]end"],
    ["three-level extends with super and self", "{% extends 'mid.j2' %}{% block a %}top[{{ super() }}]{{ self.b() }}{% endblock %}", "<top[mid(A)]B|B>"],
    ["extends from a variable", "{% set parent = 'base.j2' %}{% extends parent %}{% block b %}b{{ super() }}{% endblock %}", "<A|bB>"],
    ["with and filter blocks", "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}{{ a is defined }}{% filter upper | replace('A', '4') %}abc{{ 'a' }}{% endfilter %}", "1xFalse4BC4"],
    ["block set with filters", "{% set x | trim | upper %}  hi {{ 'there' }}  {% endset %}[{{ x }}]", "[HI THERE]"],
    ["namespace counters", "{% set ns = namespace(n=0, names=[]) %}{% for i in range(5) if i is odd %}{% set ns.n = ns.n + i %}{% set ns.names = ns.names + [i] %}{% endfor %}{{ ns.n }} {{ ns.names }}", "4 [1, 3]"],
    ["recursive loop depth", "{% for n in [{'v': 1, 'c': [{'v': 2, 'c': [{'v': 3, 'c': []}]}]}] recursive %}{{ loop.depth }}:{{ n.v }}({{ loop(n.c) }}){% endfor %}", "1:1(2:2(3:3()))"],
    ["loop cycle changed previtem", "{% for x in [1, 1, 2, 3, 3] %}{{ loop.cycle('a', 'b', 'c') }}{{ loop.changed(x) }}{{ loop.previtem | default('_') }}{{ loop.nextitem | default('_') }} {% endfor %}", "aTrue_1 bFalse12 cTrue13 aTrue23 bFalse3_ "],
    ["for else with filter", "{% for x in [1, 2] if x > 5 %}{{ x }}{% else %}none{% endfor %}|{% for x in [] %}{% else %}empty{% endfor %}", "none|empty"],
    ["set in loop does not persist", "{% set c = 0 %}{% for i in [1, 2] %}{% set c = c + i %}{{ c }}{% endfor %}{{ c }}", "120"],
    ["tuple unpacking", "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}{% set x, y = 'ab' %}{{ y }}{{ x }}", "37ba"],
    ["dict iteration", "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %}", "baa2b1"],
    ["macro from a loop sees loop var", "{% for a in [1] %}{% macro m() %}{{ a }}{% endmacro %}{{ m() }}{% endfor %}", "1"],
    ["macro late binding", "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}", "2"],
    ["missing macro argument is undefined", "{% macro m(a, b) %}{{ b is defined }}{% endmacro %}{{ m(1) }}", "False"],
    ["whitespace control everywhere", "a  {%- if true -%}  b  {%- endif -%}  c\n  {#- x -#}  d {{- ' e ' -}} f", "abcd e f"],
    ["trim blocks after comments", "x\n{# c #}\ny\n{% if true %}\nz\n{% endif %}\n", "x\ny\nz\n"],
    ["raw with whitespace control", "a {%- raw -%} {{ x }} {%- endraw -%} b", "a{{ x }}b"],
    ["scoped block sees loop var", "{% for i in [1, 2] %}{% block item scoped %}<{{ i }}>{% endblock %}{% endfor %}", "<1><2>"],
    ["super of scoped block", "{% extends 'base.j2' %}{% block b %}[{{ super() }}]{% endblock %}", "<A|[B]>"],
    ["from import with context", "{% set name = 'c' %}{% from 'ctx.j2' import who with context %}{% from 'ctx.j2' import who as w2, who as w3 without context %}{{ who() }} {{ w2() }}", "c nobody"],
    ["import in a loop body and a macro calling a macro", "{% macro a(x) %}<{{ x }}>{% endmacro %}{% macro b(x) %}{{ a(x) }}{{ a(x * 2) }}{% endmacro %}{% for i in [1, 2] %}{% import 'm.j2' as m %}{{ b(i) }}{{ m.twice(i) }}{% endfor %}", "<1><2>11<2><4>22"],
    ["nested loops keep depth 1", "{% for x in [[1, 2], [3]] %}{{ loop.index }}{% for z in x %}({{ loop.index }}{{ loop.depth }}{{ loop.length }}){% endfor %}{% endfor %}", "1(112)(212)2(111)"],
    ["block in an included template", "{% set v = 'x' %}{% include 'blk.j2' %}", "[in-x]"],
    ["filter inside macro", "{% macro shout(t) %}{% filter upper %}{{ t }}!{% endfilter %}{% endmacro %}{{ shout('hey') }}", "HEY!"],
    ["caller params with defaults", "{% macro m() %}{{ caller('a') }}|{{ caller('a', 'b') }}{% endmacro %}{% call(x, y='z') m() %}{{ x }}{{ y }}{% endcall %}", "az|ab"],
    ["set unpack from list", "{% set a, b = [1, 2] %}{{ b }}{{ a }}", "21"],
    ["revindex in filtered loop", "{% for x in range(10) if x is even %}{{ x }}:{{ loop.revindex }},{% endfor %}", "0:5,2:4,4:3,6:2,8:1,"],
    ["whitespace in macro definitions", "{%- macro m(x) -%}\n  [{{ x }}]\n{%- endmacro -%}\nA {{ m(1) }} B\n{%- set y = 2 %}\n{{ y }}", "A [1] B2"],
    ["child defines blocks the layout calls through self", "{% extends 'lay.j2' %}{% block head %}h{% endblock %}{% block body %}b{{ super() }}{% endblock %}", "h/b/Fh"],
    ["loop variable shadows and restores", "{% set x = 'outer' %}{% for x in [1] %}{{ x }}{% endfor %}{{ x }}", "1outer"],
    ["namespace from a dict", "{% set ns = namespace(a=1) %}{% set ns.b = 2 %}{{ ns.a }}{{ ns.b }}", "12"],
    ["conditional expression and inline if", "{{ 'y' if 1 in [1] else 'n' }}{{ 'x' if false }}|", "y|"],
    ["include inside macro sees macro args", "{% macro m(v) %}{% include 'blk.j2' %}{% endmacro %}{{ m('arg') }}", "[in-arg]"],
    ["block set inside loop", "{% for i in [1, 2] %}{% set t %}<{{ i }}>{% endset %}{{ t }}{% endfor %}{{ t is defined }}", "<1><2>False"],
    ["string loop and slices", "{% for c in 'abc'[::-1] %}{{ c }}{{ loop.last }}{% endfor %}", "cFalsebFalseaTrue"],
    ["loop.cycle with *args", "{% set cls = ['odd', 'even'] %}{% for i in range(3) %}{{ loop.cycle(*cls) }} {% endfor %}", "odd even odd "],
    ["*list and **dict arguments of filters and macros", "{{ '%s-%s' | format(*['a','b']) }}|{% macro m(a, b) %}{{ a }}{{ b }}{% endmacro %}{{ m(*[1], **{'b': 2}) }}", "a-b|12"],
  ])('%s', (_what, text, want) => {
    expect(render(text)).toBe(want);
  });
});

describe('Jinja statements: what a hostile template cannot do', () => {
  it('stops a macro that calls itself without end, naming it', () => {
    const err = thrown(() => render('{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}'));
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.message).toContain("template recursion deeper than 200 levels (macro 'f')");
  });

  it('stops a template that includes itself', () => {
    const self: Loader = (name) => ({ text: `{% include '${name}' %}`, name });
    expect(thrown(() => renderString("{% include 'a.j2' %}", {}, { file: true, loader: self })).message).toContain("(include 'a.j2')");
  });

  it('stops a recursive loop that never reaches a leaf', () => {
    expect(thrown(() => render('{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}')).message).toContain('(a recursive loop)');
  });

  it('stops loops after a million iterations instead of running for hours', () => {
    expect(thrown(() => render('{% for i in range(1001) %}{% for j in range(1000) %}{% endfor %}{% endfor %}')).message).toContain(
      "the template's loops ran more than 1000000 iterations",
    );
  });

  it('reports statements nested deeper than the parser can follow as a template error', () => {
    const deep = '{% if true %}'.repeat(20000) + 'x' + '{% endif %}'.repeat(20000);
    expect(thrown(() => render(deep))).toBeInstanceOf(TemplateError);
  });

  it('lets a template include only from template files', () => {
    expect(thrown(() => renderString("{% include 'x.j2' %}", {})).message).toContain('only from template files');
  });
});

describe('Jinja statements: errors point at the tag', () => {
  it('names a template that is not found, and where', () => {
    const err = thrown(() => render("line\n{% include 'missing.j2' %}"));
    expect(err.message).toContain("template not found: 'missing.j2'");
    expect(err.message).toContain('line 2');
  });

  it('says which included template a syntax error is in', () => {
    const bad: Loader = (name) => ({ text: 'ok\n{% if %}', name });
    const err = thrown(() => renderString("{% include 'bad.j2' %}", {}, { file: true, loader: bad })) as TemplateError;
    expect(err.message).toBe("template error: expected an expression, found end of expression at line 2, column 7 of template 'bad.j2'");
    expect(err.hint).toBe('{% if %}\n      ^');
  });

  it('reports a macro called with an argument it does not take', () => {
    expect(thrown(() => render('{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}')).message).toContain("macro 'm' takes not more than 1 argument(s)");
    expect(thrown(() => render('{% macro m(a) %}{% endmacro %}{{ m(b=2) }}')).message).toContain("macro 'm' takes no keyword argument 'b'");
  });

  it('reports an endblock that names another block', () => {
    expect(thrown(() => render('{% block a %}{% endblock b %}')).message).toContain("names 'b' but closes the block 'a'");
  });
});
