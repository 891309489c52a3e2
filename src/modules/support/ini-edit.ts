// community.general.ini_file's edit of a list of lines (collection 6.6, the one Debian ships with ansible-core 2.14),
// reimplemented from its behaviour with its quirks kept: the same lines in, the same lines and message out.

/** What to ensure in an INI file. */
export interface IniOptions {
  section?: string | undefined;
  option?: string | undefined;
  /** Already deduplicated, in order. */
  values: string[];
  state: 'present' | 'absent';
  exclusive: boolean;
  noExtraSpaces: boolean;
  allowNoValue: boolean;
}

/** The module would have crashed here: an option pattern was needed but no option was given. */
export class IniOptionMissing extends Error {}

// Ansible's placeholder section above the first real one, so lines before any header form a section too.
const FAKE_SECTION = 'ad01e11446efb704fcdbdb21f2c43757423d91c5';
const BLANK_OR_COMMENT = /^[ \t]*([#;][^\n]*)?\n?$/;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// The option's value on a line (Python's `$` also matches before a final newline), or undefined if the line
// does not set it; a commented-out `#option = x` counts unless `activeOnly`.
function optionValue(option: string | undefined, line: string, activeOnly = false): string | undefined {
  if (option === undefined) throw new IniOptionMissing('no option to match');
  const re = new RegExp(`^${activeOnly ? '' : '[#;]?'}[ \\t]*${escapeRe(option)}[ \\t]*(?:=|(?=\\n?$))[ \\t]*([^\\n]*)`, 'u');
  return re.exec(line)?.[1];
}

/** Splits decoded text into lines that keep their '\n' (newlines already made universal). */
export function iniLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Ensures the option (or section) as ini_file does; returns the new lines, whether they changed, and Ansible's msg. */
export function editIni(original: readonly string[], o: IniOptions): { lines: string[]; changed: boolean; msg: string } {
  const values = [...o.values];
  const option = o.option === '' ? undefined : o.option;
  const lines = original.length === 0 ? ['\n'] : [...original];
  let changed = false;
  const last = lines.length - 1;
  if (!(lines[last] as string).endsWith('\n')) {
    lines[last] += '\n';
    changed = true;
  }
  lines.unshift(`[${FAKE_SECTION}]`);
  lines.push('[');
  const section = o.section === undefined || o.section === '' ? FAKE_SECTION : o.section;
  const assign = (v: string) => (o.noExtraSpaces ? `${o.option}=${v}\n` : `${o.option} = ${v}\n`);

  let within = false;
  let start = 0;
  let end = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith(`[${section}]`)) {
      within = true;
      start = i;
    } else if (line.startsWith('[') && within) {
      end = i;
      break;
    }
  }
  const before = lines.slice(0, start);
  let sec = lines.slice(start, end);
  const after = lines.slice(end);
  const touched = sec.map(() => false);
  let msg = 'OK';
  let noValuePresent = false;

  const update = (i: number, newline: string) => {
    if (sec[i] !== newline) {
      changed = true;
      msg = 'option changed';
    }
    sec[i] = newline;
    touched[i] = true;
  };

  if (o.state === 'present' && option !== undefined) {
    for (let i = 0; i < sec.length; i++) {
      const found = optionValue(option, sec[i] as string);
      if (found === undefined) continue;
      if (values.length > 0 && values.includes(found)) {
        if (found === '' && o.allowNoValue) {
          update(i, `${option}\n`);
          noValuePresent = true;
        } else {
          update(i, assign(found));
        }
        values.splice(values.indexOf(found), 1);
      } else if (values.length === 0 && o.allowNoValue) {
        update(i, `${option}\n`);
        noValuePresent = true;
        break;
      }
    }
  }

  if (o.state === 'present' && o.exclusive && !o.allowNoValue) {
    // The option's other lines (commented-out ones too) take the remaining values, then the rest go.
    if (values.length > 0) {
      for (let i = 0; i < sec.length; i++) {
        if (!touched[i] && optionValue(o.option, sec[i] as string) !== undefined) {
          update(i, assign(values.shift() as string));
          if (values.length === 0) break;
        }
      }
    }
    for (let i = sec.length - 1; i > 0; i--) {
      if (!touched[i] && optionValue(o.option, sec[i] as string) !== undefined) {
        sec.splice(i, 1);
        touched.splice(i, 1);
        changed = true;
        msg = 'option changed';
      }
    }
  }

  if (o.state === 'present') {
    // New lines go after the section's last line that is neither blank nor a comment.
    for (let i = sec.length; i > 0; i--) {
      if (BLANK_OR_COMMENT.test(sec[i - 1] as string)) continue;
      if (option !== undefined && values.length > 0) {
        sec.splice(i, 0, ...values.map(assign));
        msg = 'option added';
        changed = true;
      } else if (option !== undefined && o.allowNoValue && !noValuePresent) {
        sec.splice(i, 0, `${option}\n`);
        msg = 'option added';
        changed = true;
      }
      break;
    }
  }

  if (o.state === 'absent') {
    if (option !== undefined) {
      let kept: string[] | undefined;
      if (o.exclusive) kept = sec.filter((l) => optionValue(option, l, true) === undefined);
      else if (values.length > 0) {
        kept = sec.filter((l) => {
          const v = optionValue(option, l, true);
          return v === undefined || !values.includes(v);
        });
      }
      if (kept !== undefined && kept.length !== sec.length) {
        changed = true;
        msg = 'option changed';
        sec = kept;
      }
    } else if (sec.length > 0) {
      sec = [];
      msg = 'section removed';
      changed = true;
    }
  }

  const out = [...before, ...sec, ...after];
  // Drop the placeholders (whatever now stands first and last, as Ansible does).
  out.shift();
  out.pop();

  if (!within && o.state === 'present') {
    out.push(`[${section}]\n`);
    msg = 'section and option added';
    if (option !== undefined && values.length > 0) out.push(...values.map(assign));
    else if (option !== undefined && o.allowNoValue) out.push(`${option}\n`);
    else msg = 'only section added';
    changed = true;
  }
  return { lines: out, changed, msg };
}
