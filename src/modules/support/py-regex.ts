// Python `re` patterns on bytes, run with JavaScript's RegExp: lineinfile's regexp, insertafter and backrefs.
//
// Text is handled as "byte strings" (latin1: one char per byte), exactly as Ansible's lineinfile works
// on bytes, so a file in any encoding round-trips unchanged and `.` matches one byte as in Python.

/** A pattern Python would accept that cannot be translated, or one Python itself would refuse. */
export class PyRegexError extends Error {}

/** UTF-8 text (as YAML gives it) as a byte string. */
export function toBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A byte string back to text, for diffs and messages. */
export function fromBytes(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

// Python's \s on bytes: ASCII whitespace only (JavaScript's also takes \xa0, a UTF-8 continuation byte).
const SPACE = ' \\t\\n\\r\\f\\v';
// \S inside a class (`[\S\s]`): the ranges that leave out exactly those six (a class cannot nest a negated one).
const NOT_SPACE_RANGES = '\\x00-\\x08\\x0e-\\x1f\\x21-\\uffff';

/** Compiles a Python regular expression (given as text) for searching byte strings. */
export function compilePyRegex(pattern: string): RegExp {
  let src = toBytes(pattern);
  let flags = '';
  // Global inline flags, e.g. (?i) or (?ms), which Python allows at the start of a pattern.
  const inline = /^\(\?([aiLmsux]+)\)/.exec(src);
  if (inline) {
    src = src.slice(inline[0].length);
    for (const f of inline[1] as string) {
      if (f === 'i' || f === 'm' || f === 's') flags += flags.includes(f) ? '' : f;
      else if (f === 'x') throw new PyRegexError(`verbose patterns ((?x)) are not supported: ${pattern}`);
    }
  }
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new PyRegexError(`bad escape (end of pattern): ${pattern}`);
      i++;
      if (n === 'A' && !inClass) out += '(?<![\\s\\S])';
      else if (n === 'Z' && !inClass) out += '(?![\\s\\S])';
      else if (n === 's') out += inClass ? SPACE : `[${SPACE}]`;
      else if (n === 'S') out += inClass ? NOT_SPACE_RANGES : `[^${SPACE}]`;
      else out += `\\${n}`;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in both languages.
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') out += `\\${src[++i]}`;
      continue;
    }
    if (c === '$') {
      // Python's $ also matches before a final newline, and lineinfile's lines end with one.
      out += multiline ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))';
      continue;
    }
    if (c === '(' && src.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    if (c === '(' && src.startsWith('(?P=', i)) {
      const end = src.indexOf(')', i);
      out += `\\k<${src.slice(i + 4, end)}>`;
      i = end;
      continue;
    }
    if (c === '{' && src[i + 1] === ',') {
      out += '{0';
      continue;
    }
    out += c;
  }
  try {
    return new RegExp(out, flags);
  } catch (err) {
    throw new PyRegexError(`invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

/** Python's match.expand(template): \1, \g<1>, \g<name> and the usual escapes; an unmatched group is empty. */
export function expandMatch(m: RegExpExecArray, template: string): string {
  const group = (ref: string): string => {
    const value = /^\d+$/.test(ref) ? m[Number(ref)] : m.groups?.[ref];
    if (value === undefined && !(/^\d+$/.test(ref) ? Number(ref) < m.length : ref in (m.groups ?? {}))) {
      throw new PyRegexError(`invalid group reference ${ref} in backrefs line`);
    }
    return value ?? '';
  };
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b', '\\': '\\' };
  return template.replace(/\\(g<([^>]*)>|\d{1,2}|x[0-9a-fA-F]{2}|.)/gs, (whole, esc: string, named: string | undefined) => {
    if (named !== undefined) return group(named);
    if (/^\d/.test(esc)) return group(esc);
    if (esc.startsWith('x') && esc.length === 3) return String.fromCharCode(parseInt(esc.slice(1), 16));
    const mapped = escapes[esc];
    if (mapped !== undefined) return mapped;
    if (/[A-Za-z]/.test(esc)) throw new PyRegexError(`bad escape \\${esc} in backrefs line`);
    return whole;
  });
}
