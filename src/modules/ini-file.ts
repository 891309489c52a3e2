// Sets, adds or removes options and sections of an INI file, as community.general.ini_file does.
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { atomicWrite } from '../host/atomic-write.js';
import { backupFile } from './support/backup.js';
import { AttrError, applyFileAttrs } from './support/file-attrs.js';
import { fileAttrArgs } from './support/file-args.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { IniOptionMissing, editIni, iniLines } from './support/ini-edit.js';
import { hostPathFollow, hostPathNoFollow, lstatOrUndefined, statOrUndefined, targetPathOf } from './support/target-path.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const args = {
  path: { type: 'path', required: true, aliases: ['dest'], description: 'The INI file (on the target).' },
  section: { description: 'The section (`[name]` in the file). Without it the option goes above the first section.' },
  option: { description: 'The option. Without it, `present` ensures the section and `absent` removes the whole section.' },
  value: { description: 'The value of the option.' },
  values: { type: 'list', elements: 'str', description: 'Several values of one option, one line each (with `exclusive`, the only ones).' },
  backup: { type: 'bool', default: false, description: 'Keep a copy of the old file (`file.PID.YYYY-MM-DD@HH:MM:SS~`), named in `backup_file`.' },
  state: { default: 'present', choices: ['absent', 'present'], description: '`absent` removes the option (or, without `option`, the section).' },
  exclusive: {
    type: 'bool',
    default: true,
    description: "With `present`, the option's other lines in the section go (they take the new values first, commented-out ones included); with `absent`, every line of the option goes, whatever `value(s)` say.",
  },
  no_extra_spaces: { type: 'bool', default: false, description: 'Write `option=value` instead of `option = value`.' },
  allow_no_value: { type: 'bool', default: false, description: 'Allow an option without a value (a line `option` alone).' },
  create: { type: 'bool', default: true, description: 'Create the file (and its directories) when missing; without it a missing file fails.' },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

type IniFileArgs = ArgsOf<typeof args>;

export const iniFile = defineModule(
  {
    name: 'ini_file',
    collection: 'community.general',
    doc: {
      short: 'Sets, adds or removes options and sections of an INI file.',
      description:
        "As community.general 6.6 (shipped with ansible-core 2.14) does it, quirks kept: a section header matches by prefix (`[name]` at the start of the line); with `exclusive` a commented-out `#option = x` line is taken over by the new value; a new file starts with an empty line; a last line without a newline gets one (and counts as a change). The file is read as UTF-8 (a BOM is dropped) with `\\r\\n` and `\\r` read as newlines, and written back with `\\n`. A symlink is read through and replaced by a regular file, as Ansible's rename does. Later collections' `ignore_spaces`, `modify_inactive_option` and `follow` are not in this version and are refused as unknown arguments.",
      returns: "`msg` is Ansible's: `OK`, `option added`, `option changed`, `section and option added`, `only section added`, `section removed`; `path`; `backup_file`.",
      checkMode: 'Predicts the content change only: as in Ansible, `mode`/`owner`/`group` are neither applied nor reported under `--check`.',
      differences: ["Where Ansible's module crashes (a `value` without `option` in an existing section, a file that is not UTF-8) imgplay fails with a message."],
    },
    args,
    mutuallyExclusive: [['value', 'values']],
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
    const { path } = ctx.args;
    try {
      return await edit(ctx, path);
    } catch (err) {
      if (err instanceof IniOptionMissing) return failed(`MODULE FAILURE: ini_file needs an option to match lines of section ${ctx.args.section ?? ''} (Ansible's module crashes here)`);
      if (err instanceof AttrError) return failed(err.message, { path: err.path, ...(err.details === undefined ? {} : { details: err.details }) });
      if (isFsError(err)) return failed(describeFsError(err, path));
      throw err;
    }
  },
);

async function edit(ctx: ModuleContext<IniFileArgs>, path: string): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  if (args.state === 'present' && !args.allow_no_value && args.value === undefined && (args.values === undefined || args.values.length === 0)) {
    return failed("Parameter 'value(s)' must be defined if state=present and allow_no_value=False.");
  }
  const given = args.value !== undefined ? [args.value] : (args.values ?? []);
  const values = given.filter((v, i) => given.indexOf(v) === i);

  const link = await hostPathNoFollow(conn, path);
  const real = await hostPathFollow(conn, path);
  const st = await statOrUndefined(real);
  let text = '';
  if (st === undefined) {
    if (!args.create) return failed(`Destination ${path} does not exist!`, { rc: 257 });
    const parent = posix.dirname(path);
    if (!check && (await statOrUndefined(await hostPathFollow(conn, parent))) === undefined) await mkdir(await hostPathFollow(conn, parent), { recursive: true });
  } else {
    const decoded = decode(await readFile(real));
    if (decoded === undefined) return failed(`MODULE FAILURE: ${path} is not UTF-8 text ('utf-8' codec can't decode it)`);
    text = decoded;
  }

  const { lines, changed, msg } = editIni(iniLines(text), {
    section: args.section,
    option: args.option,
    values,
    state: args.state,
    exclusive: args.exclusive,
    noExtraSpaces: args.no_extra_spaces,
    allowNoValue: args.allow_no_value,
  });
  const after = lines.join('');
  const out: ModuleResult = { changed, msg, path };
  if (ctx.diff) out.diff = { before: text, after, before_header: `${path} (content)`, after_header: `${path} (content)` };
  if (check) return out;

  if (changed) {
    // Ansible's backup of a file that does not exist yet is named '' and still returned.
    if (args.backup) out.backup_file = st === undefined ? '' : targetPathOf(conn, await backupFile(real));
    const wasLink = (await lstatOrUndefined(link))?.isSymbolicLink() === true;
    await atomicWrite(link, { data: Buffer.from(after, 'utf8') });
    // The rename replaces a symlink by a file that keeps the mode and owner of the file the link named.
    if (wasLink && st !== undefined) {
      await chmod(link, st.mode & 0o7777);
      await chown(link, st.uid, st.gid).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPERM') throw err;
      });
    }
  }
  if ((await statOrUndefined(real)) !== undefined || (await statOrUndefined(link)) !== undefined) {
    if (await applyFileAttrs({ accounts: new Accounts(conn), check, conn }, link, path, args)) out.changed = true;
  }
  return out;
}

// Python's utf-8-sig text read with universal newlines: a BOM dropped, \r\n and \r read as \n; undefined if not UTF-8.
function decode(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes).replace(/\r\n?/g, '\n');
  } catch {
    return undefined;
  }
}
