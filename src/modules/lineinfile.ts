// Ensures one line is present in (or absent from) a text file, as Ansible's lineinfile does.
import { mkdir, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { atomicWrite } from '../host/atomic-write.js';
import { backupFile } from './support/backup.js';
import { structuredDiff } from './support/diff.js';
import { type AttrDiff, AttrError, applyFileAttrs } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { ensureLinePresent, readLines, removeLines } from './support/line-edit.js';
import { PyRegexError, fromBytes, toBytes } from './support/py-regex.js';
import { editedPathArgs, fileAttrArgs } from './support/file-args.js';
import { hostPathFollow, statOrUndefined, targetPathOf } from './support/target-path.js';
import { ValidateError, runValidate } from './support/validate.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const args = {
  ...editedPathArgs,
  state: { default: 'present', choices: ['absent', 'present'], description: '`absent` removes every matching line.' },
  regexp: {
    aliases: ['regex'],
    description: 'A Python regular expression; the last matching line is replaced (`firstmatch`: the first), or under `absent` every matching line removed.',
  },
  search_string: { description: 'Literal text to look for instead of `regexp`.' },
  line: { aliases: ['value'], description: 'The line to ensure (needed for `present`).' },
  insertafter: { description: '`EOF` (the default when neither is given), `BOF` or a regexp: where the line goes when nothing matched.' },
  insertbefore: { description: '`BOF` or a regexp: the line goes before the last matching line when nothing matched.' },
  backrefs: { type: 'bool', default: false, description: 'Expand `\\1`, `\\g<name>` in `line` from `regexp`; without a match the file is left alone.' },
  create: { type: 'bool', default: false, description: 'Create the file (and its directory) when missing.' },
  backup: { type: 'bool', default: false, description: 'Keep a copy of the old file (`file.PID.YYYY-MM-DD@HH:MM:SS~`), named in `backup`.' },
  firstmatch: { type: 'bool', default: false, description: 'Use the first match of `regexp`/`insertafter`/`insertbefore`.' },
  validate: { description: 'A command run on the new file before it replaces the old one; `%s` is its path. Failure: `failed to validate: rc:N error:...`.' },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

type LineinfileArgs = ArgsOf<typeof args>;

export const lineinfile = defineModule(
  {
    name: 'lineinfile',
    doc: {
      short: 'Ensures one line is present in (or absent from) a text file.',
      description: 'Files are edited as bytes, as Ansible does, so any encoding is kept intact. A symlink is written through.',
      returns:
        "`msg` is Ansible's: `line added`, `line replaced`, `N line(s) removed`, `file not present`, with ` and ownership, perms or SE linux context changed` appended when attributes changed too; `backup`; `found` under `absent`.",
      differences: [
        'Python regexps are translated to JavaScript: named groups `(?P<n>...)`/`(?P=n)`, `\\A`, `\\Z`, `$` before a final newline, leading inline flags `(?i)`, `(?m)`, `(?s)` work; verbose `(?x)` patterns are refused with a message.',
        'Ansible returns two diffs (content, attributes); imgplay returns the content diff, or the attribute diff when only attributes changed.',
      ],
    },
    args,
    mutuallyExclusive: [
      ['insertbefore', 'insertafter'],
      ['regexp', 'search_string'],
      ['backrefs', 'search_string'],
    ],
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
    const { args } = ctx;
    const { path, regexp, line } = args;
    const warnings: string[] = [];
    if (regexp === '' || args.search_string === '') {
      const what = regexp === '' ? 'regular expression' : 'search string';
      warnings.push(
        `The ${what} is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending.` +
          (regexp === '' ? " If this is desired, use '^' to match every line in the file and avoid this warning." : ''),
      );
    }
    if ((await statOrUndefined(await hostPathFollow(ctx.conn, path)))?.isDirectory()) return failed(`Path ${path} is a directory !`, { rc: 256 });
    if (args.state === 'present') {
      if (args.backrefs && regexp === undefined) return failed('regexp is required with backrefs=true');
      if (line === undefined) return failed('line is required with state=present');
    } else if (regexp === undefined && args.search_string === undefined && line === undefined) {
      return failed('one of line, search_string, or regexp is required with state=absent');
    }
    try {
      const result = await edit(ctx, path, regexp, line);
      if (warnings.length > 0) result.warnings = warnings;
      return result;
    } catch (err) {
      if (err instanceof PyRegexError || err instanceof ValidateError) return failed(err.message);
      if (err instanceof AttrError) return failed(err.message, { path: err.path, ...(err.details === undefined ? {} : { details: err.details }) });
      if (isFsError(err)) return failed(describeFsError(err, path));
      throw err;
    }
  },
);

async function edit(ctx: ModuleContext<LineinfileArgs>, path: string, regexp: string | undefined, line: string | undefined): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  // Ansible writes through a symlink to the file it points at.
  const host = await hostPathFollow(conn, path);
  const exists = (await statOrUndefined(host)) !== undefined;
  const contentDiff = { before: '', after: '', before_header: `${path} (content)`, after_header: `${path} (content)` };
  let lines: string[];
  if (!exists) {
    if (args.state === 'absent') return { changed: false, msg: 'file not present' };
    if (!args.create) return failed(`Destination ${path} does not exist !`, { rc: 257 });
    const problem = check ? undefined : await makeParent(ctx, path);
    if (problem !== undefined) return failed(problem);
    lines = [];
  } else {
    lines = readLines((await readFile(host)).toString('latin1'));
  }
  const before = lines.join('');
  contentDiff.before = fromBytes(before);

  let changed: boolean;
  let msg: string;
  let found: number | undefined;
  if (args.state === 'present') {
    const ins = args.insertbefore === undefined && args.insertafter === undefined ? 'EOF' : args.insertafter;
    ({ changed, msg } = ensureLinePresent(lines, {
      line: toBytes(line as string),
      regexp,
      searchString: args.search_string === undefined ? undefined : toBytes(args.search_string),
      insertafter: ins,
      insertbefore: args.insertbefore,
      backrefs: args.backrefs,
      firstmatch: args.firstmatch,
    }));
  } else {
    const r = removeLines(lines, { line: line === undefined ? undefined : toBytes(line), regexp, searchString: args.search_string === undefined ? undefined : toBytes(args.search_string) });
    lines = r.lines;
    found = r.found;
    changed = found > 0;
    msg = changed ? `${found} line(s) removed` : '';
  }
  contentDiff.after = fromBytes(lines.join(''));

  let backup = '';
  if (changed && !check) {
    if (args.backup && exists) backup = targetPathOf(conn, await backupFile(host));
    await atomicWrite(host, { data: Buffer.from(lines.join(''), 'latin1') }, async (tmp) => {
      if (args.validate === undefined) return;
      const res = await runValidate(conn, args.validate, targetPathOf(conn, tmp));
      if (res.rc !== 0) throw new ValidateError(`failed to validate: rc:${res.rc} error:${res.stderr}`);
    });
  }
  const result: ModuleResult = { changed, msg, backup };
  if (found !== undefined) result.found = found;
  if (check && !exists) {
    if (ctx.diff) result.diff = contentDiff;
    return result;
  }
  const attrDiff: AttrDiff = { before: {}, after: {} };
  if (await applyFileAttrs({ accounts: new Accounts(conn), check, conn }, await hostPathFollow(conn, path), path, args, attrDiff)) {
    result.msg = `${changed ? `${msg} and ` : msg}ownership, perms or SE linux context changed`;
    result.changed = true;
  }
  // Ansible returns a content diff and an attribute diff; one diff fits the result, so attributes show only on their own.
  if (ctx.diff) result.diff = changed || Object.keys(attrDiff.before).length === 0 ? contentDiff : { ...structuredDiff(attrDiff.before, attrDiff.after), before_header: `${path} (file attributes)`, after_header: `${path} (file attributes)` };
  return result;
}

// create=true makes missing parent directories too; returns Ansible's message if that fails.
async function makeParent(ctx: ModuleContext<LineinfileArgs>, path: string): Promise<string | undefined> {
  const parent = posix.dirname(path);
  if (parent === '.' || (await statOrUndefined(await hostPathFollow(ctx.conn, parent))) !== undefined) return undefined;
  try {
    await mkdir(await hostPathFollow(ctx.conn, parent), { recursive: true });
    return undefined;
  } catch (err) {
    if (!isFsError(err)) throw err;
    return `Error creating ${parent} (${describeFsError(err, parent)})`;
  }
}
