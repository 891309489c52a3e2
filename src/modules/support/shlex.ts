// Splits a command line into argv as Python's shlex.split (POSIX mode) does, which is what Ansible's command uses.

/** A command line that cannot be split, with Python's wording for the same mistake. */
export class ShlexError extends Error {}

const WHITESPACE = ' \t\r\n';

/** Splits `line` into words: quotes group, backslash escapes, nothing is expanded. */
export function shlexSplit(line: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once any character or quote pair is seen, so `''` yields an empty argument.
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (WHITESPACE.includes(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new ShlexError('No closing quotation');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new ShlexError('No closing quotation');
        const d = line[i] as string;
        if (d === '"') break;
        // Inside double quotes a backslash only escapes another backslash or a double quote.
        if (d === '\\' && (line[i + 1] === '\\' || line[i + 1] === '"')) {
          word += line[i + 1];
          i += 2;
        } else if (d === '\\' && i + 1 >= line.length) {
          throw new ShlexError('No escaped character');
        } else {
          word += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new ShlexError('No escaped character');
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
