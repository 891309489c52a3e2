// Preseeds a debconf answer in the target's database, as Ansible's debconf module does: reads the
// current answers with debconf-show and sets one with debconf-set-selections, both run on the target.
import { readFile } from 'node:fs/promises';
import { firstSet, boolArg, strArg } from './support/schema.js';
import { structuredDiff } from './support/diff.js';
import { hostPathFollow } from './support/target-path.js';
import { type Module, type ModuleResult, failed } from './types.js';

/** debconf's arguments, with Ansible's aliases (pkg, selection/setting, answer). */
export interface DebconfArgs {
  name?: string;
  pkg?: string;
  question?: string;
  selection?: string;
  setting?: string;
  vtype?: string;
  value?: string | string[];
  answer?: string | string[];
  unseen?: boolean;
}

const VTYPES = ['boolean', 'error', 'multiselect', 'note', 'password', 'seen', 'select', 'string', 'text', 'title'];

// Shown instead of a password in results and diffs, as Ansible masks no_log values.
const MASKED = '********';

// debconf-show prints this instead of a password; the real answer is only in passwords.dat.
const PASSWORD_OMITTED = '(password omitted)';

// debconf reads its own locale-independent output; keep the tools from asking questions on a terminal.
const DEBCONF_ENV = { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' };

export const debconf: Module<DebconfArgs> = {
  name: 'debconf',
  aliases: ['ansible.builtin.debconf', 'ansible.legacy.debconf'],
  schema: {
    type: 'object',
    properties: {
      name: strArg,
      pkg: strArg,
      question: strArg,
      selection: strArg,
      setting: strArg,
      vtype: { enum: VTYPES },
      // A list is a multiselect answer (newer Ansible takes one); anything else is text.
      value: { type: ['string', 'array'], items: strArg },
      answer: { type: ['string', 'array'], items: strArg },
      unseen: boolArg(false),
    },
    additionalProperties: false,
  },
  checkMode: true,
  diff: true,
  async run({ conn, args, check, diff, signal }) {
    const pkg = firstSet(args.name, args.pkg);
    if (pkg === undefined) return failed('missing required arguments: name');
    const question = firstSet(args.question, args.selection, args.setting);
    const rawValue = firstSet(args.value, args.answer);
    const vtype = args.vtype;
    const given = [question, vtype, rawValue].filter((v) => v !== undefined).length;
    if (given !== 0 && given !== 3) return failed('parameters are required together: question, vtype, value');
    if (/\s/.test(pkg)) return failed(`invalid package name '${pkg}': debconf owners are one word`);

    const shown = await conn.exec(['debconf-show', pkg], { env: DEBCONF_ENV, signal });
    if (shown.rc !== 0) return failed(`debconf-show ${pkg} failed on ${conn.describe()}: ${trimmed(shown.stderr || shown.stdout)}`, { rc: shown.rc });
    const prev = parseShow(shown.stdout);
    if (question === undefined || vtype === undefined || rawValue === undefined) {
      return { changed: false, msg: '', current: maskPasswords(prev) };
    }
    if (/\s/.test(question)) return failed(`invalid debconf question '${question}': it must be one word`);

    let value = Array.isArray(rawValue) ? rawValue.join(', ') : rawValue;
    if (vtype === 'boolean') value = value.toLowerCase();
    // A multi-line answer would become several selections; debconf answers are one line.
    if (value.includes('\n')) return failed(`invalid value for debconf question '${question}': it must be a single line`);
    let existing = prev.get(question);
    if (existing !== undefined && vtype === 'password' && existing === PASSWORD_OMITTED) {
      existing = await storedPassword(await hostPathFollow(conn, '/var/cache/debconf/passwords.dat'), question);
    }
    if (existing !== undefined && same(vtype, value, existing)) {
      return { changed: false, msg: '', current: maskPasswords(prev) };
    }

    let msg = '';
    if (!check) {
      const argv = ['debconf-set-selections', ...(args.unseen ? ['-u'] : [])];
      const set = await conn.exec(argv, { env: DEBCONF_ENV, stdin: `${pkg} ${question} ${vtype} ${value}\n`, signal });
      if (set.rc !== 0) {
        return failed(`debconf-set-selections could not set ${pkg} ${question} on ${conn.describe()}: ${trimmed(set.stderr || set.stdout)}`, { rc: set.rc });
      }
      msg = set.stdout;
    }
    const show = (v: string): string => (vtype === 'password' ? MASKED : v);
    const before = { [question]: existing === undefined ? '' : show(existing) };
    const after = { [question]: show(value) };
    const result: ModuleResult = { changed: true, msg, current: after, previous: before };
    if (diff) result.diff = structuredDiff(before, after);
    return result;
  },
};

/** debconf-show's "* question: answer" lines as a map (the star marks questions already seen). */
export function parseShow(stdout: string): Map<string, string> {
  const answers = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    answers.set(line.slice(0, colon).replace(/^[\s*]+/, '').trim(), line.slice(colon + 1).trim());
  }
  return answers;
}

// Booleans compare as debconf spells them; a multiselect is a set, so its order does not matter.
function same(vtype: string, wanted: string, existing: string): boolean {
  if (vtype === 'boolean') return wanted === existing.toLowerCase();
  if (vtype === 'multiselect') {
    const items = (s: string): string => s.split(',').map((i) => i.trim()).filter((i) => i !== '').sort().join(', ');
    return items(wanted) === items(existing);
  }
  return wanted === existing;
}

// debconf-show never prints passwords, so without this a password would be "changed" on every run.
async function storedPassword(host: string, question: string): Promise<string | undefined> {
  const text = await readFile(host, 'utf8').catch(() => '');
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const m = /^(\w+):\s?(.*)$/.exec(line);
      if (m) fields.set(m[1] as string, m[2] as string);
    }
    if (fields.get('Name') === question) return fields.get('Value') ?? '';
  }
  return undefined;
}

function maskPasswords(answers: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...answers].map(([q, v]) => [q, v === PASSWORD_OMITTED ? MASKED : v]));
}

// A tool's own complaint, cut to its last few lines so a failure stays readable.
function trimmed(text: string): string {
  const lines = text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
  return lines.slice(-3).join('\n') || '(no output)';
}
