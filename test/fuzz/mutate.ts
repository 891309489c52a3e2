// Mutations of real playbooks, inventories and templates, as fast-check arbitraries: line edits, indentation,
// special YAML and Jinja tokens, anchors and aliases, truncation and raw bytes that need not be UTF-8.
import fc from 'fast-check';

/** One edit of a file; positions are taken modulo the file's length, so any number fits any file. */
export type Mutation =
  | { op: 'delete' | 'duplicate' | 'truncate'; at: number }
  | { op: 'swap'; at: number; with: number }
  | { op: 'indent'; at: number; by: number }
  | { op: 'insert'; at: number; col: number; text: string }
  | { op: 'alias'; at: number; to: number }
  | { op: 'bytes'; at: number; bytes: number[] };

const YAML_TOKENS = [
  ':', ': ', '- ', '? ', '{', '}', '[', ']', ', ', '#', '|', '>', '"', "'", '%', '@', '`', '\t', '\\', '~', '\r', '\u0000',
  '\ufeff', '---\n', '...\n', '&a ', '*a', '*zz', '<<: *a', '<<: 1', '!!binary ', '!!binary /w==', '!!set ', '!!omap ',
  '!!pairs ', '!!int ', '!!float ', '!!timestamp ', '!!str ', '!!map ', '!!seq ', '!vault ', '!unsafe ', '!foo ', '! ',
  '%TAG ! tag:x/\n', 'yes', 'no', 'y', '0644', '0x1F', '1e400', '.nan', '-.inf', 'null', '2024-01-01', '__proto__: ',
  'constructor: ', 'import_playbook: ', 'import_playbook: {a: 1}', 'import_tasks: ', 'include_tasks: ', 'import_role: ',
  'roles: ', 'tasks: ', 'block: ', 'rescue: ', 'when: ', 'loop: ', 'with_items: ', 'vars: ', 'vars_files: ', 'hosts: ',
  'children: ', 'notify: ', 'tags: ', 'name: ', '{{ x }}', '{{', '}}', '{%', '%}', '{# ', '"{{ lookup(\'file\', \'/dev/zero\') }}"',
  '[[[[[[[[[[', '{a: {a: {a: {a: ', '\n  - \n', 'a'.repeat(300),
];

const JINJA_TOKENS = [
  '{{', '}}', '{%', '%}', '{#', '#}', '{{ x }}', '{{ y }}', '{{ y[0] }}', '{{ x.y.z }}', '{% for i in y %}', '{% endfor %}',
  '{% if x %}', '{% elif %}', '{% else %}', '{% endif %}', '{% set z = x %}', '{% raw %}', '{% endraw %}', '{% macro m() %}',
  '{% endmacro %}', '{% include "x" %}', '{% extends "x" %}', '{% block b %}', ' | ', '|default(', '|int', '|join(",")',
  '|from_yaml', '|to_json', '|regex_replace("(a+)+$", "")', '(', ')', '[', ']', '.', '~', '**', '9**9**9', "'a' * 1000000",
  'range(1000000)', 'lookup(', 'x is defined', 'not ', ' and ', '"', "'", '\\', '\u0000', '\n', '{{{{', '}}}}', '{{ "}}" }}',
  '{{ [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] }}', '{{ ((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))) }}',
];

function lineMutation(tokens: readonly string[]): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  return fc.oneof(
    fc.record({ op: fc.constantFrom('delete' as const, 'duplicate' as const, 'truncate' as const), at }),
    fc.record({ op: fc.constant('swap' as const), at, with: fc.nat() }),
    fc.record({ op: fc.constant('indent' as const), at, by: fc.integer({ min: -4, max: 4 }) }),
    fc.record({ op: fc.constant('insert' as const), at, col: fc.nat(), text: fc.constantFrom(...tokens) }),
    fc.record({ op: fc.constant('insert' as const), at, col: fc.nat(), text: fc.string({ maxLength: 6 }) }),
    fc.record({ op: fc.constant('alias' as const), at, to: fc.nat() }),
    fc.record({ op: fc.constant('bytes' as const), at, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  );
}

/** A list of YAML-minded mutations. */
export const yamlMutations = fc.array(lineMutation(YAML_TOKENS), { minLength: 1, maxLength: 4 });

/** A list of Jinja-minded mutations. */
export const jinjaMutations = fc.array(lineMutation(JINJA_TOKENS), { minLength: 1, maxLength: 4 });

/** Applies mutations to a file's text; byte edits come last, on the encoded file, so they may break UTF-8. */
export function mutate(text: string, mutations: readonly Mutation[]): Buffer {
  let lines = text.split('\n');
  const pick = (n: number) => (lines.length === 0 ? 0 : n % lines.length);
  const byteEdits: Array<{ at: number; bytes: number[] }> = [];
  for (const m of mutations) {
    const i = pick(m.at);
    const line = lines[i] ?? '';
    switch (m.op) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'duplicate':
        lines.splice(i, 0, line);
        break;
      case 'truncate': {
        const all = lines.join('\n');
        lines = all.slice(0, m.at % (all.length + 1)).split('\n');
        break;
      }
      case 'swap': {
        const j = pick(m.with);
        [lines[i], lines[j]] = [lines[j] ?? '', line];
        break;
      }
      case 'indent':
        lines[i] = m.by >= 0 ? ' '.repeat(m.by) + line : line.replace(new RegExp(`^ {0,${-m.by}}`), '');
        break;
      case 'insert': {
        const col = m.col % (line.length + 1);
        lines[i] = line.slice(0, col) + m.text + line.slice(col);
        break;
      }
      case 'alias': {
        // An anchor after a key's colon, and an alias in place of another line's value.
        lines[i] = line.replace(/:(\s|$)/, ': &a$1');
        const j = pick(m.to);
        lines[j] = (lines[j] ?? '').replace(/:\s.*$/, ': *a');
        break;
      }
      case 'bytes':
        byteEdits.push({ at: m.at, bytes: m.bytes });
        break;
    }
  }
  let out = Buffer.from(lines.join('\n'), 'utf8');
  for (const e of byteEdits) {
    const at = e.at % (out.length + 1);
    out = Buffer.concat([out.subarray(0, at), Buffer.from(e.bytes), out.subarray(at)]);
  }
  return out;
}
