import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImgplayError, ParseError, ValidationError } from '../../../src/errors.js';
import { excerpt, loadYamlFile, parseYaml, parseYamlDocuments, posOf, sourceLine, YAML_LIMITS } from '../../../src/yaml/load.js';
import { renderString, templateValue } from '../../../src/jinja/template.js';
import { rejection, thrown } from '../../support/thrown.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-load-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A "billion laughs" document: each level lists the one before it nine times.
function laughs(levels: number): string {
  const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

function nestedBlock(depth: number): string {
  return `${Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k:\n`).join('')}${' '.repeat(depth)}v\n`;
}

function located(err: Error): { message: string; pos: { file: string; line: number; col: number } | undefined } {
  expect(err).toBeInstanceOf(ImgplayError);
  return { message: err.message, pos: (err as ImgplayError).pos };
}

describe('the YAML loader under hostile input', () => {
  it('refuses a billion laughs document quickly, at the alias that crossed the budget', () => {
    const started = Date.now();
    const err = located(thrown(() => parseYaml(laughs(9), 'bomb.yml')));
    expect(err.message).toBe(`YAML aliases expand to more than ${YAML_LIMITS.maxAliasValues} values`);
    expect(err.pos).toMatchObject({ file: 'bomb.yml', line: 7, col: 10 });
    expect(sourceLine('bomb.yml', 7)!.slice(9, 12)).toBe('*a5');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('copies aliases that stay within the budget, each copy a value of its own', () => {
    const text = `a: &a [${Array(100).fill('x').join(', ')}]\nb: [${Array(900).fill('*a').join(', ')}]\n`;
    const doc = parseYaml(text, 'many.yml') as { a: string[]; b: string[][] };
    expect(doc.b).toHaveLength(900);
    expect(doc.b[899]).toEqual(doc.a);
    expect(doc.b[0]).not.toBe(doc.a);
  });

  it('counts the budget across the documents of one stream', () => {
    const text = `${laughs(6)}---\n${laughs(6)}`;
    expect(thrown(() => parseYamlDocuments(text, 'two.yml')).message).toMatch(/aliases expand to more than/);
  });

  it('refuses an alias inside the collection it names, and an alias with no anchor before it', () => {
    expect(located(thrown(() => parseYaml('a: &a [1, *a]\n', 'loop.yml')))).toEqual({
      message: 'YAML alias *a refers to a collection that contains it',
      pos: { file: 'loop.yml', line: 1, col: 11 },
    });
    expect(located(thrown(() => parseYaml('a: *b\nb: &b 1\n', 'late.yml')))).toEqual({
      message: 'YAML alias *b names no anchor &b before it',
      pos: { file: 'late.yml', line: 1, col: 4 },
    });
  });

  it(`reads ${YAML_LIMITS.maxDepth} nested collections and refuses one more, at the collection too deep`, () => {
    expect(parseYaml(nestedBlock(YAML_LIMITS.maxDepth), 'ok.yml')).toBeTypeOf('object');
    const err = located(thrown(() => parseYaml(nestedBlock(YAML_LIMITS.maxDepth + 1), 'deep.yml')));
    expect(err.message).toBe(`YAML nested more than ${YAML_LIMITS.maxDepth} collections deep`);
    expect(err.pos).toEqual({ file: 'deep.yml', line: YAML_LIMITS.maxDepth + 1, col: YAML_LIMITS.maxDepth + 1 });
  });

  it('refuses 2000-deep block and 100000-deep flow collections without running out of stack', () => {
    const deep = [nestedBlock(2000), `x: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, `x: ${'{a: '.repeat(100_000)}1${'}'.repeat(100_000)}\n`];
    for (const text of deep) expect(located(thrown(() => parseYaml(text, 'deep.yml'))).message).toMatch(/nested more than/);
  });

  it('counts depth through aliases, where each level may look shallow', () => {
    const lines = [`l0: &l0 ${'['.repeat(60)}1${']'.repeat(60)}`, `l1: &l1 ${'['.repeat(60)}*l0${']'.repeat(60)}`];
    expect(located(thrown(() => parseYaml(`${lines.join('\n')}\n`, 'alias-deep.yml'))).message).toMatch(/nested more than/);
  });

  it('refuses a file over the size limit before reading it, naming its size and the limit', async () => {
    const big = join(dir, 'big.yml');
    writeFileSync(big, '');
    truncateSync(big, 200 * 1024 * 1024);
    const started = Date.now();
    const err = await rejection(loadYamlFile(big));
    expect(err).toBeInstanceOf(ParseError);
    expect(err.message).toBe(`${big} is 200.0 MiB, over the 2.0 MiB imgplay reads from one YAML or inventory input`);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops reading an endless device at the size limit', async () => {
    const err = await rejection(loadYamlFile('/dev/zero'));
    expect(err.message).toBe('/dev/zero is larger than the 2.0 MiB imgplay reads from one YAML or inventory input');
  });

  it('refuses a second document, as Ansible does, where it starts', () => {
    expect(located(thrown(() => parseYaml('a: 1\n---\nb: 2\n', 'two.yml')))).toEqual({
      message: 'expected one YAML document, found another',
      pos: { file: 'two.yml', line: 2, col: 1 },
    });
    expect(parseYaml('---\na: 1\n...\n', 'one.yml')).toEqual({ a: 1 });
  });

  it('refuses a vault-encrypted file', async () => {
    const vaulted = join(dir, 'vaulted.yml');
    writeFileSync(vaulted, '$ANSIBLE_VAULT;1.1;AES256\n6162\n');
    expect(await rejection(loadYamlFile(vaulted))).toBeInstanceOf(ValidationError);
  });
});

describe('error excerpts', () => {
  it('show a window of a long line around the column, the caret under it', () => {
    const line = `{${Array.from({ length: 2000 }, (_, i) => `"k${i}": ${i}`).join(', ')}, "bad": "\\q"}`;
    const err = located(thrown(() => parseYaml(`${line}\n`, 'long.json')));
    expect(err.message).toMatch(/Invalid escape sequence/);
    const [text, caret] = excerpt(err.pos!).split('\n') as [string, string];
    expect(text.length).toBeLessThan(200);
    expect(text[caret.indexOf('^')]).toBe(line[err.pos!.col - 1]);
  });
});

describe('error excerpts of hostile lines', () => {
  it('show control characters as one replacement character each, keeping the caret in place', () => {
    const err = located(thrown(() => parseYaml('a: "\u001b[2J\r" x\n', 'esc.yml')));
    expect(excerpt(err.pos!)).toBe('   1 | a: "\ufffd[2J\ufffd" x\n     |            ^');
  });
});

describe('the YAML loader and tags', () => {
  it('gives !!binary as the text it encodes, and refuses bytes that are not UTF-8', () => {
    expect(parseYaml('x: !!binary aGVsbG8=\n', 'b.yml')).toEqual({ x: 'hello' });
    expect(located(thrown(() => parseYaml('x: !!binary /w==\n', 'b.yml')))).toEqual({
      message: 'this !!binary value is not UTF-8 text, and imgplay variables hold text',
      pos: { file: 'b.yml', line: 1, col: 13 },
    });
  });

  it('gives !!set as the list of its members and !!omap and !!pairs as lists of [key, value]', () => {
    expect(parseYaml('s: !!set {a, b}\no: !!omap [x: 1, y: 2]\np: !!pairs [x: 1, x: 2]\n', 't.yml')).toEqual({
      s: ['a', 'b'],
      o: [['x', 1], ['y', 2]],
      p: [['x', 1], ['x', 2]],
    });
  });

  it('keeps a timestamp as the text written', () => {
    expect(parseYaml('d: 2024-01-31\nt: !!timestamp 2001-12-14 21:59:43.10 -5\n', 't.yml')).toEqual({ d: '2024-01-31', t: '2001-12-14 21:59:43.10 -5' });
  });

  it('refuses !vault values at planning, where they are written', () => {
    const err = thrown(() => parseYaml('password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n', 'v.yml'));
    expect(err).toBeInstanceOf(ValidationError);
    expect(located(err)).toEqual({
      message: 'this value is encrypted with ansible-vault (!vault), which imgplay does not support',
      pos: { file: 'v.yml', line: 1, col: 18 },
    });
  });

  it('reads !unsafe text as a string that templating leaves as it is, in collections too, keys included', () => {
    expect(parseYaml('a: !unsafe "50% off"\nb: !unsafe [x, y]\n', 'u.yml')).toEqual({ a: '50% off', b: ['x', 'y'] });
    const doc = parseYaml('a: !unsafe "{{ not_a_var }}"\nb: !unsafe {"{{ k }}": "{% raw %}"}\nc: "{{ not_a_var }} written safe"\n', 'u.yml') as Record<string, unknown>;
    expect(templateValue(doc.a, {})).toBe('{{ not_a_var }}');
    expect(templateValue(doc.b, {})).toEqual({ '{{ k }}': '{% raw %}' });
    expect(() => templateValue(doc.c, {})).toThrow(/not_a_var/);
  });

  it('makes what templating makes of !unsafe text unsafe too, so it is never templated again', () => {
    const vars = parseYaml('u: !unsafe "{{ probe_x }}"\nprobe_x: seen\n', 'u.yml') as Record<string, unknown>;
    const wrapped = templateValue('<{{ u }}>', vars);
    expect(wrapped).toBe('<{{ probe_x }}>');
    expect(templateValue(wrapped, vars)).toBe('<{{ probe_x }}>');
    expect(templateValue('{{ probe_x }} and more', vars)).toBe('seen and more');
  });

  it('refuses text marked !unsafe in one place and written as a template in another, naming both', () => {
    parseYaml('a: "{{ probe_twice }}"\n', 'safe.yml');
    expect(located(thrown(() => parseYaml('b: !unsafe "{{ probe_twice }}"\n', 'unsafe.yml')))).toEqual({
      message: '"{{ probe_twice }}" is marked !unsafe at unsafe.yml:1:12 and written as a template at safe.yml:1:4: imgplay knows unsafe text by its content, so it cannot leave one untemplated and render the other',
      pos: { file: 'safe.yml', line: 1, col: 4 },
    });
    parseYaml('c: !unsafe "{{ probe_thrice }}"\n', 'unsafe2.yml');
    expect(thrown(() => parseYaml('d: ["{{ probe_thrice }}"]\n', 'safe2.yml'))).toBeInstanceOf(ParseError);
  });

  it('refuses unknown tags and values that do not fit their standard tag, located at the tag', () => {
    expect(located(thrown(() => parseYaml('x: !foo bar\n', 'u.yml')))).toEqual({
      message: 'unknown YAML tag !foo (imgplay knows the standard !! tags, !unsafe and !vault)',
      pos: { file: 'u.yml', line: 1, col: 4 },
    });
    expect(located(thrown(() => parseYaml('x: !!int abc\n', 'u.yml'))).message).toBe('the value cannot be read as !!int');
  });

  it('keeps a key named __proto__ as data', () => {
    const doc = parseYaml('__proto__: {hosts: all}\nname: x\n', 'p.yml') as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['__proto__', 'name']);
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect((doc as { hosts?: unknown }).hosts).toBeUndefined();
  });

  it('merges keys that Object.prototype also has', () => {
    expect(parseYaml('b: &b {toString: 1}\nm: {<<: *b}\n', 'm.yml')).toEqual({ b: { toString: 1 }, m: { toString: 1 } });
  });

  it('refuses a merge key that names something other than mappings', () => {
    expect(located(thrown(() => parseYaml('a: {<<: 1}\n', 'm.yml')))).toEqual({
      message: 'a merge key (<<) takes a mapping or a list of mappings',
      pos: { file: 'm.yml', line: 1, col: 9 },
    });
  });

  it('records where each list from !!omap pairs was written', () => {
    const doc = parseYaml('o: !!omap\n  - x: 1\n', 'o.yml') as { o: unknown[] };
    expect(posOf(doc.o[0])).toMatchObject({ line: 2 });
  });
});

describe('the from_yaml filter', () => {
  it('reads text with the playbook loader and its limits', () => {
    expect(renderString("{{ 'x: !!binary aGVsbG8=' | from_yaml }}", {})).toBe("{'x': 'hello'}");
    expect(() => renderString('{{ text | from_yaml }}', { text: laughs(9) })).toThrow(/not valid YAML: YAML aliases expand to more than/);
  });
});
