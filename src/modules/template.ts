// Renders a controller template with the task's variables and puts the result on the target, as Ansible's template does.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ImgplayError } from '../errors.js';
import { type ArgSpec, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { AttrError } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { formatMode } from './support/mode.js';
import { type PutContext, putFile } from './support/put-file.js';
import { fileAttrArgs } from './support/file-args.js';
import { failed } from './types.js';
import { templateVars } from '../vars/lookups.js';

// Ansible's template is an action plugin: these are the options it reads, then copy's with the file common arguments.
const DELIMITERS = 'the template engine reads only the default delimiters ({{ }}, {% %}, {# #}).';

const args = {
  src: { description: 'The template on the controller, found as Ansible finds it (role `templates/`, then the playbook directory). Needed, as is `dest`.' },
  dest: { description: 'Where it goes on the target; an existing directory gets the template\'s file name.' },
  newline_sequence: { description: 'The line ending written: `\\n` (the default), `\\r` or `\\r\\n` (escaped forms accepted).' },
  block_start_string: { description: 'Marks the start of a block.', refused: DELIMITERS },
  block_end_string: { description: 'Marks the end of a block.', refused: DELIMITERS },
  variable_start_string: { description: 'Marks the start of a print statement.', refused: DELIMITERS },
  variable_end_string: { description: 'Marks the end of a print statement.', refused: DELIMITERS },
  comment_start_string: { description: 'Marks the start of a comment.', refused: DELIMITERS },
  comment_end_string: { description: 'Marks the end of a comment.', refused: DELIMITERS },
  trim_blocks: {
    type: 'bool',
    default: true,
    description: 'Remove the first newline after a block.',
    refusedValues: { false: "the template engine always trims blocks, as Ansible's default does." },
  },
  lstrip_blocks: {
    type: 'bool',
    default: false,
    description: 'Strip spaces and tabs from the start of a line to a block.',
    refusedValues: { true: 'the template engine does not strip before blocks.' },
  },
  force: { type: 'bool', default: true, description: 'Replace a `dest` whose content differs; `false`: only when it does not exist.' },
  output_encoding: { default: 'utf-8', description: 'The encoding of the written file; imgplay writes UTF-8 only (another value fails the task).' },
  backup: { type: 'bool', default: false, description: 'Keep a copy of the old file, named in `backup_file`.' },
  follow: { type: 'bool', default: false, description: 'Write through a `dest` that is a symlink to the file it points at.' },
  validate: { description: 'A command run on the new file before it replaces the old one; `%s` is its path.' },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

// Written either as the characters themselves or, from key=value syntax, as backslash escapes.
const NEWLINES: Record<string, string> = { '\n': '\n', '\r': '\r', '\r\n': '\r\n', '\\n': '\n', '\\r': '\r', '\\r\\n': '\r\n' };

export const template = defineModule(
  {
    name: 'template',
    doc: {
      short: "Renders a controller template with the task's variables and puts the result on the target.",
      description:
        'The template is rendered with the task\'s variables, then put in place exactly as copy would (same results and check/diff behaviour). A template error fails the task naming the template file.',
      differences: [
        '`lstrip_blocks: true`, `trim_blocks: false`, an `output_encoding` other than UTF-8 and the `*_start_string`/`*_end_string` options are refused.',
        'Of the variables Ansible adds while rendering, `ansible_managed` (its default text, `Ansible managed`), `template_path`, `template_fullpath`, `template_host`, `template_uid` and `template_destpath` are defined; `template_mtime` and `template_run_date` (Python datetimes) are not.',
      ],
    },
    args,
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
    const { args } = ctx;
    if (args.src === undefined || args.dest === undefined) return failed('src and dest are required');
    const newline = NEWLINES[args.newline_sequence ?? '\n'];
    if (newline === undefined) return failed('newline_sequence needs to be one of: \\n, \\r or \\r\\n');
    if (!/^utf-?8$/i.test(args.output_encoding)) return failed(`output_encoding ${args.output_encoding} is not supported by imgplay: templates are written as UTF-8`);
    let source: string;
    try {
      source = await ctx.findFile('templates', args.src);
    } catch (err) {
      return failed((err as Error).message);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(source));
    } catch (err) {
      if (err instanceof TypeError) return failed('Template source files must be utf-8 encoded');
      throw err;
    }
    // Jinja reads every line ending in the template as newline_sequence.
    let rendered: string;
    try {
      rendered = ctx.template(text.replace(/\r\n|\r|\n/g, newline), templateVars(args.src, source, args.dest));
    } catch (err) {
      // A template mistake fails the task (ignore_errors applies), naming the template, as Ansible does.
      if (err instanceof ImgplayError) return failed(`${source}: ${err.message}`);
      throw err;
    }
    const mode = args.mode === 'preserve' ? formatMode((await stat(source)).mode) : args.mode;
    const fs: PutContext = { conn: ctx.conn, accounts: new Accounts(ctx.conn), check: ctx.check, diff: ctx.diff, warnings: [] };
    try {
      const r = await putFile(fs, {
        dest: args.dest,
        rel: basename(source),
        source: { data: rendered },
        label: source,
        isContent: false,
        mode,
        owner: args.owner,
        group: args.group,
        force: args.force,
        backup: args.backup,
        follow: args.follow,
        validate: args.validate,
      });
      return r ?? { changed: false, dest: args.dest, src: source };
    } catch (err) {
      if (err instanceof AttrError) return { failed: true, changed: false, path: err.path, msg: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
      if (isFsError(err)) return failed(`failed to write ${args.dest}: ${describeFsError(err)}`);
      throw err;
    }
  },
);
