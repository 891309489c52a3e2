// Replaces every match of a Python regular expression in a file, as Ansible's replace does.
import { readFile } from 'node:fs/promises';
import { type ArgSpec, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { atomicWrite } from '../host/atomic-write.js';
import { backupFile } from './support/backup.js';
import { AttrError, applyFileAttrs } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { PyRegexError, compilePyRegex, expandMatch, fromBytes, toBytes } from './support/py-regex.js';
import { editedPathArgs, fileAttrArgs } from './support/file-args.js';
import { hostPathFollow, statOrUndefined, targetPathOf } from './support/target-path.js';
import { ValidateError, runValidate } from './support/validate.js';
import { failed, type ModuleResult } from './types.js';

const args = {
  ...editedPathArgs,
  regexp: { required: true, description: 'A Python regular expression, compiled with `MULTILINE`; every match is replaced.' },
  replace: { default: '', description: "The replacement: `\\1`, `\\g<1>`, `\\g<name>` and Python's escapes (`\\n`, `\\t`...); an unmatched group is empty." },
  after: {
    description:
      'A Python regexp (`DOTALL`): the edited section starts after its first match (to the end, or to the following match of `before`). An empty string counts as not given.',
  },
  before: { description: 'A Python regexp (`DOTALL`): the edited section ends at its match (from the start, or from `after`). An empty string counts as not given.' },
  backup: { type: 'bool', default: false, description: 'Keep a copy of the old file, named in `backup_file`.' },
  validate: { description: 'A command run on the new file before it replaces the old one; `%s` is its path.' },
  encoding: { default: 'utf-8', description: "The file's encoding: `utf-8`, `latin-1` or `ascii` (Python's spellings of them)." },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

export const replace = defineModule(
  {
    name: 'replace',
    doc: {
      short: 'Replaces every match of a Python regular expression in a file.',
      description: 'The file must exist; a symlink is written through.',
      returns:
        "`msg` is Ansible's: `N replacements made`, or `''` when nothing changed (a match whose replacement is the same text changes nothing), with ` and ownership, perms or SE linux context changed` appended when attributes changed too. When `after`/`before` match nothing the task is ok, with `Pattern for before/after params did not match the given file: <pattern>`, and, as in Ansible, mode, owner and group are not applied then. The result has `rc: 0` and `backup_file`. The diff is the whole file before and after.",
      differences: [
        "Regexps are translated as for lineinfile. On text, `\\w`, `\\d` and `\\s` match ASCII only (Python's match any Unicode letter, digit, space), and `^` after a multiline match also follows a lone `\\r`. After an empty match the search moves on one character, where Python first retries a non-empty match at the same place (only patterns that can match both ways, e.g. `x*|y`, differ).",
        "A file that is not valid UTF-8 is edited as bytes, which keeps every byte as Python's `surrogateescape` does, but `.` then matches one byte rather than one character.",
        'Other encodings (`utf-16`, `cp1252`...) are refused with `unknown encoding: ...`; so is an unknown one, where Ansible fails with a Python traceback. So do bad patterns and bad replacement templates (`invalid regular expression ...`, `bad escape \\q in replace`, `invalid group reference 2 ...`).',
      ],
    },
    args,
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
    const { args, conn, check } = ctx;
    const codec = codecOf(args.encoding);
    if (codec === undefined) return failed(`unknown encoding: ${args.encoding} (imgplay knows utf-8, latin-1 and ascii)`);
    const target = args.path;
    try {
      // Ansible writes through a symlink to the file it points at.
      const host = await hostPathFollow(conn, target);
      const st = await statOrUndefined(host);
      if (st?.isDirectory()) return failed(`Path ${target} is a directory !`, { rc: 256 });
      if (st === undefined) return failed(`Path ${target} does not exist !`, { rc: 257 });
      const raw = await readFile(host);
      const text = decode(raw, codec);
      const edit = substitute(text.value, args.regexp, args.replace, args.after, args.before, text.bytes);
      if (edit.unmatched !== undefined) {
        // Ansible returns here, before it looks at mode, owner and group.
        return { changed: false, rc: 0, msg: `Pattern for before/after params did not match the given file: ${edit.unmatched}` };
      }
      const result: ModuleResult = { changed: false, rc: 0, msg: '' };
      if (edit.count > 0 && edit.after !== text.value) {
        result.changed = true;
        result.msg = `${edit.count} replacements made`;
        if (ctx.diff) {
          const show = (s: string): string => (text.bytes ? fromBytes(s) : s);
          result.diff = { before_header: target, before: show(text.value), after_header: target, after: show(edit.after) };
        }
        if (!check) {
          if (args.backup) result.backup_file = targetPathOf(conn, await backupFile(host));
          await atomicWrite(host, { data: encode(edit.after, codec, text.bytes) }, async (tmp) => {
            if (args.validate === undefined) return;
            const res = await runValidate(conn, args.validate, targetPathOf(conn, tmp));
            if (res.rc !== 0) throw new ValidateError(`failed to validate: rc:${res.rc} error:${res.stderr}`);
          });
        }
      }
      if (await applyFileAttrs({ accounts: new Accounts(conn), check, conn }, host, target, args)) {
        result.msg = `${result.changed ? `${result.msg} and ` : ''}ownership, perms or SE linux context changed`;
        result.changed = true;
      }
      return result;
    } catch (err) {
      if (err instanceof PyRegexError || err instanceof ValidateError) return failed(err.message);
      if (err instanceof AttrError) return failed(err.message, { path: err.path, ...(err.details === undefined ? {} : { details: err.details }) });
      if (isFsError(err)) return failed(describeFsError(err, target));
      throw err;
    }
  },
);

type Codec = 'utf8' | 'latin1' | 'ascii';

// Python's codec names, normalised as Python normalises them (case, '-' and '_' alike).
function codecOf(encoding: string): Codec | undefined {
  const name = encoding.toLowerCase().replace(/[-_ ]/g, '');
  if (['utf8', 'u8', 'utf', 'cp65001'].includes(name)) return 'utf8';
  if (['latin1', 'latin', 'iso88591', 'l1', 'cp819', '88591', 'iso8859'].includes(name)) return 'latin1';
  if (['ascii', 'usascii', '646'].includes(name)) return 'ascii';
  return undefined;
}

/**
 * The file as a string to search: real text for valid UTF-8, otherwise a byte string (one char per
 * byte), which is what Python's surrogateescape decoding amounts to and round-trips every byte.
 */
function decode(raw: Buffer, codec: Codec): { value: string; bytes: boolean } {
  if (codec === 'utf8') {
    try {
      return { value: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw), bytes: false };
    } catch {
      return { value: raw.toString('latin1'), bytes: true };
    }
  }
  return { value: raw.toString('latin1'), bytes: codec === 'ascii' };
}

function encode(value: string, codec: Codec, bytes: boolean): Buffer {
  return Buffer.from(value, bytes || codec !== 'utf8' ? 'latin1' : 'utf8');
}

/** A Python pattern compiled with extra global flags, for text (or, with `bytes`, for byte strings). */
function compile(pattern: string, flags: string, bytes: boolean): RegExp {
  // compilePyRegex reads global flags only from one leading (?...) group, so merge ours into it.
  const lead = /^\(\?([aiLmsux]+)\)/.exec(pattern);
  const withFlags = lead ? `(?${lead[1] as string}${flags})${pattern.slice(lead[0].length)}` : `(?${flags})${pattern}`;
  const re = compilePyRegex(withFlags);
  // The translation only adds ASCII, so the source's UTF-8 byte runs decode back to the pattern's text.
  const source = dotsLikePython(bytes ? re.source : fromBytes(re.source), re.flags.includes('s'));
  return new RegExp(source, `${re.flags}gd`);
}

// Python's '.' stops only at '\n'; JavaScript's also at '\r', U+2028 and U+2029, which matters for CRLF files.
function dotsLikePython(source: string, dotAll: boolean): string {
  if (dotAll) return source;
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      out += c + (source[++i] ?? '');
      continue;
    }
    if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    out += !inClass && c === '.' ? '[^\\n]' : c;
  }
  return out;
}

/**
 * Ansible's edit: re.subn(regexp, replace, section) with MULTILINE, where the section is the whole
 * text or the part between `after` and `before` (matched with DOTALL). `unmatched` carries the
 * section pattern when after/before found nothing.
 */
function substitute(
  text: string,
  regexp: string,
  template: string,
  after: string | undefined,
  before: string | undefined,
  bytes: boolean,
): { after: string; count: number; unmatched?: string } {
  // Ansible tests after/before for truth, so an empty string counts as not given.
  let pattern = '';
  if (after && before) pattern = `${after}(?P<subsection>.*?)${before}`;
  else if (after) pattern = `${after}(?P<subsection>.*)`;
  else if (before) pattern = `(?P<subsection>.*)${before}`;
  let start = 0;
  let end = text.length;
  if (pattern !== '') {
    const m = compile(pattern, 's', bytes).exec(text);
    const span = m?.indices?.groups?.subsection;
    if (m === null || span === undefined) return { after: text, count: 0, unmatched: pattern };
    [start, end] = span;
  }
  const section = text.slice(start, end);
  const re = compile(regexp, 'm', bytes);
  const repl = bytes ? toBytes(template) : template;
  let out = '';
  let last = 0;
  let count = 0;
  for (let m = re.exec(section); m !== null; m = re.exec(section)) {
    out += section.slice(last, m.index) + expandReplace(m, repl);
    last = m.index + m[0].length;
    count++;
    // An empty match must not repeat at the same place; Python steps one character on.
    if (m[0].length === 0) re.lastIndex = m.index + 1;
  }
  out += section.slice(last);
  return { after: text.slice(0, start) + out + text.slice(end), count };
}

// expandMatch words its errors for lineinfile's backrefs; here the template is `replace`.
function expandReplace(m: RegExpExecArray, template: string): string {
  try {
    return expandMatch(m, template);
  } catch (err) {
    if (err instanceof PyRegexError) throw new PyRegexError(err.message.replace('in backrefs line', 'in replace'));
    throw err;
  }
}
