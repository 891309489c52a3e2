// Splits Jinja template text into data, `{{ }}` and `{% %}` tokens the way Jinja's lexer does: the environment's
// delimiters, `-`/`+` whitespace control, trim_blocks, lstrip_blocks, raw blocks, and one trailing newline dropped.
import { TemplateError } from '../errors.js';
import { ExprParser, ExprSyntaxError, tokenize, type Token } from './expr-syntax.js';

/** Jinja environment settings a template is lexed with (Ansible's defaults: trim_blocks on, the rest Jinja's). */
export interface Syntax {
  blockStart: string;
  blockEnd: string;
  variableStart: string;
  variableEnd: string;
  commentStart: string;
  commentEnd: string;
  trimBlocks: boolean;
  lstripBlocks: boolean;
  keepTrailingNewline: boolean;
  /** What every newline of the template's own text becomes in the output. */
  newline: string;
}

export const ANSIBLE_SYNTAX: Syntax = {
  blockStart: '{%',
  blockEnd: '%}',
  variableStart: '{{',
  variableEnd: '}}',
  commentStart: '{#',
  commentEnd: '#}',
  trimBlocks: true,
  lstripBlocks: false,
  keepTrailingNewline: false,
  newline: '\n',
};

export type LexToken =
  | { kind: 'data'; text: string }
  | { kind: 'var'; tokens: Token[]; at: number; end: number }
  | { kind: 'block'; tokens: Token[]; keyword: string; at: number; end: number };

/** Where a syntax error is in a template: line and column, and the line with a caret under the spot. */
export function templateSyntaxError(text: string, offset: number, reason: string, name?: string, cause?: unknown): TemplateError {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const col = offset - lineStart + 1;
  const lineEnd = text.indexOf('\n', lineStart);
  const lineText = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  const of = name === undefined ? 'the template' : `template '${name}'`;
  const where = text.includes('\n') || name !== undefined ? `line ${line}, column ${col} of ${of}` : `column ${col} of ${JSON.stringify(text)}`;
  return new TemplateError(`template error: ${reason} at ${where}`, {
    hint: `${lineText}\n${' '.repeat(Math.max(0, col - 1))}^`,
    cause,
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The source as Jinja lexes it: newlines normalised to '\n' and, unless kept, one trailing newline dropped. */
export function normaliseSource(text: string, syntax: Syntax): string {
  const t = text.includes('\r') ? text.replace(/\r\n|\r/g, '\n') : text;
  return !syntax.keepTrailingNewline && t.endsWith('\n') ? t.slice(0, -1) : t;
}

/** Lexes normalised template text. `rawStrings` keeps backslashes of string literals inside `{{ }}` (task arguments). */
export function lex(text: string, syntax: Syntax, rawStrings: boolean, name?: string): LexToken[] {
  const out: LexToken[] = [];
  const fail = (at: number, reason: string): never => {
    throw templateSyntaxError(text, at, reason, name);
  };
  // Openers are tried longest first, as Jinja sorts its rules; at equal length variable, comment, block.
  const openers = (
    [
      ['var', syntax.variableStart],
      ['comment', syntax.commentStart],
      ['block', syntax.blockStart],
    ] as const
  )
    .map((o, i) => ({ kind: o[0], open: o[1], order: i }))
    .sort((a, b) => b.open.length - a.open.length || a.order - b.order);
  const openRe = new RegExp(openers.map((o) => escape(o.open)).join('|'), 'g');
  const rawRe = new RegExp(`${escape(syntax.blockStart)}([-+]?)\\s*raw\\s*(-?)${escape(syntax.blockEnd)}`, 'y');
  const endRawRe = new RegExp(
    `${escape(syntax.blockStart)}([-+]?)\\s*endraw\\s*(?:(\\+)${escape(syntax.blockEnd)}|(-)${escape(syntax.blockEnd)}|${escape(syntax.blockEnd)})`,
    'g',
  );
  const newline = syntax.newline;
  let pos = 0;
  let lineStarting = true;

  // The text before a tag, after the tag's own whitespace control (`-`, `+`) and lstrip_blocks.
  const data = (raw: string, sign: string, isVariable: boolean) => {
    let t = raw;
    if (sign === '-') t = t.trimEnd();
    else if (sign !== '+' && syntax.lstripBlocks && !isVariable) {
      const lineAt = t.lastIndexOf('\n') + 1;
      if ((lineAt > 0 || lineStarting) && /^\s+$/.test(t.slice(lineAt))) t = t.slice(0, lineAt);
    }
    pushData(t);
  };
  const pushData = (t: string) => {
    if (t !== '') out.push({ kind: 'data', text: newline === '\n' ? t : t.replaceAll('\n', newline) });
  };
  // After a closing delimiter: `-` eats all whitespace, trim_blocks one newline unless `+` asked to keep it.
  const after = (end: number, trim: boolean, keep: boolean, blockLike: boolean): number => {
    let p = end;
    if (trim) while (p < text.length && /\s/.test(text[p]!)) p++;
    else if (blockLike && !keep && syntax.trimBlocks && text[p] === '\n') p++;
    lineStarting = p > 0 && text[p - 1] === '\n';
    return p;
  };

  for (;;) {
    openRe.lastIndex = pos;
    const m = openRe.exec(text);
    if (!m) break;
    const at = m.index;
    const opener = openers.find((o) => text.startsWith(o.open, at))!;
    const inner0 = at + opener.open.length;
    const sign = text[inner0] === '-' || text[inner0] === '+' ? text[inner0]! : '';
    const inner = inner0 + sign.length;
    if (opener.kind === 'comment') {
      const close = text.indexOf(syntax.commentEnd, inner);
      if (close < 0) fail(at, `'${syntax.commentStart}' starts a comment that is never closed with '${syntax.commentEnd}' (use {% raw %}...{% endraw %} for a literal '${syntax.commentStart}')`);
      data(text.slice(pos, at), sign, false);
      const mark = close > inner ? text[close - 1] : '';
      pos = after(close + syntax.commentEnd.length, mark === '-', mark === '+', true);
      continue;
    }
    if (opener.kind === 'block') {
      rawRe.lastIndex = at;
      const raw = rawRe.exec(text);
      if (raw) {
        data(text.slice(pos, at), raw[1]!, false);
        let start = at + raw[0].length;
        if (raw[2] === '-') while (start < text.length && /\s/.test(text[start]!)) start++;
        endRawRe.lastIndex = start;
        const end = endRawRe.exec(text);
        if (!end) throw templateSyntaxError(text, at, `${syntax.blockStart} raw ${syntax.blockEnd} is never closed with ${syntax.blockStart} endraw ${syntax.blockEnd}`, name);
        lineStarting = start > 0 && text[start - 1] === '\n';
        data(text.slice(start, end.index), end[1]!, false);
        pos = after(end.index + end[0].length, end[3] === '-', end[2] === '+', true);
        continue;
      }
    }
    data(text.slice(pos, at), sign, opener.kind === 'var');
    const stop = opener.kind === 'var' ? syntax.variableEnd : syntax.blockEnd;
    let run;
    try {
      run = tokenize(text, inner, stop, opener.kind === 'var' && rawStrings, opener.open);
    } catch (err) {
      if (err instanceof ExprSyntaxError) fail(err.offset, err.reason);
      throw err;
    }
    if (opener.kind === 'var') {
      out.push({ kind: 'var', tokens: run.tokens, at, end: run.end });
      pos = after(run.end, run.trimAfter, false, false);
    } else {
      const kw = run.tokens[0]!;
      if (kw.type !== 'name') fail(kw.pos, `expected a statement name such as if, for or set after ${syntax.blockStart}`);
      out.push({ kind: 'block', tokens: run.tokens, keyword: kw.value, at, end: run.end });
      pos = after(run.end, run.trimAfter, run.keepAfter, true);
    }
  }
  pushData(text.slice(pos));
  return out;
}

/** An expression parser over a tag's tokens, positioned after the statement keyword when `skip` is 1. */
export function tagParser(text: string, tokens: Token[], skip = 0): ExprParser {
  const p = new ExprParser(text, tokens);
  for (let i = 0; i < skip; i++) p.next();
  return p;
}
