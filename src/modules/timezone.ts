// Sets the timezone of a Debian target tree, as community.general.timezone does on a Linux system without a
// usable timedatectl (a chroot has none: timedatectl needs the running systemd, which is the build host's).
import { isFalseWord, isTrueWord } from '../jinja/values.js';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { defineModule } from './spec.js';
import { structuredDiff } from './support/diff.js';
import { hostPathFollow, hostPathNoFollow, lstatOrUndefined, statOrUndefined } from './support/target-path.js';
import { ModuleFailure } from './support/module-failure.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const TIMEZONE_FILE = '/etc/timezone';
const LOCALTIME = '/etc/localtime';
// Where Ansible's get_bin_path looks: PATH and the sbin directories.
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export const timezone = defineModule(
  {
    name: 'timezone',
    collection: 'community.general',
    doc: {
      short: "Sets the timezone of a Debian target (chroot): `/etc/timezone`, the `/etc/localtime` link, and tzdata's own record.",
      description:
        "A chroot has no usable `timedatectl` (it talks to the running systemd, the build host's), so Ansible's module takes its path for Linux without systemd, Debian branch, and so does imgplay: the zone must exist as `/usr/share/zoneinfo/NAME` in the tree; the current zone is the first word of `/etc/timezone`, checked against the `/etc/localtime` link (or, for a file, its content); to change it the first zone line of `/etc/timezone` is replaced (other zone lines dropped), then `ln -sf /usr/share/zoneinfo/NAME /etc/localtime` and `dpkg-reconfigure --frontend noninteractive tzdata` run inside the chroot, and the zone is read back. As in Ansible, the target must have `hwclock` and `dpkg-reconfigure`.",
      returns: '`msg`: `Added 1 line and deleted N line(s) on /etc/timezone` after a change; `diff` (`before`/`after` of `name`, `hwclock`).',
      checkMode: 'Reads the current zone and reports whether it would change.',
      differences: [
        "On the local connection the target is the build host itself, whose timezone an image build must never change: imgplay refuses (Ansible would change it, through `timedatectl` when systemd runs).",
        "A `hwclock` that needs changing is refused outside check mode: Ansible edits `/etc/default/rcS` and runs `hwclock --systohc`, which in a chroot would set the build host's hardware clock. A `hwclock` that already holds (from `/etc/default/rcS`, then `/etc/adjtime`) is fine.",
        "Targets without `dpkg-reconfigure` (Ansible's Red Hat, SUSE, Alpine and Gentoo branches) are refused with the reason.",
      ],
    },
    args: {
      name: { description: 'The zone, e.g. `Europe/Paris` or `Etc/UTC` (a file under `/usr/share/zoneinfo` in the target).' },
      hwclock: { choices: ['local', 'UTC'], aliases: ['rtc'], description: 'Whether the hardware clock keeps local time or UTC (see the differences).' },
    },
    requiredOneOf: [['hwclock', 'name']],
    checkMode: 'full',
    diff: true,
  },
  run,
);

type Key = 'hwclock' | 'name';

// Ansible's abort(): the message, then the steps already taken.
function abort(msg: string, steps: string[] = []): never {
  const lines = ['Error message:', msg];
  if (steps.length > 0) lines.push('Other message(s):', ...steps);
  throw new ModuleFailure(lines.join('\n'));
}

async function readText(ctx: ModuleContext<unknown>, path: string): Promise<string | undefined> {
  const host = await hostPathFollow(ctx.conn, path);
  return readFile(host, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    if (err.code === 'EISDIR') abort(`tried to configure using a file "${path}", but could not read it`);
    throw err;
  });
}

async function findBin(ctx: ModuleContext<unknown>, name: string): Promise<string | undefined> {
  for (const dir of BIN_DIRS) {
    const st = await statOrUndefined(await hostPathFollow(ctx.conn, `${dir}/${name}`));
    if (st?.isFile() && (st.mode & 0o111) !== 0) return `${dir}/${name}`;
  }
  return undefined;
}

async function run(ctx: ModuleContext<{ name?: string | undefined; hwclock?: 'local' | 'UTC' | undefined }>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  if (conn.kind === 'local') {
    return failed("timezone on the local connection would change the build host's own timezone: imgplay sets a timezone only in a chroot target");
  }
  const planned: Partial<Record<Key, string>> = {};
  // The order of Ansible's argument_spec, which is the order it reads and changes them in.
  if (args.hwclock !== undefined) planned.hwclock = args.hwclock;
  if (args.name !== undefined) planned.name = args.name;

  let tzfile: string | undefined;
  if (args.name !== undefined) {
    tzfile = `/usr/share/zoneinfo/${args.name}`;
    if (!(await statOrUndefined(await hostPathFollow(conn, tzfile)))?.isFile()) abort(`given timezone "${args.name}" is not available`);
  }
  if ((await findBin(ctx, 'hwclock')) === undefined) return failed(`Failed to find required executable "hwclock" in paths: ${BIN_DIRS.join(':')}`);
  const dpkgReconfigure = await findBin(ctx, 'dpkg-reconfigure');
  if (dpkgReconfigure === undefined) {
    return failed('timezone: imgplay implements the Debian way of Ansible\'s module (dpkg-reconfigure tzdata); this target has no dpkg-reconfigure, and the Red Hat, SUSE, Alpine and Gentoo ways are not implemented in imgplay');
  }

  const get = async (key: Key, phase: 'before' | 'after'): Promise<string> => (key === 'name' ? currentZone(ctx, planned.name as string, phase) : currentHwclock(ctx, planned.hwclock as string));
  const before: Partial<Record<Key, string>> = {};
  for (const key of Object.keys(planned) as Key[]) before[key] = await get(key, 'before');
  const differs = (state: Partial<Record<Key, string>>) => (Object.keys(planned) as Key[]).some((k) => state[k] !== planned[k]);

  if (check) {
    const out: ModuleResult = { changed: differs(before) };
    if (ctx.diff) out.diff = structuredDiff(before, planned);
    return out;
  }
  if (planned.hwclock !== undefined && before.hwclock !== planned.hwclock) {
    return failed(
      `hwclock: changing the hardware clock setting (${before.hwclock} to ${planned.hwclock}) runs \`hwclock --systohc\`, which in a chroot would set the build host's hardware clock; imgplay does not do that`,
    );
  }
  const steps: string[] = [];
  if (planned.name !== undefined && before.name !== planned.name) {
    steps.push(await editZoneFile(ctx, `${planned.name}\n`));
    for (const argv of [
      ['ln', '-sf', tzfile as string, LOCALTIME],
      [dpkgReconfigure, '--frontend', 'noninteractive', 'tzdata'],
    ]) {
      const r = await conn.exec(argv, { signal: ctx.signal });
      if (r.rc !== 0) return failed(r.stderr.trim() === '' ? r.stdout : r.stderr, { rc: r.rc, cmd: argv.join(' '), stdout: r.stdout, stderr: r.stderr });
    }
  }
  const after: Partial<Record<Key, string>> = {};
  for (const key of Object.keys(planned) as Key[]) after[key] = await get(key, 'after');
  if (differs(after)) abort(`still not desired state, though changes have made - planned: ${pyDict(planned)}, after: ${pyDict(after)}`, steps);
  const out: ModuleResult = { changed: differs(before) };
  if (steps.length > 0) out.msg = steps.join('\n');
  if (ctx.diff) out.diff = structuredDiff(before, after);
  return out;
}

function pyDict(d: Partial<Record<Key, string>>): string {
  return `{${Object.entries(d)
    .map(([k, v]) => `'${k}': '${v}'`)
    .join(', ')}}`;
}

// The zone as Ansible reads it: the first word of /etc/timezone, which only counts if /etc/localtime agrees.
async function currentZone(ctx: ModuleContext<unknown>, planned: string, phase: 'before' | 'after'): Promise<string> {
  const text = await readText(ctx, TIMEZONE_FILE);
  if (text === undefined) return 'n/a';
  const m = /^([^\s]+)/m.exec(text);
  if (m === null) {
    if (phase === 'before') return 'n/a';
    abort(`tried to configure name using a file "${TIMEZONE_FILE}", but could not find a valid value in it`);
  }
  const value = m[1] as string;
  if (value !== planned) return value;
  const link = await hostPathNoFollow(ctx.conn, LOCALTIME);
  const lst = await lstatOrUndefined(link);
  if (lst?.isSymbolicLink()) {
    if ((await statOrUndefined(await hostPathFollow(ctx.conn, LOCALTIME))) === undefined) return 'n/a';
    const zone = /(?:\/(?:usr\/share|etc)\/zoneinfo\/)(.*)/.exec(await readlink(link));
    if (zone === null) return 'n/a';
    return zone[1] !== planned ? (zone[1] as string) : value;
  }
  // A copied zone file must have the zone's content.
  const [a, b] = await Promise.all([
    readFile(link).catch(() => undefined),
    hostPathFollow(ctx.conn, `/usr/share/zoneinfo/${planned}`).then((p) => readFile(p).catch(() => undefined)),
  ]);
  return a !== undefined && b !== undefined && a.equals(b) ? value : 'n/a';
}

// hwclock as Ansible reads it on Debian: UTC= in /etc/default/rcS, then the third line of /etc/adjtime.
async function currentHwclock(ctx: ModuleContext<unknown>, planned: string): Promise<string> {
  const rcs = await readText(ctx, '/etc/default/rcS');
  let value = 'n/a';
  const m = rcs === undefined ? null : /^UTC\s*=\s*([^\s]+)/m.exec(rcs);
  if (m !== null) {
    const word = (m[1] as string).toLowerCase();
    if (!isTrueWord(word) && !isFalseWord(word)) abort(`The value '${m[1]}' is not a valid boolean.`);
    value = isTrueWord(word) ? 'UTC' : 'local';
  }
  if (value !== planned) return value;
  const adjtime = await readText(ctx, '/etc/adjtime');
  const a = adjtime === undefined ? null : /^(UTC|LOCAL)$/m.exec(adjtime);
  return a === null || a[1] === 'UTC' ? 'UTC' : 'local';
}

// Replaces the first zone line of /etc/timezone and drops the others, as Ansible's _edit_file does.
async function editZoneFile(ctx: ModuleContext<unknown>, line: string): Promise<string> {
  const host = await hostPathFollow(ctx.conn, TIMEZONE_FILE);
  const text = (await readText(ctx, TIMEZONE_FILE)) ?? '';
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const matched = lines.flatMap((l, i) => (/^[^\s]/.test(l) ? [i] : []));
  const at = matched[0] ?? 0;
  for (const i of [...matched].reverse()) lines.splice(i, 1);
  lines.splice(at, 0, line);
  await writeFile(host, lines.join(''));
  return `Added 1 line and deleted ${matched.length} line(s) on ${TIMEZONE_FILE}`;
}
