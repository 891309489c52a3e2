// lineinfile's edit of a list of lines, ported from Ansible's present()/absent() with its quirks kept.
import { compilePyRegex, expandMatch } from './py-regex.js';

/** What to ensure; all text is byte strings (see py-regex.ts). */
export interface PresentOptions {
  line: string;
  regexp?: string | undefined;
  searchString?: string | undefined;
  /** 'EOF', 'BOF' or a pattern; Ansible's default (neither given) is insertafter=EOF. */
  insertafter?: string | undefined;
  insertbefore?: string | undefined;
  backrefs: boolean;
  firstmatch: boolean;
}

/** Splits file bytes into lines that keep their '\n', as Python's readlines does. */
export function readLines(bytes: string): string[] {
  return bytes.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

const rstripNewlines = (s: string) => s.replace(/[\r\n]+$/, '');

/** Ensures the line is present; edits `lines` in place and returns Ansible's msg ('' when nothing changed). */
export function ensureLinePresent(lines: string[], o: PresentOptions): { changed: boolean; msg: string } {
  const re = o.regexp === undefined ? undefined : compilePyRegex(o.regexp);
  let insertRe: RegExp | undefined;
  if (o.insertafter !== undefined && o.insertafter !== 'BOF' && o.insertafter !== 'EOF') insertRe = compilePyRegex(o.insertafter);
  else if (o.insertbefore !== undefined && o.insertbefore !== 'BOF') insertRe = compilePyRegex(o.insertbefore);

  // index[0]: the line to replace; index[1]: where to insert.
  const index = [-1, -1] as [number, number];
  let match: RegExpExecArray | true | undefined;
  if (re !== undefined) {
    for (let i = 0; i < lines.length; i++) {
      const m = re.exec(lines[i] as string);
      if (m) {
        index[0] = i;
        match = m;
        if (o.firstmatch) break;
      }
    }
  }
  if (o.searchString !== undefined) {
    for (let i = 0; i < lines.length; i++) {
      if ((lines[i] as string).includes(o.searchString)) {
        index[0] = i;
        match = true;
        if (o.firstmatch) break;
      }
    }
  }
  // Only without a regexp/search_string match do insertafter/insertbefore and an exact line count.
  if (match === undefined) {
    for (let i = 0; i < lines.length; i++) {
      const cur = lines[i] as string;
      if (o.line === rstripNewlines(cur)) {
        index[0] = i;
      } else if (insertRe?.test(cur)) {
        if (o.insertafter !== undefined) {
          index[1] = i + 1;
          if (o.firstmatch) break;
        }
        if (o.insertbefore !== undefined) {
          index[1] = i;
          if (o.firstmatch) break;
        }
      }
    }
  }
  const withNewline = o.line + '\n';
  if (index[0] !== -1) {
    let newLine = o.backrefs && match !== undefined && match !== true ? expandMatch(match, o.line) : o.line;
    if (!newLine.endsWith('\n')) newLine += '\n';
    if (lines[index[0]] === newLine) return { changed: false, msg: '' };
    lines[index[0]] = newLine;
    return { changed: true, msg: 'line replaced' };
  }
  // Without a match the backreferences have nothing to fill them: Ansible leaves the file alone.
  if (o.backrefs) return { changed: false, msg: '' };
  if (o.insertbefore === 'BOF' || o.insertafter === 'BOF') {
    lines.unshift(withNewline);
    return { changed: true, msg: 'line added' };
  }
  if (o.insertafter === 'EOF' || index[1] === -1) {
    const last = lines[lines.length - 1];
    if (last !== undefined && !/[\n\r]$/.test(last)) lines.push('\n');
    lines.push(withNewline);
    return { changed: true, msg: 'line added' };
  }
  if (o.insertafter !== undefined) {
    // Already there right after the anchor: nothing to do.
    if (lines.length === index[1]) {
      if (rstripNewlines(lines[index[1] - 1] as string) === o.line) return { changed: false, msg: '' };
      lines.push(withNewline);
      return { changed: true, msg: 'line added' };
    }
    if (o.line === rstripNewlines(lines[index[1]] as string)) return { changed: false, msg: '' };
    lines.splice(index[1], 0, withNewline);
    return { changed: true, msg: 'line added' };
  }
  lines.splice(index[1], 0, withNewline);
  return { changed: true, msg: 'line added' };
}

/** What state=absent removes: lines matching regexp, containing search_string, or equal to line. */
export interface AbsentOptions {
  line?: string | undefined;
  regexp?: string | undefined;
  searchString?: string | undefined;
}

/** Removes every matching line; returns the lines left and how many went. */
export function removeLines(lines: string[], o: AbsentOptions): { lines: string[]; found: number } {
  const re = o.regexp === undefined ? undefined : compilePyRegex(o.regexp);
  const matches = (cur: string): boolean => {
    if (re !== undefined) return re.test(cur);
    if (o.searchString !== undefined) return cur.includes(o.searchString);
    return o.line === rstripNewlines(cur);
  };
  const kept = lines.filter((l) => !matches(l));
  return { lines: kept, found: lines.length - kept.length };
}
