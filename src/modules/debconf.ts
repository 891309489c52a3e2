// Preseeds a debconf answer in the target's database, as Ansible's debconf module does: reads the
// current answers with debconf-show and sets one with debconf-set-selections, both run on the target.
import { readFile } from 'node:fs/promises';
import { defineModule } from './spec.js';
import { structuredDiff } from './support/diff.js';
import { hostPathFollow } from './support/target-path.js';
import { type ModuleResult, failed } from './types.js';

// Shown instead of a password in results and diffs, as Ansible masks no_log values.
const MASKED = '********';

// debconf-show prints this instead of a password; the real answer is only in passwords.dat.
const PASSWORD_OMITTED = '(password omitted)';

// debconf reads its own locale-independent output; keep the tools from asking questions on a terminal.
const DEBCONF_ENV = { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' };

export const debconf = defineModule(
  {
    name: 'debconf',
    doc: {
      short: "Preseeds one debconf answer in the target's database.",
      description: `Reads the package's answers with \`debconf-show NAME\` and sets one with \`debconf-set-selections\` (the line on stdin), both run inside the target, never on the build host. \`changed\` only when the answer differs.

Comparison: booleans compare lower-cased (\`True\` equals \`true\`, and \`true\` is written); multiselect answers compare as sets (\`b, a\` equals \`a, b\`); passwords compare against the target's \`/var/cache/debconf/passwords.dat\`, since \`debconf-show\` prints \`(password omitted)\`.`,
      returns:
        '`current` (the question and its new answer, or every answer of the package when nothing changes), `previous` (the old answer, `\'\'` when unanswered), `msg`, and under `--diff` the old and new answer as JSON.',
      checkMode: 'Predicts the change and sets nothing.',
      differences: [
        'Multiselect order is ignored and a list value is taken, as in later Ansible; 2.14 compares the text (its `value` is a str).',
        'Passwords are compared with the stored one (2.14 reports `changed` on every run), and are shown as `********` in `current`, `previous` and the diff.',
        '`previous` and the diff hold only the question asked about (2.14 lists every answer of the package when the question is new).',
        'An answer with a newline is refused (it would become several selections).',
      ],
    },
    args: {
      name: { required: true, aliases: ['pkg'], description: "The package owning the question (`debconf-show`'s argument)." },
      question: { aliases: ['selection', 'setting'], description: 'The question, e.g. `tzdata/Areas`. Without it the task only reports `current`.' },
      vtype: { choices: ['boolean', 'error', 'multiselect', 'note', 'password', 'seen', 'select', 'string', 'text', 'title'], description: 'The type of the answer.' },
      // raw, not str: a list is a multiselect answer, as newer Ansible takes it.
      value: { type: 'raw', aliases: ['answer'], description: 'The answer; a list is a multiselect answer (joined with `, `).' },
      unseen: { type: 'bool', default: false, description: 'Pass `-u` so the question is not marked as seen.' },
    },
    requiredTogether: [['question', 'vtype', 'value']],
    checkMode: 'full',
    diff: true,
  },
  async ({ conn, args, check, diff, signal }) => {
    const pkg = args.name;
    const question = args.question;
    const vtype = args.vtype;
    const rawValue = answerText(args.value);
    if (rawValue === null) return failed('value must be text or a list of answers, not a mapping');
    if (/\s/.test(pkg)) return failed(`invalid package name '${pkg}': debconf owners are one word`);

    const shown = await conn.exec(['debconf-show', pkg], { env: DEBCONF_ENV, signal });
    if (shown.rc !== 0) return failed(`debconf-show ${pkg} failed on ${conn.describe()}: ${trimmed(shown.stderr || shown.stdout)}`, { rc: shown.rc });
    const prev = parseShow(shown.stdout);
    if (question === undefined || vtype === undefined || rawValue === undefined) {
      return { changed: false, msg: '', current: maskPasswords(prev) };
    }
    if (/\s/.test(question)) return failed(`invalid debconf question '${question}': it must be one word`);

    let value = rawValue;
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
);

// The answer as text: a list joins as a multiselect answer; a mapping has no text (null).
function answerText(v: unknown): string | undefined | null {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String).join(', ');
  if (typeof v === 'object') return null;
  return String(v);
}

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
