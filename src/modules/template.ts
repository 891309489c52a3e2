// Renders a controller template with the task's variables and puts the result on the target, as Ansible's template does.
import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ImgplayError, TemplateError } from '../errors.js';
import { renderString, type Loader, type Syntax } from '../jinja/template.js';
import { type ArgSpec, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { AttrError } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { formatMode } from './support/mode.js';
import { type PutContext, putFile } from './support/put-file.js';
import { fileAttrArgs } from './support/file-args.js';
import { failed } from './types.js';

// Ansible's template is an action plugin: these are the options it reads, then copy's with the file common arguments.
const args = {
  src: { description: 'The template on the controller, found as Ansible finds it (role `templates/`, then the playbook directory). Needed, as is `dest`.' },
  dest: { description: 'Where it goes on the target; an existing directory gets the template\'s file name.' },
  newline_sequence: { description: 'The line ending written for the template\'s own lines: `\\n` (the default), `\\r` or `\\r\\n` (escaped forms accepted).' },
  block_start_string: { description: 'Marks the start of a block (default `{%`).' },
  block_end_string: { description: 'Marks the end of a block (default `%}`).' },
  variable_start_string: { description: 'Marks the start of a print statement (default `{{`).' },
  variable_end_string: { description: 'Marks the end of a print statement (default `}}`).' },
  comment_start_string: { description: 'Marks the start of a comment (default `{#`).' },
  comment_end_string: { description: 'Marks the end of a comment (default `#}`).' },
  trim_blocks: { type: 'bool', default: true, description: 'Remove the first newline after a block or comment tag.' },
  lstrip_blocks: { type: 'bool', default: false, description: 'Strip spaces and tabs from the start of a line to a block or comment tag.' },
  force: { type: 'bool', default: true, description: 'Replace a `dest` whose content differs; `false`: only when it does not exist.' },
  output_encoding: { default: 'utf-8', description: 'The encoding of the written file: utf-8, ascii, latin-1 (iso-8859-1) or utf-16 (-le, -be); others fail the task.' },
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
        '`ansible_managed` is Ansible\'s default string (`Ansible managed`); an `ansible_managed` setting in ansible.cfg is not read. `template_mtime` and `template_run_date` are the text Python prints for them, not datetime objects.',
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
    const encoding = encodingOf(args.output_encoding || 'utf-8');
    if (!encoding) return failed(`LookupError: unknown encoding: ${args.output_encoding} (imgplay writes utf-8, ascii, latin-1 and utf-16)`);
    let source: string;
    try {
      source = resolve(await ctx.findFile('templates', args.src));
    } catch (err) {
      return failed((err as Error).message);
    }
    let text: string;
    let info: Stats;
    try {
      info = await stat(source);
      text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(source));
    } catch (err) {
      if (err instanceof TypeError) return failed('Template source files must be utf-8 encoded');
      throw err;
    }
    const syntax: Partial<Syntax> = {
      newline,
      trimBlocks: args.trim_blocks,
      lstripBlocks: args.lstrip_blocks,
      ...(args.block_start_string ? { blockStart: args.block_start_string } : {}),
      ...(args.block_end_string ? { blockEnd: args.block_end_string } : {}),
      ...(args.variable_start_string ? { variableStart: args.variable_start_string } : {}),
      ...(args.variable_end_string ? { variableEnd: args.variable_end_string } : {}),
      ...(args.comment_start_string ? { commentStart: args.comment_start_string } : {}),
      ...(args.comment_end_string ? { commentEnd: args.comment_end_string } : {}),
    };
    // As Ansible's action: the task's search path, then the template's own directory, each with its templates/ first.
    const roots = [...(ctx.searchPath ?? []), dirname(source)].flatMap((d) => [join(d, 'templates'), d]);
    const vars = Object.assign(Object.create(ctx.vars) as Record<string, unknown>, templateVars(args.src, source, args.dest, info));
    let rendered: Buffer;
    try {
      rendered = encode(renderString(text, vars, { file: true, syntax, loader: loaderFor(roots) }), encoding);
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
        attributes: args.attributes,
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

// Jinja's FileSystemLoader: a name is '/'-separated, may not climb with '..', and is tried under each root in turn.
function loaderFor(roots: string[]): Loader {
  return (name) => {
    const pieces = name.split('/').filter((p) => p !== '' && p !== '.');
    if (pieces.some((p) => p === '..')) return undefined;
    for (const root of roots) {
      const file = join(root, ...pieces);
      if (!existsSync(file) || !statSync(file).isFile()) continue;
      try {
        return { text: new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file)), name };
      } catch (err) {
        if (err instanceof TypeError) throw new TemplateError(`the template '${name}' (${file}) is not UTF-8 text`);
        throw err;
      }
    }
    return undefined;
  };
}

// The variables Ansible's template action adds (generate_ansible_template_vars).
function templateVars(src: string, fullpath: string, dest: string, info: Stats): Record<string, unknown> {
  const host = hostname();
  return {
    template_host: host,
    template_path: src,
    template_fullpath: fullpath,
    template_uid: userName(info.uid),
    template_mtime: pyDatetime(info.mtime),
    template_run_date: pyDatetime(new Date()),
    template_destpath: dest,
    // Ansible's default DEFAULT_MANAGED_STR has no {host}/{uid}/{file} fields nor strftime codes.
    ansible_managed: 'Ansible managed',
  };
}

function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === String(uid) && f[0]) return f[0];
    }
  } catch {
    // No passwd file: Ansible falls back to the number too.
  }
  return String(uid);
}

// Python's str() of a local datetime: 2026-12-05 19:36:34.123000 (no fraction when it is zero).
function pyDatetime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return d.getMilliseconds() === 0 ? base : `${base}.${p(d.getMilliseconds() * 1000, 6)}`;
}

type Encoding = 'utf8' | 'ascii' | 'latin1' | 'utf16' | 'utf16le' | 'utf16be';
const ENCODINGS: Record<string, Encoding> = {
  'utf-8': 'utf8', utf8: 'utf8', u8: 'utf8', 'utf': 'utf8',
  ascii: 'ascii', 'us-ascii': 'ascii',
  'latin-1': 'latin1', latin1: 'latin1', 'iso-8859-1': 'latin1', 'iso8859-1': 'latin1', l1: 'latin1',
  'utf-16': 'utf16', utf16: 'utf16', 'utf-16-le': 'utf16le', 'utf-16le': 'utf16le', 'utf-16-be': 'utf16be', 'utf-16be': 'utf16be',
};

// Python's codec names are case-insensitive and treat '_' and ' ' as '-'.
function encodingOf(name: string): Encoding | undefined {
  return ENCODINGS[name.toLowerCase().replace(/[_ ]/g, '-')];
}

function encode(text: string, encoding: Encoding): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  if (encoding === 'ascii' || encoding === 'latin1') {
    const limit = encoding === 'ascii' ? 0x7f : 0xff;
    const bad = [...text].findIndex((c) => c.codePointAt(0)! > limit);
    if (bad >= 0) {
      const c = [...text][bad]!;
      throw new TemplateError(`'${encoding === 'ascii' ? 'ascii' : 'latin-1'}' codec can't encode character '\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}': ordinal not in range(${limit + 1})`);
    }
    return Buffer.from(text, 'latin1');
  }
  const le = Buffer.from(text, 'utf16le');
  if (encoding === 'utf16le') return le;
  if (encoding === 'utf16be') return le.swap16();
  // Python's utf-16 writes a byte order mark, then little-endian on this machine.
  return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
}
