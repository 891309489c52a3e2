// Renders a controller template with the task's variables and puts the result on the target, as Ansible's template does.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ImgplayError } from '../errors.js';
import { Accounts } from './support/accounts.js';
import { AttrError } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { formatMode } from './support/mode.js';
import { type PutContext, putFile } from './support/put-file.js';
import { boolArg, fileAttrProperties, strArg } from './support/schema.js';
import { failed, type Module } from './types.js';

/** template's arguments as they arrive (validated, defaults applied). */
export interface TemplateArgs {
  src?: string;
  dest?: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  force: boolean;
  backup: boolean;
  follow: boolean;
  validate?: string;
  newline_sequence: string;
}

// Written either as the characters themselves or, from key=value syntax, as backslash escapes.
const NEWLINES: Record<string, string> = { '\n': '\n', '\r': '\r', '\r\n': '\r\n', '\\n': '\n', '\\r': '\r', '\\r\\n': '\r\n' };

export const template: Module<TemplateArgs> = {
  name: 'template',
  aliases: ['ansible.builtin.template', 'ansible.legacy.template'],
  schema: {
    type: 'object',
    properties: {
      src: strArg,
      dest: strArg,
      force: boolArg(true),
      backup: boolArg(false),
      follow: boolArg(false),
      validate: strArg,
      newline_sequence: { type: 'string', default: '\n' },
      ...fileAttrProperties,
    },
    additionalProperties: false,
  },
  checkMode: true,
  diff: true,
  async run(ctx) {
    const { args } = ctx;
    if (args.src === undefined || args.dest === undefined) return failed('src and dest are required');
    const newline = NEWLINES[args.newline_sequence];
    if (newline === undefined) return failed('newline_sequence needs to be one of: \\n, \\r or \\r\\n');
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
      rendered = ctx.template(text.replace(/\r\n|\r|\n/g, newline));
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
};
