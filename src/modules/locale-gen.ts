// Enables (or disables) a locale in a Debian target tree and compiles it, as community.general.locale_gen does.
import { readFile, writeFile } from 'node:fs/promises';
import { defineModule } from './spec.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

// How `locale -a` may spell an encoding, and how locale.gen spells it.
const NORMALIZATION: readonly [string, string][] = [
  ['.utf8', '.UTF-8'],
  ['.eucjp', '.EUC-JP'],
  ['.iso885915', '.ISO-8859-15'],
  ['.cp1251', '.CP1251'],
  ['.koi8r', '.KOI8-R'],
  ['.armscii8', '.ARMSCII-8'],
  ['.euckr', '.EUC-KR'],
  ['.gbk', '.GBK'],
  ['.gb18030', '.GB18030'],
  ['.euctw', '.EUC-TW'],
];
const LOCALE_GEN = '/etc/locale.gen';
const SUPPORTED_D = '/var/lib/locales/supported.d/';
const UBUNTU_LOCAL = '/var/lib/locales/supported.d/local';

export const localeGen = defineModule(
  {
    name: 'locale_gen',
    collection: 'community.general',
    doc: {
      short: 'Enables or disables a locale in the target and runs `locale-gen` there.',
      description:
        "As community.general 6.6 (shipped with ansible-core 2.14) does it: the locale must be listed in the target's `/etc/locale.gen` (commented out or not); it counts as present when the target's `locale -a` lists it. To change it the locale's line of `/etc/locale.gen` is uncommented (or, for `absent`, commented out as `# NAME CHARSET`) and `locale-gen` runs in the target. A target with `/var/lib/locales/supported.d/` (Ubuntu's way) is handled as Ansible handles it: the name must be in `/usr/share/i18n/SUPPORTED`, `locale-gen NAME` adds it, and `absent` drops it from `supported.d/local` and runs `locale-gen --purge`. The target needs the `locales` package.",
      returns: '`name`, `msg` (`OK`).',
      checkMode: 'Runs `locale -a` in the target and reports whether the locale would change.',
      differences: [
        "On the local connection the target is the build host, whose locales an image build must never change: imgplay refuses (Ansible would change them).",
        'The name is used as a regular expression in the line substitution, as in Ansible; imgplay reads it as a JavaScript one (the same for locale names).',
      ],
    },
    args: {
      name: { required: true, description: 'The locale, as `/etc/locale.gen` names it, e.g. `de_CH.UTF-8`.' },
      state: { default: 'present', choices: ['absent', 'present'], description: 'Whether the locale is compiled.' },
    },
    checkMode: 'full',
  },
  async (ctx) => run(ctx),
);

function fixCase(name: string): string {
  return NORMALIZATION.reduce((n, [s, r]) => n.replaceAll(s, r), name);
}

async function read(ctx: ModuleContext<unknown>, path: string): Promise<string> {
  return readFile(await hostPathFollow(ctx.conn, path), 'utf8');
}

async function write(ctx: ModuleContext<unknown>, path: string, text: string): Promise<void> {
  await writeFile(await hostPathFollow(ctx.conn, path), text);
}

async function run(ctx: ModuleContext<{ name: string; state: 'absent' | 'present' }>): Promise<ModuleResult> {
  const { args, conn } = ctx;
  const { name, state } = args;
  if (conn.kind === 'local') {
    return failed("locale_gen on the local connection would change the build host's own locales: imgplay generates locales only in a chroot target");
  }
  const exists = async (p: string) => (await statOrUndefined(await hostPathFollow(conn, p))) !== undefined;
  let ubuntu: boolean;
  if (await exists(SUPPORTED_D)) ubuntu = true;
  else if (await exists(LOCALE_GEN)) ubuntu = false;
  else return failed('/etc/locale.gen and /var/lib/locales/supported.d/local are missing. Is the package "locales" installed?');

  // Listed in locale.gen, commented out or not (Ubuntu: in the list of supported locales).
  const listing = ubuntu ? /^(\S+_\S+) (\S+)\s*$/ : /^#?\s*(\S+_\S+) (\S+)\s*$/;
  const available = (await read(ctx, ubuntu ? '/usr/share/i18n/SUPPORTED' : LOCALE_GEN)).split(/(?<=\n)/).some((line) => listing.exec(line)?.[1] === name);
  if (!available) return failed("The locale you've entered is not available on your system.");

  const listed = await conn.exec(['locale', '-a'], { signal: ctx.signal });
  const present = listed.stdout.split(/\r\n|\r|\n/).some((l) => fixCase(l) === fixCase(name));
  const changed = (present ? 'present' : 'absent') !== state;
  if (ctx.check) return { changed };
  if (changed) {
    let argv: string[];
    if (!ubuntu) {
      // Ansible substitutes with the name as a pattern, anywhere in each line.
      const re = new RegExp(`#?\\s*${name} (?<charset>[^\\n]+)`, 'g');
      const text = await read(ctx, LOCALE_GEN);
      const edited = text
        .split(/(?<=\n)/)
        .map((line) => line.replace(re, (...m) => `${state === 'present' ? '' : '# '}${name} ${(m.at(-1) as { charset: string }).charset}`))
        .join('');
      await write(ctx, LOCALE_GEN, edited);
      argv = ['locale-gen'];
    } else if (state === 'present') {
      argv = ['locale-gen', name];
    } else {
      const lines = (await read(ctx, UBUNTU_LOCAL)).split(/(?<=\n)/).filter((l) => l !== '');
      const kept: string[] = [];
      for (const line of lines) {
        const parts = line.split(' ');
        if (parts.length !== 2) return failed(`MODULE FAILURE: ${UBUNTU_LOCAL} has a line that is not "locale charset": ${line.trim()}`);
        if (parts[0] !== name) kept.push(line);
      }
      await write(ctx, UBUNTU_LOCAL, kept.join(''));
      argv = ['locale-gen', '--purge'];
    }
    const r = await conn.exec(argv, { signal: ctx.signal });
    if (r.rc !== 0) return failed(`[Errno ${r.rc}] locale.gen failed to execute, it returned ${r.rc}`, { exitValue: r.rc, stdout: r.stdout, stderr: r.stderr });
  }
  return { name, changed, msg: 'OK' };
}
