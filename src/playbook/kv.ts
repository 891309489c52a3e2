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
  return out;
}

/** Removes one level of matching outer quotes, and the escapes Ansible removes with it. */
export function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) {
    return s.slice(1, -1).replace(new RegExp(`\\\\${s[0]}`, 'g'), s[0]);
  }
  return s;
}

/**
 * Parses `k=v` pairs. For free-form modules the words that are not `k=v` for a known key are joined
 * back, in order, into `_raw_params` (as Ansible does for command and shell).
 */
export function parseKv(text: string, freeFormKeys?: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const raw: string[] = [];
  for (const word of splitArgs(text)) {
    const eq = word.indexOf('=');
    const key = eq > 0 ? word.slice(0, eq) : '';
    const isKv = eq > 0 && /^[A-Za-z_][\w]*$/.test(key) && (freeFormKeys === undefined || freeFormKeys.has(key));
    if (isKv) out[key] = unquote(word.slice(eq + 1));
    else if (freeFormKeys !== undefined) raw.push(word);
    else throw new ParseError(`expected key=value arguments, found '${word}'`);
  }
  if (freeFormKeys !== undefined && raw.length > 0) out._raw_params = raw.join(' ');
  return out;
}
