// Whitespace is where template engines drift apart: random templates of text, `-`/`+` signs, comments, raw blocks,
// ifs and fors are rendered by python3-jinja2 (Debian's, which ansible-playbook uses) and by imgplay under each
// trim_blocks/lstrip_blocks setting, and must come out byte for byte the same.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ANSIBLE_SYNTAX } from '../../../src/jinja/lexer.js';
import { compileTemplate, renderTemplate } from '../../../src/jinja/render.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

const jinja = file('/usr/lib/python3/dist-packages/jinja2/__init__.py', 'python3-jinja2');

// A small deterministic generator (mulberry32), so a failure names a template that can be rerun.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function templates(count: number, seed: number): string[] {
  const r = random(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const ws = () => Array.from({ length: Math.floor(r() * 4) }, () => pick([' ', '  ', '\n', '\t', '\n  ', '  \n', '\n\n', 'x', 'a b', ' y\n'])).join('');
  const sign = () => pick(['', '', '-', '+']);
  const dash = () => pick(['', '-']);
  const body = (depth: number): string =>
    Array.from({ length: Math.floor(r() * 3) }, () => ws() + (r() < 0.6 ? tag(depth + 1) : '')).join('');
  const tag = (depth: number): string => {
    const k = r();
    if (k < 0.25) return `{{${dash()} 1 ${dash()}}}`;
    if (k < 0.4) return `{#${sign()} c ${sign()}#}`;
    if (k < 0.5) return `{%${sign()} raw ${dash()}%}${ws()}{{ r }}${ws()}{%${sign()} endraw ${sign()}%}`;
    const inner = depth > 3 ? ws() : body(depth);
    if (k < 0.75) return `{%${sign()} if true ${sign()}%}${inner}{%${sign()} endif ${sign()}%}`;
    return `{%${sign()} for i in [1, 2] ${sign()}%}${inner}{%${sign()} endfor ${sign()}%}`;
  };
  return Array.from({ length: count }, () => ws() + body(0) + ws() + body(0) + ws());
}

const PYTHON = `
import json, sys
from jinja2 import Environment, StrictUndefined
out = []
for c in json.load(sys.stdin):
    env = Environment(trim_blocks=c['trim'], lstrip_blocks=c['lstrip'], undefined=StrictUndefined)
    out.append(env.from_string(c['text']).render())
json.dump(out, sys.stdout)
`;

describe.skipIf(skipWithout(lacking(jinja)))('whitespace control against python3-jinja2', () => {
  it('renders 1200 random templates byte for byte as Jinja does', async () => {
    const cases = templates(300, 14).flatMap((text) =>
      [true, false].flatMap((trim) => [true, false].map((lstrip) => ({ text, trim, lstrip }))),
    );
    const { stdout } = await execa('/usr/bin/python3', ['-c', PYTHON], { input: JSON.stringify(cases) });
    const want = JSON.parse(stdout) as string[];
    const differ = cases.flatMap((c, i) => {
      const syntax = { ...ANSIBLE_SYNTAX, trimBlocks: c.trim, lstripBlocks: c.lstrip };
      const got = renderTemplate(compileTemplate(c.text, syntax, false), {}, { syntax, rawStrings: false, multiline: true });
      return got === want[i] ? [] : [{ ...c, jinja: want[i], imgplay: got }];
    });
    expect(differ.slice(0, 3)).toEqual([]);
  });
});
