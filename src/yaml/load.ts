// Reads YAML the way Ansible does (YAML 1.1: yes/no booleans, 0644 octal) and remembers where every
// mapping and key came from, so later errors can point at file:line:col.
import { markUnsafeText, noteTemplateText } from './unsafe.js';
import { open, type FileHandle } from 'node:fs/promises';
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Parser, visit } from 'yaml';
import type { Alias, CST, Document, Node, Scalar, ScalarTag, Tags, YAMLMap } from 'yaml';
import { ParseError, ValidationError, type SourcePos } from '../errors.js';

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
  let text = sourceLine(pos.file, pos.line);
  if (text === undefined) return `${pos.file}:${pos.line}:${pos.col}`;
  let col = pos.col;
  // A long line (minified JSON, say) is cut to a window around the column, so an error stays a few lines long.
  if (text.length > EXCERPT_WIDTH) {
    const start = Math.max(0, Math.min(col - 1 - EXCERPT_WIDTH / 2, text.length - EXCERPT_WIDTH));
    const end = start + EXCERPT_WIDTH;
    col = col - start + (start > 0 ? 1 : 0);
    text = `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
  }
  text = printable(text);
  const num = String(pos.line);
  return `${' '.repeat(Math.max(0, 4 - num.length))}${num} | ${text}\n     | ${' '.repeat(Math.max(0, col - 1))}^`;
}

const EXCERPT_WIDTH = 160;

/** Text made safe for a terminal: each control character but tab (and newline when kept) becomes one U+FFFD. */
export function printable(text: string, opts: { newlines?: boolean } = {}): string {
  // An escape sequence or a carriage return would act on the terminal (rewrite lines, change colours).
  return text.replace(opts.newlines ? /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g : /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, '\ufffd');
}

/** What one YAML input may cost: past any of these the loader refuses it with a located ParseError. */
export const YAML_LIMITS = {
  /** Bytes in one file or text: per MiB the yaml library needs 2-5 s of CPU and 200 MB (block style) to 600 MB (dense flow lists). */
  maxBytes: 2 * 1024 * 1024,
  /** Collections nested inside each other, counted after aliases are expanded. */
  maxDepth: 100,
  /** Values that aliases may copy in one input (a "billion laughs" document asks for 10^9). */
  maxAliasValues: 1_000_000,
} as const;

/** Reads a YAML or inventory file as text, refusing what the loader would refuse: too big, vault-encrypted. */
export async function readInputText(file: string): Promise<string> {
  const cannot = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    return new ParseError(code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  };
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw cannot(err);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    const size = (await handle.stat()).size;
    if (size > YAML_LIMITS.maxBytes) throw tooBig(file, size);
    // Read in chunks up to one byte past the limit: a device or pipe (/dev/zero) has no size to check first.
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, YAML_LIMITS.maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > YAML_LIMITS.maxBytes) throw tooBig(file, undefined);
    }
  } catch (err) {
    throw err instanceof ParseError ? err : cannot(err);
  } finally {
    await handle.close();
  }
  const text = Buffer.concat(chunks, total).toString('utf8');
  if (text.startsWith('$ANSIBLE_VAULT;')) {
    throw new ValidationError(`${file} is encrypted with ansible-vault, which imgplay does not support`, {
      pos: { file, line: 1, col: 1 },
      hint: 'decrypt it with `ansible-vault decrypt`, or pass the secrets another way',
    });
  }
  return text;
}

function tooBig(name: string, size: number | undefined): ParseError {
  const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  const limit = `the ${mib(YAML_LIMITS.maxBytes)} imgplay reads from one YAML or inventory input`;
  return new ParseError(size === undefined ? `${name} is larger than ${limit}` : `${name} is ${mib(size)}, over ${limit}`, {
    hint: 'split it into several files, or keep bulk data in files that tasks copy rather than in variables',
  });
}

/** Loads the one YAML document of a file; ParseError with file:line:col when it does not parse. */
export async function loadYamlFile(file: string): Promise<unknown> {
  return parseYaml(await readInputText(file), file);
}

/** Parses YAML text (named `file` in messages) into plain values, recording positions. */
export function parseYaml(text: string, file: string): unknown {
  const { docs, at } = compose(text, file);
  // Ansible's loader wants exactly one document: a second one is refused rather than ignored.
  if (docs.length > 1) throw new ParseError('expected one YAML document, found another', { pos: at(docs[1]!.range?.[0]) });
  return plainValues(docs, at)[0] ?? null;
}

/** Every document of a YAML stream as plain values; the one parser all of imgplay's YAML goes through. */
export function parseYamlDocuments(text: string, file: string): unknown[] {
  const { docs, at } = compose(text, file);
  return plainValues(docs, at);
}

function plainValues(docs: Document[], at: (offset: number | undefined) => SourcePos): unknown[] {
  const budget = { copied: 0 };
  return docs.map((doc) => (doc.contents === null ? null : new Plain(doc, at, budget).value(doc.contents as Node, 0)));
}

function compose(text: string, file: string): { docs: Document[]; at: (offset: number | undefined) => SourcePos } {
  // Characters never outnumber bytes, so this refuses no text a file of the same content would pass.
  if (text.length > YAML_LIMITS.maxBytes) throw tooBig(file, Buffer.byteLength(text));
  const lc = new LineCounter();
  sourceLines.set(file, text.split('\n'));
  const at = (offset: number | undefined): SourcePos => {
    const { line, col } = lc.linePos(offset ?? 0);
    return { file, line, col };
  };
  const parser = new Parser(lc.addNewLine);
  const composer = new Composer({ version: '1.1', uniqueKeys: false, customTags: asPyYaml });
  // The CST parser is iterative; the composer and everything after it recurse, so depth is checked in between.
  const docs = [...composer.compose(depthChecked(parser.parse(text), at))];
  for (const doc of docs) {
    const err = doc.errors[0] ?? doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED' && !ANSIBLE_TAGS.test(w.message));
    if (err) {
      const pos = at(err.pos[0]);
      throw new ParseError(err.code === 'TAG_RESOLVE_FAILED' ? tagMessage(err.message) : `YAML syntax error: ${reason(err.message)}`, { pos });
    }
  }
  return { docs, at };
}

// The yaml package's YAML 1.1 reads some plain scalars as PyYAML (Ansible's reader) does not: `y`/`n` as
// booleans, `08` as 8, `1e5` as a float and `e1` as NaN. PyYAML's resolver wants a sign and a dot for an
// exponent and no leading zero in a decimal, and knows no y/n: its patterns replace the package's here.
const PYYAML_TESTS: Record<string, RegExp> = {
  'bool:true': /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/,
  'bool:false': /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
  'int:': /^[-+]?(?:0|[1-9][0-9_]*)$/,
  'float:EXP': /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)[eE][-+][0-9]+$/,
  'float:': /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)$/,
};

function asPyYaml(tags: Tags): Tags {
  return tags.map((t) => {
    const tag = t as ScalarTag;
    // The package's .inf/.nan tag is PyYAML's already; only its tests of other floats differ.
    if (!(tag.test instanceof RegExp) || tag.test.test('.inf')) return t;
    const kind = tag.tag.replace('tag:yaml.org,2002:', '');
    const key = kind === 'bool' ? `bool:${String(tag.test.test('true'))}` : `${kind}:${tag.format ?? ''}`;
    const test = PYYAML_TESTS[key];
    return test ? { ...tag, test } : t;
  });
}

const ANSIBLE_TAGS = /^Unresolved tag: !(?:unsafe|vault|vault-encrypted)\b/;

function reason(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function tagMessage(message: string): string {
  const tag = reason(message).replace(/^Unresolved tag: /, '').replace(/^tag:yaml\.org,2002:/, '!!');
  return tag.startsWith('!!')
    ? `the value cannot be read as ${tag}`
    : `unknown YAML tag ${tag} (imgplay knows the standard !! tags, !unsafe and !vault)`;
}

function* depthChecked(tokens: Iterable<CST.Token>, at: (offset: number | undefined) => SourcePos): Generator<CST.Token> {
  for (const token of tokens) {
    const stack: Array<{ token: CST.Token | null | undefined; depth: number }> = [{ token, depth: 0 }];
    while (stack.length > 0) {
      const { token: t, depth } = stack.pop()!;
      if (!t) continue;
      if (t.type === 'document') stack.push({ token: t.value, depth });
      else if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') {
        if (depth >= YAML_LIMITS.maxDepth) throw tooDeep(at(t.offset));
        for (const item of t.items) stack.push({ token: item.key, depth: depth + 1 }, { token: item.value, depth: depth + 1 });
      }
    }
    yield token;
  }
}

function tooDeep(pos: SourcePos): ParseError {
  return new ParseError(`YAML nested more than ${YAML_LIMITS.maxDepth} collections deep`, { pos, hint: 'imgplay refuses deeper nesting rather than risk running out of stack' });
}

const TAG = 'tag:yaml.org,2002:';

// Turns a document's nodes into plain values, copying what aliases refer to within the budget.
class Plain {
  private readonly targets = new Map<Alias, Node | undefined>();
  private readonly expanding = new Set<Node>();
  /** How many !unsafe values are being built around the current node. */
  private unsafe = 0;
  // The alias written in the text whose expansion is under way: positions inside it point at the anchor instead.
  private outermost: Alias | undefined;

  constructor(
    doc: Document,
    private readonly at: (offset: number | undefined) => SourcePos,
    // Shared by the documents of one stream, so a thousand documents cannot each spend the whole budget.
    private readonly budget: { copied: number },
  ) {
    // An alias names the last anchor before it; one walk finds them all (Alias.resolve walks the document per call).
    const anchors = new Map<string, Node>();
    visit(doc, {
      Node: (_key, node) => {
        if (isAlias(node)) this.targets.set(node, anchors.get(node.source));
        else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
  }

  value(node: Node | null, depth: number): unknown {
    if (node === null || node === undefined) return null;
    if (this.expanding.size > 0 && ++this.budget.copied > YAML_LIMITS.maxAliasValues) {
      throw new ParseError(`YAML aliases expand to more than ${YAML_LIMITS.maxAliasValues} values`, {
        pos: this.at(this.outermost?.range?.[0]),
        hint: 'a document whose aliases multiply ("billion laughs") is refused',
      });
    }
    if (isAlias(node)) return this.alias(node, depth);
    if (depth > YAML_LIMITS.maxDepth) throw tooDeep(this.at(node.range?.[0]));
    if (node.tag === '!vault' || node.tag === '!vault-encrypted') {
      throw new ValidationError('this value is encrypted with ansible-vault (!vault), which imgplay does not support', {
        pos: this.at(node.range?.[0]),
        hint: 'decrypt it with `ansible-vault decrypt_string`, or pass the secret another way',
      });
    }
    if (node.tag !== '!unsafe') return this.build(node, depth);
    this.unsafe++;
    try {
      const out = this.build(node, depth);
      markTexts(out, this.at(node.range?.[0]));
      return out;
    } finally {
      this.unsafe--;
    }
  }

  private alias(node: Alias, depth: number): unknown {
    const target = this.targets.get(node);
    const pos = this.at(node.range?.[0]);
    if (target === undefined) throw new ParseError(`YAML alias *${node.source} names no anchor &${node.source} before it`, { pos });
    if (this.expanding.has(target)) throw new ParseError(`YAML alias *${node.source} refers to a collection that contains it`, { pos });
    if (this.expanding.size === 0) this.outermost = node;
    this.expanding.add(target);
    try {
      return this.value(target, depth);
    } finally {
      this.expanding.delete(target);
    }
  }

  private build(node: Node, depth: number): unknown {
    if (isScalar(node)) return this.scalar(node);
    if (isSeq(node)) {
      // !!omap and !!pairs hold key/value pairs, which PyYAML gives as a list of (key, value).
      const out = node.items.map((item) =>
        isPair(item) ? this.track([this.value(item.key as Node, depth + 1), this.value(item.value as Node, depth + 1)], item.key as Node) : this.value(item as Node, depth + 1),
      );
      return this.track(out, node);
    }
    if (isMap(node)) {
      if (node.tag === `${TAG}set`) return this.track(node.items.map((pair) => this.value(pair.key as Node, depth + 1)), node);
      return this.mapping(node, depth);
    }
    return null;
  }

  // A text outside !unsafe that holds a template is noted, so the same text marked !unsafe elsewhere is refused.
  private scalar(node: Scalar): unknown {
    const v = this.scalarValue(node);
    if (typeof v === 'string' && this.unsafe === 0) noteTemplateText(v, this.at(node.range?.[0]));
    return v;
  }

  private scalarValue(node: Scalar): unknown {
    const value = node.value;
    // YAML 1.1 as the yaml library reads it takes y/n as booleans; PyYAML (and so Ansible) does not.
    if (typeof value === 'boolean' && node.type === 'PLAIN' && /^[yYnN]$/.test(String(node.source))) return String(node.source);
    // Variables are text: a timestamp stays as written, binary data must decode as UTF-8.
    if (value instanceof Date) return String(node.source);
    if (value instanceof Uint8Array) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(value);
      } catch {
        throw new ParseError('this !!binary value is not UTF-8 text, and imgplay variables hold text', { pos: this.at(node.range?.[0]) });
      }
    }
    return value;
  }

  private mapping(node: YAMLMap, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keys = new Map<string, SourcePos>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const isMerge = keyNode !== null && isScalar(keyNode) && (keyNode.value === '<<' || typeof keyNode.value === 'symbol');
      const key = isMerge ? '<<' : String(this.value(keyNode, depth + 1));
      const value = this.value(pair.value as Node | null, depth + 1);
      if (isMerge) {
        // YAML merge keys: explicit keys of this mapping win over merged ones.
        const sources = Array.isArray(value) ? value : [value];
        for (const src of sources) {
          if (typeof src !== 'object' || src === null || Array.isArray(src)) {
            throw new ParseError('a merge key (<<) takes a mapping or a list of mappings', { pos: this.at(pair.value ? (pair.value as Node).range?.[0] : keyNode.range?.[0]) });
          }
          for (const [k, v] of Object.entries(src as Record<string, unknown>)) if (!Object.hasOwn(out, k)) setKey(out, k, v);
        }
        continue;
      }
      setKey(out, key, value);
      keys.set(key, this.at(keyNode?.range?.[0]));
    }
    mapPos.set(out, this.at(node.range?.[0]));
    keyPos.set(out, keys);
    return out;
  }

  private track<T extends object>(out: T, node: Node): T {
    mapPos.set(out, this.at(node.range?.[0]));
    return out;
  }
}

// A key named __proto__ is data, as in Python, not the object's prototype.
function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  else out[key] = value;
}

// Every string in an !unsafe value (keys too) is text templating leaves as it is.
function markTexts(value: unknown, pos: SourcePos): void {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string') markUnsafeText(v, pos);
    else if (typeof v === 'object' && v !== null) for (const [key, item] of Object.entries(v)) pending.push(key, item);
  }
}
