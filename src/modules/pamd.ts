// Edits a rule of a PAM service file (/etc/pam.d/<name>) on the target, as community.general.pamd does:
// hardening roles use it to drop pam_motd, add pam_faillock, tighten arguments.
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { atomicWrite } from '../host/atomic-write.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { sourceDateEpoch } from './support/artifact.js';
import { backupFile } from './support/backup.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { hostPathFollow, targetPathOf } from './support/target-path.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const VALID_TYPES = ['account', '-account', 'auth', '-auth', 'password', '-password', 'session', '-session'] as const;
const SIMPLE_CONTROLS = ['required', 'requisite', 'sufficient', 'optional', 'include', 'substack', 'definitive'];
const CONTROL_VALUES = [
  'success', 'open_err', 'symbol_err', 'service_err', 'system_err', 'buf_err', 'perm_denied', 'auth_err', 'cred_insufficient',
  'authinfo_unavail', 'user_unknown', 'maxtries', 'new_authtok_reqd', 'acct_expired', 'session_err', 'cred_unavail', 'cred_expired',
  'cred_err', 'no_module_data', 'conv_err', 'authtok_err', 'authtok_recover_err', 'authtok_lock_busy', 'authtok_disable_aging',
  'try_again', 'ignore', 'abort', 'authtok_expired', 'module_unknown', 'bad_item', 'conv_again', 'incomplete', 'default',
];
const CONTROL_ACTIONS = ['ignore', 'bad', 'die', 'ok', 'done', 'reset'];

const args = {
  name: { required: true, description: 'The service: the file `PATH/NAME` (e.g. `sshd`, `common-auth`).' },
  type: { required: true, choices: VALID_TYPES, description: 'The type of the rule to find.' },
  control: { required: true, description: 'The control of the rule to find: a keyword (`required`) or a bracketed list (`[success=1 default=ignore]`), as the module writes it.' },
  module_path: { required: true, description: 'The module of the rule to find (`pam_motd.so`).' },
  new_type: { choices: VALID_TYPES, description: 'For `updated`: the new type; for `before`/`after`: the inserted rule\'s type.' },
  new_control: { description: 'For `updated`: the new control; for `before`/`after`: the inserted rule\'s control.' },
  new_module_path: { description: 'For `updated`: the new module; for `before`/`after`: the inserted rule\'s module.' },
  module_arguments: { type: 'list', elements: 'str', description: 'For `updated`: the rule\'s whole argument list; for `before`/`after`: the inserted rule\'s; for `args_present`/`args_absent`: the arguments to add (a `key=value` replaces the key\'s value) or remove.' },
  state: {
    choices: ['absent', 'after', 'args_absent', 'args_present', 'before', 'updated'],
    default: 'updated',
    description: '`updated` changes each matching rule; `before`/`after` insert a new rule next to each matching rule unless that rule is already there (comments and blank lines are skipped over; `after` the last rule appends at the end of the file); `args_present`/`args_absent` edit arguments; `absent` removes every matching rule.',
  },
  path: { type: 'path', default: '/etc/pam.d', description: 'The directory of the service files.' },
  backup: { type: 'bool', default: false, description: 'Keep a copy of the file before a change (`backupdest`).' },
} as const satisfies Record<string, ArgSpec>;

type PamdArgs = ArgsOf<typeof args>;

export const pamd = defineModule(
  {
    name: 'pamd',
    collection: 'community.general',
    doc: {
      short: 'Adds, updates or removes a rule of a PAM service file on the target.',
      description:
        'As community.general.pamd (6.x): the file is read into comments, `@include` lines, blank lines and rules (`type control module args`); the rules that match `type`, `control` and `module_path` are edited as `state` says; every line is checked (a rule\'s type and control, a comment or include must start at the first column) and the file is written again, each rule as `TYPE` padded to 11 columns, then the control, module and arguments. As the module does, a changed file gets the line `# Updated by Ansible - <time>` as its second line (replacing an earlier one).',
      returns: '`changed`, `change_count` (how many rules changed), `backupdest` (the backup\'s path, or `\'\'`).',
      checkMode: 'Reports the changes and writes nothing.',
      differences: [
        'The time in the `# Updated by Ansible` line is `SOURCE_DATE_EPOCH` (UTC; the task\'s `environment` or imgplay\'s own, as the image modules read it) when it is set, so images stay reproducible; otherwise the controller\'s local time, as the module writes it.',
        '`args_present` adds new arguments in the order given (the module adds them in Python\'s set order, which varies between runs).',
      ],
    },
    args,
    checkMode: 'full',
    requiredIf: [
      ['state', 'args_present', ['module_arguments']],
      ['state', 'args_absent', ['module_arguments']],
      ['state', 'before', ['new_control', 'new_type', 'new_module_path']],
      ['state', 'after', ['new_control', 'new_type', 'new_module_path']],
    ],
  },
  run,
);

type Line = { kind: 'comment' | 'include' | 'empty'; text: string } | Rule;
interface Rule {
  kind: 'rule';
  type: string;
  /** A keyword, or the items of a bracketed control. */
  control: string | string[];
  path: string;
  args: string[];
}

const RULE = /(-?(?:auth|account|session|password))\s+(\[.*\]|\S*)\s+(\S*)\s*(.*)\s*/;

/** A list of PAM module arguments as the module splits them: bracketed groups whole, else by spaces. */
function parseArgs(value: readonly string[] | string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (list.length === 1 && !list[0]) return [];
  return list.flatMap((a) => (a.match(/\[.*\]|\S+/g) ?? []).filter(Boolean));
}

function parseControl(control: string): string | string[] {
  return control.startsWith('[') ? control.replaceAll(' = ', '=').replaceAll('[', '').replaceAll(']', '').split(' ') : control;
}

function controlText(control: string | string[]): string {
  return Array.isArray(control) ? `[${control.join(' ')}]` : control;
}

function makeRule(type: string, control: string, path: string, ruleArgs: readonly string[] | string | null | undefined): Rule {
  return { kind: 'rule', type, control: parseControl(control), path, args: parseArgs(ruleArgs) };
}

function ruleText(r: Rule): string {
  const head = `${r.type.padEnd(11)}${controlText(r.control)} ${r.path}`;
  return r.args.length > 0 ? `${head} ${r.args.join(' ')}` : head;
}

function matches(line: Line | undefined, type: string, control: string, path: string): boolean {
  return line?.kind === 'rule' && line.type === type && controlText(line.control) === control && line.path === path;
}

// Why a line would make the module fail, if it would.
function invalid(line: Line): string | undefined {
  if (line.kind !== 'rule') {
    const ok = line.kind === 'empty' ? line.text.trim() === '' : line.text.startsWith(line.kind === 'comment' ? '#' : '@include');
    return ok ? undefined : `Rule is not valid ${line.text}`;
  }
  const text = ruleText(line);
  if (!(VALID_TYPES as readonly string[]).includes(line.type)) return `Rule type, ${line.type}, is not valid in rule ${text}`;
  if (typeof line.control === 'string') return SIMPLE_CONTROLS.includes(line.control) ? undefined : `Rule control, ${line.control}, is not valid in rule ${text}`;
  for (const c of line.control) {
    const [value, action] = c.split('=') as [string, string | undefined];
    if (!CONTROL_VALUES.includes(value)) return `Rule control value, ${value}, is not valid in rule ${text}`;
    if (action === undefined || (!CONTROL_ACTIONS.includes(action) && !/^\+?\d+$/.test(action))) return `Rule control action, ${action}, is not valid in rule ${text}`;
  }
  return undefined;
}

function parseService(content: string): Line[] | string {
  const lines: Line[] = [];
  const texts = content === '' ? [] : content.split(/\r\n|\r|\n/);
  if (/[\r\n]$/.test(content)) texts.pop();
  for (const text of texts) {
    if (text.trimStart().startsWith('#')) lines.push({ kind: 'comment', text });
    else if (text.trimStart().startsWith('@include')) lines.push({ kind: 'include', text });
    else if (text.trim() === '') lines.push({ kind: 'empty', text });
    else {
      const m = RULE.exec(text);
      if (m === null) return `This line is neither a comment, an include nor a PAM rule: ${text}`;
      lines.push(makeRule(m[1] as string, m[2] as string, m[3] as string, m[4] as string));
    }
  }
  return lines;
}

const skipped = (l: Line | undefined) => l?.kind === 'comment' || l?.kind === 'empty';

// Each state's edit of the lines: how many rules it changed.
function edit(lines: Line[], a: PamdArgs): number {
  const found = lines.filter((l): l is Rule => matches(l, a.type, a.control, a.module_path));
  let changes = 0;
  switch (a.state) {
    case 'absent': {
      const kept = lines.filter((l) => !found.includes(l as Rule));
      changes = lines.length - kept.length;
      lines.splice(0, lines.length, ...kept);
      break;
    }
    case 'updated': {
      const newArgs = a.module_arguments === undefined || a.module_arguments === null ? undefined : parseArgs(a.module_arguments);
      for (const r of found) {
        let changed = false;
        if (a.new_type && r.type !== a.new_type) [r.type, changed] = [a.new_type, true];
        if (a.new_control && controlText(r.control) !== a.new_control) [r.control, changed] = [parseControl(a.new_control), true];
        if (a.new_module_path && r.path !== a.new_module_path) [r.path, changed] = [a.new_module_path, true];
        if (newArgs !== undefined && r.args.join('\0') !== newArgs.join('\0')) [r.args, changed] = [newArgs, true];
        if (changed) changes++;
      }
      break;
    }
    case 'before':
    case 'after': {
      const [nt, nc, np] = [a.new_type as string, a.new_control as string, a.new_module_path as string];
      for (const r of found) {
        const at = lines.indexOf(r);
        const step = a.state === 'before' ? -1 : 1;
        let j = at + step;
        while (j >= 0 && j < lines.length && skipped(lines[j])) j += step;
        const neighbour = lines[j];
        if (neighbour !== undefined && matches(neighbour, nt, nc, np)) continue;
        const rule = makeRule(nt, nc, np, a.module_arguments);
        // After the last rule of the file, the module appends at the very end (past trailing comments).
        if (a.state === 'before') lines.splice(at, 0, rule);
        else if (neighbour === undefined) lines.push(rule);
        else lines.splice(at + 1, 0, rule);
        changes++;
      }
      break;
    }
    case 'args_present': {
      const wanted = parseArgs(a.module_arguments).filter((x) => !x.startsWith('['));
      for (const r of found) {
        const keyOf = (x: string) => (x.includes('=') ? x.slice(0, x.indexOf('=')) : undefined);
        let changed = false;
        for (const w of wanted) {
          const key = keyOf(w);
          const i = key === undefined ? r.args.indexOf(w) : r.args.findIndex((x) => !x.startsWith('[') && keyOf(x) === key);
          if (i < 0) {
            r.args.push(w);
            changed = true;
          } else if (key !== undefined && r.args[i] !== w) {
            r.args[i] = w;
            changed = true;
          }
        }
        if (changed) changes++;
      }
      break;
    }
    case 'args_absent': {
      const unwanted = parseArgs(a.module_arguments);
      for (const r of found) {
        if (!r.args.some((x) => unwanted.includes(x))) continue;
        r.args = r.args.filter((x) => !unwanted.includes(x));
        changes++;
      }
      break;
    }
  }
  return changes;
}

// The file's new text, with the module's mark as its second line.
function render(lines: Line[], now: string): string {
  const out = lines.map((l) => (l.kind === 'rule' ? ruleText(l) : l.text));
  const mark = `# Updated by Ansible - ${now}`;
  if (out.length <= 1) out.splice(0, 0, '', mark);
  else if (out[1]?.startsWith('# Updated by Ansible')) out[1] = mark;
  else out.splice(1, 0, mark);
  return `${out.join('\n')}\n`;
}

// Python's datetime.now().isoformat(): local time with microseconds; at SOURCE_DATE_EPOCH (UTC, whole seconds) when set.
function isoNow(epoch: number | undefined): string {
  if (epoch !== undefined) return new Date(epoch * 1000).toISOString().slice(0, 19);
  const now = new Date();
  return `${new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 23)}000`;
}

async function run(ctx: ModuleContext<PamdArgs>): Promise<ModuleResult> {
  const { args: a, conn, check } = ctx;
  const fname = posix.join(a.path, a.name);
  const host = await hostPathFollow(conn, fname);
  let content: string;
  try {
    content = await readFile(host, 'utf8');
  } catch (err) {
    if (!isFsError(err)) throw err;
    return failed(`Unable to open/read PAM module file ${fname} with error ${describeFsError(err, fname)}.`);
  }
  if (a.state === 'args_present' && parseArgs(a.module_arguments).some((x) => x.startsWith('['))) {
    return failed("Unable to process bracketed '[' complex arguments with 'args_present'. Please use 'updated'.");
  }
  const lines = parseService(content);
  if (typeof lines === 'string') return failed(lines);
  const changes = edit(lines, a);
  for (const l of lines) {
    const why = invalid(l);
    if (why !== undefined) return failed(why);
  }
  const result: ModuleResult = { changed: changes > 0, change_count: changes, backupdest: '' };
  if (!check && changes > 0) {
    if (a.backup) result.backupdest = targetPathOf(conn, await backupFile(host));
    await atomicWrite(host, { data: Buffer.from(render(lines, isoNow(sourceDateEpoch(ctx.environment))), 'utf8') });
  }
  return result;
}
