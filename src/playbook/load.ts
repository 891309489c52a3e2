// Reads YAML the way Ansible does (YAML 1.1: yes/no booleans, 0644 octal) and remembers where every
// mapping and key came from, so later errors can point at file:line:col.
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { ParseError, type SourcePos } from '../errors.js';

const mapPos = new WeakMap<object, SourcePos>();
const keyPos = new WeakMap<object, Map<string, SourcePos>>();
const sourceLines = new Map<string, string[]>();

/** Where a mapping or sequence loaded from YAML starts, if it came from YAML. */
export function posOf(value: unknown): SourcePos | undefined {
  return typeof value === 'object' && value !== null ? mapPos.get(value) : undefined;
}

/** Where a key of a loaded mapping was written (falls back to the mapping itself). */
export function posOfKey(value: unknown, key: string): SourcePos | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return keyPos.get(value)?.get(key) ?? mapPos.get(value);
}

/** The text of one line of a loaded file, for error excerpts. */
export function sourceLine(file: string, line: number): string | undefined {
  return sourceLines.get(file)?.[line - 1];
}

/** Remembers a file's text so errors in it (e.g. an INI inventory) can show the offending line. */
export function registerSource(file: string, text: string): void {
  sourceLines.set(file, text.split('\n'));
}

/** Formats a position as `file:line:col`, the offending line and a caret under the column. */
export function excerpt(pos: SourcePos): string {
  const text = sourceLine(pos.file, pos.line);
  if (text === undefined) return `${pos.file}:${pos.line}:${pos.col}`;
  const num = String(pos.line);
  return `${' '.repeat(Math.max(0, 4 - num.length))}${num} | ${text}\n     | ${' '.repeat(Math.max(0, pos.col - 1))}^`;
}

/** Loads the first YAML document of a file; ParseError with file:line:col when it does not parse. */
export async function loadYamlFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ParseError(code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseYaml(text, file);
}

/** Parses YAML text (named `file` in messages) into plain values, recording positions. */
export function parseYaml(text: string, file: string): unknown {
  const lc = new LineCounter();
  sourceLines.set(file, text.split('\n'));
  const docs = parseAllDocuments(text, { version: '1.1', lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const { line, col } = lc.linePos(err.pos[0]);
      const pos = { file, line, col };
      const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new ParseError(`YAML syntax error: ${reason}`, { pos });
    }
  }
  const doc = list[0];
  if (!doc || doc.contents === null) return null;
  const at = (offset: number | undefined): SourcePos => {
    const { line, col } = lc.linePos(offset ?? 0);
    return { file, line, col };
  };
  return toPlain(doc.contents as Node, doc, at);
}

function toPlain(node: Node | null, doc: Document, at: (offset: number | undefined) => SourcePos): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toPlain(node.resolve(doc) as Node, doc, at);
  if (isScalar(node)) {
    // YAML 1.1 as the yaml library reads it takes y/n as booleans; PyYAML (and so Ansible) does not.
    if (typeof node.value === 'boolean' && node.type === 'PLAIN' && /^[yYnN]$/.test(String(node.source))) return String(node.source);
    return node.value;
  }
  if (isSeq(node)) {
    const out = node.items.map((item) => toPlain(item as Node, doc, at));
    mapPos.set(out, at(node.range?.[0]));
    return out;
  }
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    const keys = new Map<string, SourcePos>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const isMerge = keyNode !== null && isScalar(keyNode) && (keyNode.value === '<<' || typeof keyNode.value === 'symbol');
      const key = isMerge ? '<<' : String(toPlain(keyNode, doc, at));
      const value = toPlain(pair.value as Node | null, doc, at);
      if (isMerge && typeof value === 'object' && value !== null) {
        // YAML merge keys: explicit keys of this mapping win over merged ones.
        for (const src of Array.isArray(value) ? value : [value]) {
          for (const [k, v] of Object.entries(src as Record<string, unknown>)) if (!(k in out)) out[k] = v;
        }
        continue;
      }
      out[key] = value;
      keys.set(key, at(keyNode?.range?.[0]));
    }
    mapPos.set(out, at(node.range?.[0]));
    keyPos.set(out, keys);
    return out;
  }
  return null;
}
