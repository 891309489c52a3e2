// Ansible's `key=value` argument strings (`copy: src=a dest="{{ root }}/b"`), split the way Ansible's
// split_args/parse_kv do: quotes group, and nothing inside {{ }}, {% %} or {# #} splits.
import { ParseError } from '../errors.js';

/** Splits an argument string on whitespace outside quotes and template blocks; quotes are kept. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (quote === null && (two === '{{' || two === '{%' || two === '{#')) {
      depth++;
      cur += two;
      i++;
      continue;
    }
    if (quote === null && depth > 0 && (two === '}}' || two === '%}' || two === '#}')) {
      depth--;
      cur += two;
      i++;
      continue;
    }
    if (c === '\\' && i + 1 < text.length && quote !== null) {
      cur += c + text[i + 1];
      i++;
      continue;
    }
    if (quote !== null) {
      if (c === quote) quote = null;
      cur += c;
      continue;
    }
    if ((c === '"' || c === "'") && depth === 0) {
      quote = c;
      cur += c;
      continue;
    }
    if (c === '\n' && depth === 0) {
      // Ansible's split_args marks a line's last word with its newline, so join_args can rebuild
      // a multi-line script (`shell: |`) line for line.
      if (cur !== '') out.push(`${cur}\n`);
      else if (out.length > 0 && !out[out.length - 1]!.endsWith('\n')) out[out.length - 1] += '\n';
      cur = '';
      continue;
    }
    if (/\s/.test(c) && depth === 0) {
      if (cur !== '') out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quote !== null) throw new ParseError(`unbalanced quotes in arguments: ${text}`);
  if (depth > 0) throw new ParseError(`unbalanced template braces in arguments: ${text}`);
  if (cur !== '') out.push(cur);
  // A trailing newline of the whole text is not part of the last word.
  if (out.length > 0) out[out.length - 1] = out[out.length - 1]!.replace(/\n$/, '');
  return out;
}

/** Joins words from splitArgs back into the original command, newlines where the lines ended (Ansible's join_args). */
export function joinArgs(words: readonly string[]): string {
  let result = '';
  for (const w of words) result += result === '' || result.endsWith('\n') ? w : ` ${w}`;
  return result;
}

/**
 * Ansible's split_args drops a lone `\` ending a line outside quotes and joins the next line on: `s` spaces before
 * the `\` and `t` spaces starting the next line become `s` spaces (t = 0) or `s + t - 1` (its words were split on
 * single spaces, each extra space kept, and join_args puts one between words).
 */
export function joinContinuedLines(text: string): string {
  if (!text.includes('\\\n')) return text;
  const lines = text.split('\n');
  let out = '';
  let quote: string | null = null;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '\\') i++;
      else if (quote === null && (c === '"' || c === "'")) quote = c;
      else if (c === quote) quote = null;
    }
    const m = quote === null && n < lines.length - 1 ? /^(.*\S)( +)\\$/.exec(line) : null;
    if (!m) {
      out += n < lines.length - 1 ? `${line}\n` : line;
      continue;
    }
    const next = lines[n + 1] as string;
    const t = (/^ */.exec(next) as RegExpExecArray)[0].length;
    const s = (m[2] as string).length;
    out += `${m[1] as string}${' '.repeat(t === 0 ? s : s + t - 1)}`;
    lines[n + 1] = next.slice(t);
  }
  return out;
}

/** Removes one level of matching outer quotes, as Ansible's unquote does. */
export function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0] && s[s.length - 2] !== '\\') return s.slice(1, -1);
  return s;
}

const ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Decodes backslash escapes (\\n, \\t, \\x41, \\u00e9 ...) as Ansible does in key=value words. */
export function decodeEscapes(s: string): string {
  return s.replace(/\\(U[0-9a-fA-F]{8}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|N\{[^}]+\}|[\\'"abfnrtv])/g, (m, e: string) => {
    if (e.length === 1) return ESCAPES[e] ?? m;
    if (e[0] === 'N') return m;
    return String.fromCodePoint(parseInt(e.slice(1), 16));
  });
}

/**
 * Parses `k=v` pairs. For free-form modules the words that are not `k=v` for a known key are joined
 * back, in order, into `_raw_params` (as Ansible does for command and shell).
 */
export function parseKv(textIn: string, freeFormKeys?: ReadonlySet<string>): Record<string, unknown> {
  const text = joinContinuedLines(textIn);
  const out: Record<string, unknown> = {};
  const raw: string[] = [];
  const words = splitArgs(text);
  for (const [n, orig] of words.entries()) {
    const word = decodeEscapes(orig).replace(/\n$/, '');
    const eq = word.search(/(?<!\\)=/);
    const key = eq > 0 ? word.slice(0, eq).trim() : '';
    // Ansible's parse_kv takes any text before the first '=' as the key (`"{{ k }}={{ v }}"` for set_fact, templated
    // later); only free-form modules (command, shell) keep words whose key they do not know as their command.
    const isKv = eq > 0 && key !== '' && (freeFormKeys === undefined || (/^[A-Za-z_][\w]*$/.test(key) && freeFormKeys.has(key)));
    if (isKv) out[key] = unquote(word.slice(eq + 1).trim());
    // The text's final newline stays on a last word that is part of the command (`shell: |` with `creates=` above it).
    else if (freeFormKeys !== undefined) raw.push(n === words.length - 1 && text.endsWith('\n') ? `${orig}\n` : orig);
    else throw new ParseError(`expected key=value arguments, found '${orig}'`);
  }
  // With no key=value words taken out, the command is the text exactly as written (indentation and
  // final newline of a `shell: |` block included), as Ansible's split_args/join_args give it.
  if (freeFormKeys !== undefined && raw.length > 0) out._raw_params = Object.keys(out).length === 0 ? text : joinArgs(raw);
  return out;
}
