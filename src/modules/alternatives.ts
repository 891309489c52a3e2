// Manages an alternative of the target's update-alternatives, as community.general.alternatives does.
import { type ArgSpec, defineModule } from './spec.js';
import { structuredDiff } from './support/diff.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

interface Subcommand {
  name: string;
  path: string;
  link: string;
}

interface Current {
  mode?: string;
  path?: string;
  link?: string;
  alternatives: Map<string, { priority: number; subcommands: { name: string; path: string; link: string | undefined }[] }>;
}

const args = {
  name: { required: true, description: 'The generic name, e.g. `editor`.' },
  path: { type: 'path', required: true, description: 'The alternative: the program the link should lead to.' },
  link: { type: 'path', description: 'The generic link, e.g. `/usr/bin/editor`; needed only to install an alternative whose group does not exist yet.' },
  priority: { type: 'int', description: 'Its priority (default: its current one, else 50).' },
  state: {
    choices: ['present', 'selected', 'auto', 'absent'],
    default: 'selected',
    description: '`present` installs it; `selected` also makes it the chosen one (manual mode); `auto` installs it and returns the group to automatic mode; `absent` removes it.',
  },
  subcommands: {
    type: 'list',
    elements: 'dict',
    aliases: ['slaves'],
    description: 'Followers installed with it: each a dict of `name`, `path` and `link`, all required.',
  },
} as const satisfies Record<string, ArgSpec>;

export const alternatives = defineModule(
  {
    name: 'alternatives',
    collection: 'community.general',
    doc: {
      short: "Installs, selects or removes an alternative with the target's `update-alternatives`.",
      description:
        "As community.general 6.6 (shipped with ansible-core 2.14) does it: the current state is read from `update-alternatives --display NAME` (with `LC_ALL=C`) in the target; the alternative is installed (`--install`) when it is missing or its priority or followers differ, then `--set` (state `selected`) or `--auto` (state `auto`, from manual mode), or `--remove` (state `absent`). The commands run inside the chroot, so they change only the tree's `/etc/alternatives` and `/var/lib/dpkg/alternatives`.",
      returns: "`msg`: Ansible's sentences, e.g. `Install alternative '/usr/bin/vim.basic' for 'editor'. Set alternative '/usr/bin/vim.basic' for 'editor'.`; `diff` of the state, path, priority, link and followers.",
      checkMode: 'Reads the current state and reports what it would change.',
      differences: ["On the local connection the target is the build host, whose alternatives an image build must never change: imgplay refuses (Ansible would change them)."],
    },
    args,
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => run(ctx),
);

// The sub-options Ansible's argument_spec declares for each follower.
function checkSubcommands(raw: unknown[] | undefined): Subcommand[] | string | undefined {
  if (raw === undefined) return undefined;
  const out: Subcommand[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return `Elements value for option 'subcommands' is of type ${typeof item} and we were unable to convert to dict`;
    const d = item as Record<string, unknown>;
    const unknown = Object.keys(d).filter((k) => !['name', 'path', 'link'].includes(k));
    if (unknown.length > 0) return `Unsupported parameters for (community.general.alternatives) module: ${unknown.sort().join(', ')} found in subcommands. Supported parameters include: link, name, path.`;
    const missing = ['name', 'path', 'link'].filter((k) => d[k] === undefined || d[k] === null);
    if (missing.length > 0) return `missing required arguments: ${missing.join(', ')} found in subcommands`;
    out.push({ name: String(d.name), path: String(d.path), link: String(d.link) });
  }
  return out;
}

type AltArgs = { name: string; path: string; link?: string | undefined; priority?: number | undefined; state: 'present' | 'selected' | 'auto' | 'absent'; subcommands?: Record<string, unknown>[] | undefined };

async function run(ctx: ModuleContext<AltArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  if (conn.kind === 'local') {
    return failed("alternatives on the local connection would change the build host's own alternatives: imgplay manages alternatives only in a chroot target");
  }
  const subParam = checkSubcommands(args.subcommands);
  if (typeof subParam === 'string') return failed(subParam);
  const exec = (argv: string[]) => conn.exec(argv, { env: { LC_ALL: 'C' }, signal: ctx.signal });
  const fail = (argv: string[], r: { rc: number; stdout: string; stderr: string }) => failed(r.stderr.replace(/\s+$/, ''), { rc: r.rc, cmd: argv.join(' '), stdout: r.stdout, stderr: r.stderr });

  const display = await exec(['update-alternatives', '--display', args.name]);
  const current = parse(display.rc === 0 ? display.stdout : undefined, subParam);
  const mine = current.alternatives.get(args.path);
  const link = args.link ?? current.link;
  const priority = args.priority ?? mine?.priority ?? 50;
  const subcommands = subParam ?? (mine !== undefined && mine.subcommands.length > 0 ? mine.subcommands : undefined);

  const before: Record<string, unknown> = {};
  let after: Record<string, unknown> = {};
  if (mine !== undefined) {
    Object.assign(before, { state: 'present', path: args.path, priority: mine.priority, link: current.link ?? null });
    if (mine.subcommands.length > 0) before.subcommands = mine.subcommands;
    if (current.mode === 'manual' && current.path !== args.path) before.state = 'selected';
  } else if (current.mode !== undefined) {
    before.state = 'absent';
  }

  const messages: string[] = [];
  let changed = false;
  const step = async (argv: string[], message: string): Promise<ModuleResult | undefined> => {
    changed = true;
    messages.push(message);
    if (check) return undefined;
    const r = await exec(argv);
    return r.rc === 0 ? undefined : fail(argv, r);
  };

  if (args.state !== 'absent') {
    const sameSubs = (a: readonly Subcommand[], b: readonly { name: string; path: string; link: string | undefined }[]) =>
      a.every((s) => b.some((t) => t.name === s.name && t.path === s.path && t.link === s.link)) && b.every((t) => a.some((s) => t.name === s.name && t.path === s.path && t.link === s.link));
    if (mine === undefined || (args.priority !== undefined && mine.priority !== args.priority) || (subParam !== undefined && !sameSubs(subParam, mine.subcommands))) {
      if ((await statOrUndefined(await hostPathFollow(conn, args.path))) === undefined) return failed(`Specified path ${args.path} does not exist`);
      if (link === undefined || link === '') return failed('Needed to install the alternative, but unable to do so as we are missing the link');
      const argv = ['update-alternatives', '--install', link, args.name, args.path, String(priority)];
      for (const s of subParam ?? []) argv.push('--slave', s.link, s.name, s.path);
      const bad = await step(argv, `Install alternative '${args.path}' for '${args.name}'.`);
      if (bad) return bad;
      after = { state: 'present', path: args.path, priority, link };
      if (subcommands !== undefined) after.subcommands = subcommands;
    }
    if (args.state === 'selected' && current.path !== args.path) {
      const bad = await step(['update-alternatives', '--set', args.name, args.path], `Set alternative '${args.path}' for '${args.name}'.`);
      if (bad) return bad;
      after.state = 'selected';
    }
    if (args.state === 'auto' && current.mode === 'manual') {
      const bad = await step(['update-alternatives', '--auto', args.name], `Set alternative to auto for '${args.name}'.`);
      if (bad) return bad;
      after.state = 'present';
    }
  } else if (mine !== undefined) {
    const bad = await step(['update-alternatives', '--remove', args.name, args.path], `Remove alternative '${args.path}' from '${args.name}'.`);
    if (bad) return bad;
    after = { state: 'absent' };
  }
  const out: ModuleResult = { changed, msg: messages.join(' ') };
  if (ctx.diff) out.diff = structuredDiff(before, after);
  return out;
}

function all(re: RegExp, text: string): RegExpExecArray[] {
  return [...text.matchAll(new RegExp(re.source, `${re.flags.replace('g', '')}g`))];
}

// What `update-alternatives --display` says, read with Ansible's patterns.
function parse(output: string | undefined, subParam: Subcommand[] | undefined): Current {
  const current: Current = { alternatives: new Map() };
  if (output === undefined) return current;
  const mode = /\s-\s(?:status\sis\s)?(\w*)(?:\smode|.)$/m.exec(output);
  if (mode === null) return current;
  current.mode = mode[1] as string;
  const path = /^\s*link currently points to (.*)$/m.exec(output);
  if (path !== null) current.path = path[1] as string;
  const link = /^\s*link \w+ is (.*)$/m.exec(output);
  if (link !== null) current.link = link[1] as string;
  let followerLinks = new Map(all(/^\s*(?:slave|follower) (\S+) is (.*)$/m, output).map((m) => [m[1] as string, m[2] as string]));
  if (followerLinks.size === 0 && subParam !== undefined && subParam.length > 0) followerLinks = new Map(subParam.map((s) => [s.name, s.link]));
  for (const m of all(/^(\/.*)\s-\s(?:family\s\S+\s)?priority\s(\d+)((?:\s+(?:slave|follower).*)*)/m, output)) {
    current.alternatives.set(m[1] as string, {
      priority: Number(m[2]),
      subcommands: all(/^\s+(?:slave|follower) (.*): (.*)$/m, m[3] as string)
        .filter((s) => s[2] !== '(null)')
        .map((s) => ({ name: s[1] as string, path: s[2] as string, link: followerLinks.get(s[1] as string) })),
    });
  }
  return current;
}
