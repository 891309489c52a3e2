// Python's ast.literal_eval for the values Ansible reads from INI inventories: `5` is an int, `True` a
// boolean, `'x'` a string and `[1, 2]` a list, while anything else (`yes`, `0644`, `a b`) stays the raw text.

type Token =
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'name'; value: string }
  | { kind: 'punct'; value: string };

/** Thrown inside the parser when the text is not a Python literal; never escapes this file. */
class NotLiteral extends Error {}

const DIGITS = String.raw`\d(?:_?\d)*`;
const EXPONENT = String.raw`[eE][+-]?${DIGITS}`;
const NUMBER = new RegExp(
  [
    String.raw`0[xX](?:_?[0-9a-fA-F])+`,
    String.raw`0[oO](?:_?[0-7])+`,
    String.raw`0[bB](?:_?[01])+`,
    String.raw`${DIGITS}\.(?:${DIGITS})?(?:${EXPONENT})?`,
    String.raw`\.${DIGITS}(?:${EXPONENT})?`,
    String.raw`${DIGITS}${EXPONENT}`,
    String.raw`[1-9](?:_?\d)*`,
    String.raw`0+(?:_?0)*`,
  ]
    .map((alt) => `(?:${alt})`)
    .join('|'),
  'y',
);
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const STRING_START = /([rRbBuUfF]{0,2})('''|"""|'|")/y;

/** The value of `text` read as a Python literal, or undefined when Python would not read it as one. */
export function literalEval(text: string): { value: unknown } | undefined {
  try {
    const tokens = tokenize(text.replace(/^[ \t]+/, ''));
    const parser = new Parser(tokens);
    const value = parser.expression();
    parser.end();
    return { value };
  } catch (err) {
    if (err instanceof NotLiteral) return undefined;
    throw err;
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') break;
    if (c === '\n' || c === '\r') throw new NotLiteral();
    STRING_START.lastIndex = i;
    const str = STRING_START.exec(text);
    if (str && /^(?:[rRbBuU]|[bB][rR]|[rR][bB])?$/.test(str[1]!)) {
      const [value, next] = readString(text, i + str[0].length, str[2]!, /[rR]/.test(str[1]!));
      tokens.push({ kind: 'str', value });
      i = next;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      NUMBER.lastIndex = i;
      const num = NUMBER.exec(text);
      if (!num) throw new NotLiteral();
      const end = i + num[0].length;
      // `0644`, `5abc` and `1j` are not plain numbers: Python rejects the first two and makes a complex of the third.
      if (end < text.length && /[A-Za-z0-9_.]/.test(text[end]!)) throw new NotLiteral();
      tokens.push({ kind: 'num', value: numberValue(num[0]) });
      i = end;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(text);
    if (name) {
      tokens.push({ kind: 'name', value: name[0] });
      i += name[0].length;
      continue;
    }
    if ('()[]{},:+-'.includes(c)) {
      tokens.push({ kind: 'punct', value: c });
      i++;
      continue;
    }
    throw new NotLiteral();
  }
  return tokens;
}

function numberValue(text: string): number {
  const clean = text.replace(/_/g, '');
  const prefix = clean.slice(0, 2).toLowerCase();
  if (prefix === '0x') return parseInt(clean.slice(2), 16);
  if (prefix === '0o') return parseInt(clean.slice(2), 8);
  if (prefix === '0b') return parseInt(clean.slice(2), 2);
  return Number(clean);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

function readString(text: string, start: number, quote: string, raw: boolean): [string, number] {
  const triple = quote.length === 3;
  let out = '';
  let i = start;
  for (;;) {
    if (i >= text.length) throw new NotLiteral();
    if (text.startsWith(quote, i)) return [out, i + quote.length];
    const c = text[i]!;
    if ((c === '\n' || c === '\r') && !triple) throw new NotLiteral();
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) throw new NotLiteral();
    if (raw) {
      // A raw string keeps its backslashes, but an escaped quote still does not end it.
      out += c + next;
      i += 2;
      continue;
    }
    i += 2;
    if (next === '\n') continue;
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    if (/[0-7]/.test(next)) {
      const oct = /^[0-7]{1,3}/.exec(text.slice(i - 1))![0];
      out += String.fromCodePoint(parseInt(oct, 8));
      i += oct.length - 1;
      continue;
    }
    const width = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (width > 0) {
      const hex = text.slice(i, i + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) throw new NotLiteral();
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw new NotLiteral();
      out += String.fromCodePoint(code);
      i += width;
      continue;
    }
    // \N{NAME} needs the Unicode name table; treating it as "not a literal" keeps the raw text instead.
    if (next === 'N') throw new NotLiteral();
    out += c + next;
  }
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  end(): void {
    if (this.i !== this.tokens.length) throw new NotLiteral();
  }

  /** A bare `1, 2` is a tuple in Python, so the top level accepts a comma list. */
  expression(): unknown {
    if (this.tokens.length === 0) throw new NotLiteral();
    const first = this.value();
    if (!this.isPunct(',')) return first;
    const items = [first];
    while (this.eatPunct(',')) {
      if (this.i >= this.tokens.length) break;
      items.push(this.value());
    }
    return items;
  }

  private value(): unknown {
    const tok = this.tokens[this.i++];
    if (!tok) throw new NotLiteral();
    switch (tok.kind) {
      case 'num':
        return tok.value;
      case 'str': {
        // Adjacent string literals concatenate, as in Python source.
        let s = tok.value;
        while (this.tokens[this.i]?.kind === 'str') s += (this.tokens[this.i++] as { value: string }).value;
        return s;
      }
      case 'name':
        return this.name(tok.value);
      case 'punct':
        return this.punct(tok.value);
    }
  }

  private name(name: string): unknown {
    if (name === 'True') return true;
    if (name === 'False') return false;
    if (name === 'None') return null;
    if (name === 'set' && this.isPunct('(') && this.tokens[this.i + 1]?.value === ')') {
      this.i += 2;
      return [];
    }
    throw new NotLiteral();
  }

  private punct(p: string): unknown {
    if (p === '+' || p === '-') {
      // literal_eval allows one sign on a number, and no arithmetic after it.
      const tok = this.tokens[this.i++];
      if (tok?.kind !== 'num' || this.isPunct('+') || this.isPunct('-')) throw new NotLiteral();
      return p === '-' ? -tok.value : tok.value;
    }
    if (p === '(') return this.tuple();
    if (p === '[') return this.sequence(']');
    if (p === '{') return this.braces();
    throw new NotLiteral();
  }

  private tuple(): unknown {
    if (this.eatPunct(')')) return [];
    const first = this.value();
    if (this.eatPunct(')')) return first;
    const items = [first];
    while (this.eatPunct(',')) {
      if (this.eatPunct(')')) return items;
      items.push(this.value());
    }
    this.expectPunct(')');
    return items;
  }

  private sequence(close: string): unknown[] {
    const items: unknown[] = [];
    while (!this.eatPunct(close)) {
      items.push(this.value());
      if (!this.eatPunct(',')) {
        this.expectPunct(close);
        break;
      }
    }
    return items;
  }

  /** `{}` and `{k: v}` are dicts, `{1, 2}` a set (read as a list, the nearest JSON value). */
  private braces(): unknown {
    if (this.eatPunct('}')) return {};
    const firstKey = this.value();
    if (!this.eatPunct(':')) {
      const items = [firstKey];
      while (this.eatPunct(',')) {
        if (this.eatPunct('}')) return items;
        items.push(this.value());
      }
      this.expectPunct('}');
      return items;
    }
    const entries: [string, unknown][] = [[pythonKey(firstKey), this.value()]];
    while (this.eatPunct(',')) {
      if (this.eatPunct('}')) return Object.fromEntries(entries);
      const key = this.value();
      this.expectPunct(':');
      entries.push([pythonKey(key), this.value()]);
    }
    this.expectPunct('}');
    return Object.fromEntries(entries);
  }

  private isPunct(p: string): boolean {
    const tok = this.tokens[this.i];
    return tok?.kind === 'punct' && tok.value === p;
  }

  private eatPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.i++;
    return true;
  }

  private expectPunct(p: string): void {
    if (!this.eatPunct(p)) throw new NotLiteral();
  }
}

/** Dict keys become strings, written the way Python would print them. */
function pythonKey(key: unknown): string {
  if (key === true) return 'True';
  if (key === false) return 'False';
  if (key === null) return 'None';
  if (typeof key === 'object') throw new NotLiteral();
  return String(key);
}
