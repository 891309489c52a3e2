// Ensures a block of lines between two marker lines is present in (or absent from) a file, as Ansible's blockinfile does.
import { mkdir, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { atomicWrite } from '../host/atomic-write.js';
import { backupFile } from './support/backup.js';
import { structuredDiff } from './support/diff.js';
import { type AttrDiff, AttrError, applyFileAttrs } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { PyRegexError, compilePyRegex, expandMatch, fromBytes, toBytes } from './support/py-regex.js';
import { editedPathArgs, fileAttrArgs } from './support/file-args.js';
import { hostPathFollow, statOrUndefined, targetPathOf } from './support/target-path.js';
import { ValidateError, runValidate } from './support/validate.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const args = {
  ...editedPathArgs,
  state: { default: 'present', choices: ['absent', 'present'], description: '`absent` removes the block.' },
  marker: { default: '# {mark} ANSIBLE MANAGED BLOCK', description: 'The marker line; `{mark}` becomes `marker_begin` or `marker_end`.' },
  block: { default: '', aliases: ['content'], description: 'The lines between the markers; a final newline is added. An empty block removes the block.' },
  insertafter: { description: 'Where a new block goes: `EOF` (the default when neither is given), `BOF` or a regexp (the last matching line; a `(?m)` pattern is searched in the whole file). Without a match, at the end.' },
  insertbefore: { description: 'Where a new block goes: `BOF` or a regexp, as for `insertafter`.' },
  create: { type: 'bool', default: false, description: 'Create the file (and its directories) when missing.' },
  backup: { type: 'bool', default: false, description: 'Keep a copy of the old file, named in `backup_file`.' },
  validate: { description: 'A command run on the new file before it replaces the old one; `%s` is its path.' },
  marker_begin: { default: 'BEGIN', description: 'What `{mark}` becomes in the first marker.' },
  marker_end: { default: 'END', description: 'What `{mark}` becomes in the last marker.' },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

type BlockinfileArgs = ArgsOf<typeof args>;

export const blockinfile = defineModule(
  {
    name: 'blockinfile',
    doc: {
      short: 'Ensures a block of lines between two marker lines is present in (or absent from) a file.',
      description:
        "ansible-core 2.14 has no `append_newline`/`prepend_newline`; they are refused as unknown arguments. Ansible's quirks are kept: a missing file fails without `create` even with `state=absent`; an existing block is found by its last begin and last end marker lines (exact lines ending in `\\n`, so CRLF markers are not recognised); an unterminated last line gets a newline before the insertion point, also under `state=absent` with no block present (reported as `Block removed`). Files are edited as bytes; lines end at `\\n`, `\\r\\n` or a lone `\\r`, as Python's `bytes.splitlines` ends them. A symlink is written through.",
      returns:
        "`msg` is Ansible's: `Block inserted`, `Block removed`, `File created`, `File PATH not present`, or `''`, with ` and ownership, perms or SE linux context changed` appended when attributes changed too; `backup_file`.",
      differences: [
        'Regexps are translated as for lineinfile.',
        'Ansible returns two diffs (content, attributes); imgplay returns the content diff, or the attribute diff when only attributes changed.',
        "A parent directory that cannot be created fails with `Error creating DIR (...)`; Ansible's own message for this crashes inside the module.",
      ],
    },
    args,
    mutuallyExclusive: [['insertbefore', 'insertafter']],
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
    const { path } = ctx.args;
    try {
      return await edit(ctx, path);
    } catch (err) {
      if (err instanceof PyRegexError || err instanceof ValidateError) return failed(err.message);
      if (err instanceof AttrError) return failed(err.message, { path: err.path, ...(err.details === undefined ? {} : { details: err.details }) });
      if (isFsError(err)) return failed(describeFsError(err, path));
      throw err;
    }
  },
);

async function edit(ctx: ModuleContext<BlockinfileArgs>, path: string): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  // Ansible writes through a symlink to the file it points at.
  const host = await hostPathFollow(conn, path);
  const st = await statOrUndefined(host);
  if (st?.isDirectory()) return failed(`Path ${path} is a directory !`, { rc: 256 });
  const exists = st !== undefined;
  let original: string | undefined;
  if (!exists) {
    // Ansible checks create before state, so state=absent on a missing file fails without create.
    if (!args.create) return failed(`Path ${path} does not exist !`, { rc: 257 });
    const problem = check ? undefined : await makeParent(ctx, path);
    if (problem !== undefined) return failed(problem);
    if (args.state === 'absent') return { changed: false, msg: `File ${path} not present` };
  } else {
    original = (await readFile(host)).toString('latin1');
  }

  const result = placeBlock(original, args);
  let msg = '';
  let changed = true;
  if (original === result) changed = false;
  else if (original === undefined) msg = 'File created';
  // An empty block places no lines, so Ansible reports it as removed.
  else if (args.state === 'absent' || args.block === '') msg = 'Block removed';
  else msg = 'Block inserted';
  const contentDiff = { before: fromBytes(original ?? ''), after: fromBytes(result), before_header: `${path} (content)`, after_header: `${path} (content)` };

  const out: ModuleResult = { changed, msg };
  if (changed && !check) {
    if (args.backup && exists) out.backup_file = targetPathOf(conn, await backupFile(host));
    await atomicWrite(host, { data: Buffer.from(result, 'latin1') }, async (tmp) => {
      if (args.validate === undefined) return;
      const res = await runValidate(conn, args.validate, targetPathOf(conn, tmp));
      if (res.rc !== 0) throw new ValidateError(`failed to validate: rc:${res.rc} error:${res.stderr}`);
    });
  }
  if (check && !exists) {
    if (ctx.diff) out.diff = contentDiff;
    return out;
  }
  const attrDiff: AttrDiff = { before: {}, after: {} };
  if (await applyFileAttrs({ accounts: new Accounts(conn), check, conn }, host, path, args, attrDiff)) {
    out.msg = `${changed ? `${msg} and ` : msg}ownership, perms or SE linux context changed`;
    out.changed = true;
  }
  // Ansible returns a content diff and an attribute diff; one diff fits the result, so attributes show only on their own.
  if (ctx.diff) {
    out.diff =
      changed || Object.keys(attrDiff.before).length === 0
        ? contentDiff
        : { ...structuredDiff(attrDiff.before, attrDiff.after), before_header: `${path} (file attributes)`, after_header: `${path} (file attributes)` };
  }
  return out;
}

// One marker line as bytes: `{mark}` in marker replaced as Python's re.sub does it (the replacement is a template).
function markerLine(args: BlockinfileArgs, which: 'begin' | 'end'): string {
  const marker = toBytes(args.marker);
  const mark = toBytes(which === 'begin' ? args.marker_begin : args.marker_end);
  return `${marker.replace(/\{mark\}/g, (...m) => expandMatch(Object.assign([m[0] as string], { index: 0, input: marker }) as RegExpExecArray, mark))}\n`;
}

// Python's bytes.splitlines(keepends=True): lines end at '\n', '\r\n' or a lone '\r'.
function splitLines(bytes: string): string[] {
  return bytes.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? [];
}

/**
 * Ansible's edit on the file's bytes: drop the old block (between the last begin and last end marker),
 * or when there is none find where a new one goes (insertafter/insertbefore), then put the block there.
 */
function placeBlock(original: string | undefined, args: BlockinfileArgs): string {
  const lines = splitLines(original ?? '');
  const marker0 = markerLine(args, 'begin');
  const marker1 = markerLine(args, 'end');
  let block = toBytes(args.block);
  let blockLines: string[] = [];
  if (args.state === 'present' && block !== '') {
    if (!block.endsWith('\n')) block += '\n';
    blockLines = [marker0, ...splitLines(block), marker1];
  }
  const insertafter = args.insertbefore === undefined && args.insertafter === undefined ? 'EOF' : args.insertafter;
  const { insertbefore } = args;
  let insertRe: RegExp | undefined;
  if (insertafter !== undefined && insertafter !== 'EOF') insertRe = compilePyRegex(insertafter);
  else if (insertbefore !== undefined && insertbefore !== 'BOF') insertRe = compilePyRegex(insertbefore);

  let n0: number | undefined;
  let n1: number | undefined;
  lines.forEach((line, i) => {
    if (line === marker0) n0 = i;
    if (line === marker1) n1 = i;
  });
  if (n0 === undefined || n1 === undefined) {
    n0 = undefined;
    if (insertRe !== undefined) {
      if (insertRe.multiline) {
        // A (?m) pattern is searched in the whole file; the line is the number of newlines before the match.
        const m = insertRe.exec(original ?? '');
        if (m !== null) n0 = newlinesIn((original ?? '').slice(0, insertafter !== undefined ? m.index + m[0].length : m.index));
      } else {
        lines.forEach((line, i) => {
          if (insertRe.test(line)) n0 = i;
        });
      }
      if (n0 === undefined) n0 = lines.length;
      else if (insertafter !== undefined) n0 += 1;
    } else {
      n0 = insertbefore !== undefined ? 0 : lines.length;
    }
  } else if (n0 < n1) {
    lines.splice(n0, n1 - n0 + 1);
  } else {
    lines.splice(n1, n0 - n1 + 1);
    n0 = n1;
  }
  // The block starts on a line of its own, even when that means ending an unterminated last line (also when removing).
  if (n0 > 0 && !(lines[n0 - 1] as string).endsWith('\n')) lines[n0 - 1] += '\n';
  lines.splice(n0, 0, ...blockLines);
  return lines.join('');
}

function newlinesIn(text: string): number {
  return text.split('\n').length - 1;
}

// create=true makes missing parent directories too; returns a message if that fails.
async function makeParent(ctx: ModuleContext<BlockinfileArgs>, path: string): Promise<string | undefined> {
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
