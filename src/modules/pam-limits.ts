// Sets one limit in a limits.conf file, as community.general.pam_limits does.
import { access, constants, readFile, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { pyRepr } from '../jinja/values.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { atomicWrite } from '../host/atomic-write.js';
import { backupFile } from './support/backup.js';
import { hostPathFollow, statOrUndefined, targetPathOf } from './support/target-path.js';
import { ModuleFailure } from './support/module-failure.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const ITEMS = ['core', 'data', 'fsize', 'memlock', 'nofile', 'rss', 'stack', 'cpu', 'nproc', 'as', 'maxlogins', 'maxsyslogins', 'priority', 'locks', 'sigpending', 'msgqueue', 'nice', 'rtprio', 'chroot'] as const;
const UNLIMITED = ['unlimited', 'infinity', '-1'];
// Python's str whitespace (\s, str.strip): JavaScript's \s lacks \x1c-\x1f and \x85 and has \ufeff.
const WS = '[ \\t\\n\\r\\f\\v\\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const WS_RUN = new RegExp(`${WS}+`, 'g');
const WS_EDGES = new RegExp(`^${WS}+|${WS}+$`, 'g');

const args = {
  domain: { required: true, description: 'Who the limit is for: a user, `@group`, `*`, a uid/gid range.' },
  limit_type: { required: true, choices: ['soft', 'hard', '-'], description: 'The kind of limit (`-` sets both).' },
  limit_item: { required: true, choices: ITEMS, description: 'The resource limited.' },
  value: { required: true, description: 'The limit: a number, or `unlimited`/`infinity`/`-1`; for `nice` and `priority` a number from -20 to 19.' },
  use_max: { type: 'bool', default: false, description: 'Keep the larger of the new and the existing value.' },
  use_min: { type: 'bool', default: false, description: 'Keep the smaller of the new and the existing value.' },
  backup: { type: 'bool', default: false, description: 'Keep a copy of the file before every run (also when nothing changes, as in Ansible), named in `backup_file`.' },
  dest: { default: '/etc/security/limits.conf', description: 'The limits file; for a drop-in, a file under `/etc/security/limits.d/`.' },
  comment: { default: '', description: 'A comment written after the limit (`\\t#comment`).' },
} as const satisfies Record<string, ArgSpec>;

type PamLimitsArgs = ArgsOf<typeof args>;

export const pamLimits = defineModule(
  {
    name: 'pam_limits',
    collection: 'community.general',
    doc: {
      short: 'Sets one limit (domain, type, item, value) in a limits.conf file.',
      description:
        "As community.general 6.6 (shipped with ansible-core 2.14) does it, quirks kept: a missing file is created empty (its directory must exist); every line of four fields is checked and an invalid one fails the task; the limit's line is rewritten as `domain<TAB>type<TAB>item<TAB>value`, and a comment found on an earlier line is carried over to the rewritten or added line (with its newline, which leaves an empty line after it); a new limit is appended after a last line that lacks a newline, on the same line. This version has no `create` argument (refused as unknown).",
      returns: '`msg`: the line of the limit as it now stands; `backup_file`.',
      checkMode: 'Predicts the change and writes nothing; a missing file counts as a change.',
      differences: ["Under `--check` a missing file is not created and no backup is made (Ansible's module does both even in check mode).", 'A file whose content would not change is not rewritten (Ansible replaces it by an identical copy).'],
    },
    args,
    checkMode: 'full',
    fsErrors: 'dest',
    diff: true,
  },
  edit,
);

// Ansible's check of a value: nice and priority take -20..19, the rest a count or "no limit".
function assertValid(item: string, value: string, prefix = ''): void {
  if (item === 'nice' || item === 'priority') {
    const n = pyInt(value);
    if (n === undefined || n < -20 || n > 19) {
      throw new ModuleFailure(`${prefix} Value of ${pyRepr(value)} for item ${pyRepr(item)} is invalid. Value must be a number in the range -20 to 19 inclusive. Refer to the limits.conf(5) manual pages for more details.`);
    }
  } else if (!(UNLIMITED.includes(value) || /^\p{Nd}+$/u.test(value))) {
    throw new ModuleFailure(
      `${prefix} Value of ${pyRepr(value)} for item ${pyRepr(item)} is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details.`,
    );
  }
}

// Python's int() of a string: surrounding whitespace, a sign, digits with single underscores between them.
function pyInt(text: string): number | undefined {
  const t = text.replace(WS_EDGES, '');
  if (!/^[+-]?[0-9]+(_[0-9]+)*$/.test(t)) return undefined;
  return Number(t.replaceAll('_', ''));
}

// Python's bytes iteration: lines end at '\n' and keep it.
function fileLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

async function edit(ctx: ModuleContext<PamLimitsArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  const { domain, limit_type: type, limit_item: item, value } = args;
  const file = await hostPathFollow(conn, args.dest);
  let changed = false;
  const st = await statOrUndefined(file);
  let text = '';
  if (st?.isFile()) {
    if (!(await writable(file))) return failed(`${args.dest} is not writable. Use sudo`);
    const decoded = decodeUtf8(await readFile(file));
    if (decoded === undefined) return failed(`MODULE FAILURE: ${args.dest} is not UTF-8 text ('utf-8' codec can't decode it)`);
    text = decoded;
  } else {
    const dir = posix.dirname(args.dest);
    const hostDir = await hostPathFollow(conn, dir);
    if (!(await statOrUndefined(hostDir))?.isDirectory() || !(await writable(hostDir))) {
      return failed(`directory ${dir} is not writable (check presence, access rights, use sudo)`);
    }
    if (!check) await writeFile(file, '', { flag: 'a' });
    changed = true;
  }
  if (args.use_max && args.use_min) return failed('Cannot use use_min and use_max at the same time.');

  let backup: string | undefined;
  const lines = fileLines(text);
  const out: string[] = [];
  let message = '';
  let found = false;
  let comment = args.comment;
  let newValue = value;
  assertValid(item, value);
  if (args.backup && !check) backup = st?.isFile() ? targetPathOf(conn, await backupFile(file)) : '';
  for (const line of lines) {
    if (line.startsWith('#')) {
      out.push(line);
      continue;
    }
    let stripped = line.replace(WS_RUN, ' ').replace(WS_EDGES, '');
    if (stripped === '') {
      out.push(line);
      continue;
    }
    stripped = (stripped.split('#')[0] as string).replace(new RegExp(`${WS}+$`), '');
    const hash = line.indexOf('#');
    // The module keeps the first comment it meets on any line (with its newline) for the lines it writes.
    if (comment === '') comment = hash === -1 ? '' : line.slice(hash + 1);
    const fields = stripped.split(' ');
    if (fields.length !== 4) {
      out.push(line);
      continue;
    }
    const [lineDomain, lineType, lineItem, actual] = fields as [string, string, string, string];
    assertValid(lineItem, actual, `Invalid configuration found in '${args.dest}'.`);
    if (lineDomain !== domain || lineType !== type || lineItem !== item) {
      out.push(line);
      continue;
    }
    found = true;
    if (value === actual) {
      message = line;
      out.push(line);
      continue;
    }
    // Ansible compares the limit type (never nice/priority) here, so "no limit" always counts.
    const actualUnlimited = UNLIMITED.includes(actual);
    const valueUnlimited = UNLIMITED.includes(value);
    if (args.use_max) {
      if (actualUnlimited) newValue = actual;
      else if (valueUnlimited) newValue = value;
      else newValue = String(Math.max(Number(pyInt(value)), Number(pyInt(actual))));
    }
    if (args.use_min) {
      if (actualUnlimited) newValue = valueUnlimited ? actual : value;
      else if (valueUnlimited) newValue = actual;
      else newValue = String(Math.min(Number(pyInt(value)), Number(pyInt(actual))));
    }
    if (newValue !== actual) {
      changed = true;
      if (comment !== '') comment = `\t#${comment}`;
      message = `${domain}\t${type}\t${item}\t${newValue}${comment}\n`;
      out.push(message);
    } else {
      message = line;
      out.push(line);
    }
  }
  if (!found) {
    changed = true;
    if (comment !== '') comment = `\t#${comment}`;
    message = `${domain}\t${type}\t${item}\t${newValue}${comment}\n`;
    out.push(message);
  }
  const after = out.join('');
  if (!check && after !== text) await atomicWrite(file, { data: Buffer.from(after, 'utf8') });
  const result: ModuleResult = { changed, msg: message };
  if (ctx.diff) result.diff = { before: universal(text), after: universal(after) };
  if (backup !== undefined) result.backup_file = backup;
  return result;
}

// The diff is read back in text mode, where \r\n and \r are newlines.
function universal(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

async function writable(host: string): Promise<boolean> {
  return access(host, constants.W_OK).then(
    () => true,
    () => false,
  );
}

// The module reads lines as strict UTF-8 and keeps a BOM as a character.
function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
