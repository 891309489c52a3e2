// Enables, disables, masks and unmasks systemd units in an image the way `systemctl --root` does: by
// reading [Install] sections and making symlinks in the target's /etc/systemd/system. Nothing is
// started or stopped, and no systemd is asked, since the image is not running.
import { lstat, mkdir, readFile, readdir, readlink, symlink, unlink } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import type { Connection } from '../connection/types.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { lstatOrUndefined } from './support/target-path.js';
import { ModuleFailure } from './support/module-failure.js';
import { type ModuleContext, type ModuleResult, failed } from './types.js';

/** Where systemctl looks for unit files, in its order of precedence (Debian's systemd reads /lib before /usr/lib). */
const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];
/** Where enable and mask write. */
const CONFIG_DIR = '/etc/systemd/system';
const UNIT_TYPES = ['service', 'socket', 'target', 'timer', 'path', 'mount', 'automount', 'swap', 'slice', 'scope', 'device'];

/** A unit's [Install] section. */
export interface InstallInfo {
  wantedBy: string[];
  requiredBy: string[];
  alias: string[];
  also: string[];
  defaultInstance?: string;
}

/** A unit file found in the target. */
interface UnitFile {
  /** The unit file's path in the target (what enable's links point at). */
  path: string;
  install: InstallInfo;
  /** The name asked for is an alias link of another unit (is-enabled says 'alias'). */
  isAlias: boolean;
}

// What Ansible's systemd module warns in a chroot, where `systemctl show` is ignored and no unit runs.
export const CHROOT_WARNING = 'Target is a chroot or systemd is offline. This can lead to false positives or prevent the init system tools from working.';
// Why state is refused outside a chroot: the build host is not a target whose services imgplay runs.
const NOT_ON_THE_HOST = 'imgplay never starts, stops, restarts or reloads a service on the build host; in a chroot (the image) it warns as Ansible does and changes nothing.';
// What systemctl says in a chroot when it needs the bus of a running systemd (the tree has no /run/systemd/system).
const NO_SYSTEMD_BUS = "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down";
/** Where the chroot connection's PATH (and Ansible's get_bin_path) looks for systemctl. */
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** A refusal phrased as systemctl would, for Ansible's "Unable to <action> service" message; uncaught, the task fails with it. */
class SystemctlError extends ModuleFailure {}

const systemdArgs = {
  name: {
    aliases: ['service', 'unit'],
    description: 'Unit name; without a known type suffix `.service` is added, as systemctl does. Globs are refused.',
  },
  state: {
    choices: ['reloaded', 'restarted', 'started', 'stopped'],
    description:
      "What to do to the running unit. In a chroot (the image being built) no systemd runs: as Ansible there, the unit must exist, nothing is started or stopped, the task is ok (not changed) with Ansible's warning `" +
      CHROOT_WARNING +
      "`, and `state` is returned as asked. On the build host (the local connection) the task fails: " +
      NOT_ON_THE_HOST,
  },
  enabled: { type: 'bool', description: "Make (or remove) the unit's `[Install]` symlinks." },
  force: { type: 'bool', description: 'Replace a conflicting link when enabling (like `systemctl --force`).' },
  masked: { type: 'bool', description: 'Link `/etc/systemd/system/<unit>` to `/dev/null` (or remove that link).' },
  daemon_reload: {
    type: 'bool',
    default: false,
    aliases: ['daemon-reload'],
    description: "In a chroot it fails as Ansible's module does there (`failure 1 during daemon-reload: System has not been booted with systemd ...`: no systemd runs in the image), except in check mode, where Ansible skips it. On the build host nothing is done.",
  },
  daemon_reexec: {
    type: 'bool',
    default: false,
    aliases: ['daemon-reexec'],
    description: 'As `daemon_reload`, for `daemon-reexec`.',
  },
  scope: {
    default: 'system',
    choices: ['system', 'user', 'global'],
    refusedValues: { user: 'imgplay only manages system units of the image.', global: 'imgplay only manages system units of the image.' },
    description: 'Which units: only `system`.',
  },
  no_block: { type: 'bool', default: false, description: 'Accepted and ignored: nothing waits for a running systemd.' },
} as const satisfies Record<string, ArgSpec>;

// Why `use` names only systemd: the other managers' modules are not in imgplay.
const OTHER_MANAGER = "imgplay has only the systemd service manager (Ansible's systemd module); the image's services are systemd units.";

// Accepted by `service` because Ansible's service action drops them, with a warning, when it hands the task to systemd.
const ignoredByService = ['sleep', 'pattern', 'runlevel', 'arguments'] as const;

const serviceArgs = {
  ...systemdArgs,
  sleep: { type: 'int', description: 'Ignored with Ansible\'s warning, as its service action ignores it for systemd.' },
  pattern: { description: 'Ignored with Ansible\'s warning, as its service action ignores it for systemd.' },
  runlevel: { description: 'Ignored with Ansible\'s warning, as its service action ignores it for systemd.' },
  arguments: { aliases: ['args'], description: 'Ignored with Ansible\'s warning, as its service action ignores it for systemd.' },
  use: {
    refusedValues: { sysvinit: OTHER_MANAGER, service: OTHER_MANAGER, openwrt_init: OTHER_MANAGER, openrc: OTHER_MANAGER, upstart: OTHER_MANAGER, runit: OTHER_MANAGER },
    description: 'The service manager module to hand the task to: `auto` or `systemd` (the only one imgplay has). Any other is refused (the built-in ones at planning), with the reason.',
  },
} as const satisfies Record<string, ArgSpec>;

/** systemd's arguments, aliases folded (name for service/unit); service's extras are ignored here. */
type SystemdArgs = ArgsOf<typeof systemdArgs> & Partial<Record<(typeof ignoredByService)[number] | 'use', unknown>>;

const systemdDoc = {
  short: "Enables, disables, masks and unmasks systemd units in the image, as `systemctl --root` does.",
  description: `Works on files only, as \`systemctl --root=<target> enable|disable|mask|unmask\` does (the unit tests compare the links with the real \`systemctl --root\` when the build host has one). The unit file is looked up in the target's \`/etc/systemd/system\`, \`/run/systemd/system\`, \`/usr/local/lib/systemd/system\`, \`/lib/systemd/system\`, \`/usr/lib/systemd/system\` (Debian's order: on a merged-/usr tree links point into \`/lib/systemd/system\`, as systemctl's do); enabling reads its \`[Install]\` section and makes \`/etc/systemd/system/<T>.wants/<unit>\` (\`WantedBy=\`), \`<T>.requires/<unit>\` (\`RequiredBy=\`) and \`/etc/systemd/system/<alias>\` (\`Alias=\`), each pointing at the unit file's absolute path in the target, and does the same for the units named by \`Also=\`. Disabling removes those links (any \`.wants\`/\`.requires\` link of the unit, its aliases, and its \`Also=\` units' links). A template (\`foo@.service\`) is enabled as its \`DefaultInstance=\`; an instance (\`foo@eth0.service\`) links to the template file; a template without \`DefaultInstance=\` and no instance is refused, as are \`%\` specifiers in \`[Install]\`.

Whether a unit counts as enabled follows Ansible's reading of \`systemctl is-enabled\`: enabled or static (no installation config) is enabled; alias, indirect (only \`Also=\`), disabled and masked are not. Masking a unit the target does not have works, as with systemctl.`,
  returns:
    "`changed`, `name`, `enabled` (when given), `masked` (when given), `state` (when given) and, in a chroot, `status: {}` (systemctl ignores `show` there, so Ansible's status is empty too). Errors read as Ansible's: `Could not find the requested service X: host`, `Failed to find required executable \"systemctl\" in paths: ...`, `System has not been booted with systemd as init system (PID 1). Can't operate.` (in a chroot, for a unit the tree does not have, whatever the task asks), `Unable to enable service X: Failed to enable unit: Unit file /etc/systemd/system/X.service is masked.` As in Ansible, a mask systemctl refuses (a unit file of that name in `/etc/systemd/system`) is reported as a change and leaves the file as it is.",
  checkMode: 'Predicts the change and links nothing.',
  differences: [
    "Nothing is started, stopped, reloaded or asked of a running systemd. In a chroot `state` behaves as Ansible's module there: the unit must exist, the task is ok with Ansible's chroot warning. On the build host (local connection) a task with `state` fails, where Ansible would act on the host's services.",
    "Outside a chroot Ansible's `status` (the `systemctl show` properties) is not returned; `masked` is returned, Ansible does not.",
    'As in Ansible, `enabled: true` on a static unit (no `[Install]`) is ok and unchanged, and `enabled: false` on one reports changed on every run (systemctl would do nothing).',
    "A service with an `/etc/init.d` script (and the target's `systemd-sysv-install`) gets its rc.d links in step when enabled or disabled, as Debian's systemctl does (`update-rc.d` run in the target); for a script alone, whether it is enabled is `systemd-sysv-install is-enabled`'s answer. For `state` in a chroot an `/etc/init.d` script counts as the service, as in Ansible.",
  ],
} as const;

const systemdRules = {
  fsErrors: true,
  requiredOneOf: [['state', 'enabled', 'masked', 'daemon_reload', 'daemon_reexec']],
  requiredBy: { state: ['name'], enabled: ['name'], masked: ['name'] },
  checkMode: 'full',
} as const;

export const systemd = defineModule({ name: 'systemd', doc: systemdDoc, args: systemdArgs, ...systemdRules }, runSystemd);

/** The same module under the name `systemd_service`, as Ansible 2.14 has it (the same spec). */
export const systemdService = defineModule(
  {
    name: 'systemd_service',
    doc: { short: 'The `systemd` module under its newer name (the same arguments and behaviour).' },
    args: systemdArgs,
    ...systemdRules,
  },
  runSystemd,
);

/** `service`: on a systemd image Ansible's service action hands the task to systemd, and so does imgplay. */
export const service = defineModule(
  {
    name: 'service',
    doc: {
      short: "Manages a service through the `systemd` module, as Ansible's service action does on a systemd system.",
      description: "Ansible's service action picks the systemd backend on systemd systems and drops `sleep`, `pattern`, `runlevel` and `arguments` with a warning; imgplay does the same, and then behaves as `systemd`.",
      differences: [
        '`use` other than `auto` or `systemd` is refused: imgplay has no other service manager.',
        "Ansible picks the manager from the `service_mgr` fact: a tree without systemd (no `/sbin/init` link to systemd) would get Ansible's sysvinit module; imgplay always uses systemd, and in a chroot fails as Ansible's systemd module does when the tree has no `systemctl`.",
      ],
    },
    args: serviceArgs,
    ...systemdRules,
  },
  runSystemd,
);

async function runSystemd(ctx: ModuleContext<SystemdArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  const name = args.name;
  // Ansible's service action lowercases `use` before it picks the module.
  const use = typeof args.use === 'string' ? args.use.toLowerCase() : undefined;
  if (use !== undefined && use !== 'auto' && use !== 'systemd') return failed(`use=${String(args.use)} is not supported by imgplay: ${OTHER_MANAGER}`);
  if (args.state !== undefined && conn.kind !== 'chroot') {
    return failed(`state=${args.state} is not supported by imgplay on ${conn.describe()}: ${NOT_ON_THE_HOST}`);
  }
  // Ansible's service action prints these itself, so they are the run's warnings, not the result's.
  for (const k of ignoredByService) if (args[k] !== undefined) process.emitWarning(`Ignoring "${k}" as it is not used in "systemd"`, { code: 'IMGPLAY_ARGUMENT' });
  if (name !== undefined && /[*?[]/.test(name)) return failed('This module does not currently support using glob patterns, found \'' + name.match(/[*?[]/)?.[0] + "' in service name: " + name);
  // Ansible's module needs the target's systemctl before it does anything; in a chroot that is the tree's.
  if (conn.kind === 'chroot' && !(await hasSystemctl(conn))) return failed(`Failed to find required executable "systemctl" in paths: ${BIN_DIRS.join(':')}`);
  // daemon_reload and daemon_reexec talk to a running systemd: in a chroot systemctl finds none and fails,
  // and so does Ansible's module (not in check mode, where it skips them); on the build host they are not done.
  if (conn.kind === 'chroot' && !check) {
    for (const [arg, verb] of [['daemon_reload', 'daemon-reload'], ['daemon_reexec', 'daemon-reexec']] as const) {
      if (args[arg]) return failed(`failure 1 during ${verb}: ${NO_SYSTEMD_BUS}\n`);
    }
  }
  // In a chroot systemctl cannot `show` a unit, so Ansible's status is empty there.
  const result: ModuleResult = {
    changed: false,
    ...(name === undefined ? {} : { name }),
    ...(conn.kind === 'chroot' ? { status: {} } : {}),
  };
  if (name === undefined) return result;
  const unit = mangle(name);
  // In a chroot Ansible's module looks a unit up with is-enabled and list-unit-files, and when neither
  // knows it asks the bus (bare `systemctl`), which is not there: whatever the task, it fails so.
  if (conn.kind === 'chroot' && !(await knownUnit(conn, unit, name))) {
    const systemctl = await systemctlPath(conn);
    return failed(NO_SYSTEMD_BUS, { cmd: systemctl, rc: 1, stdout: '', stderr: `${NO_SYSTEMD_BUS}\n` });
  }
  if (args.masked !== undefined) {
    const masked = await isMasked(conn, unit);
    result.masked = args.masked;
    if (masked !== args.masked) {
      result.changed = true;
      // Ansible's module overlooks a failed mask or unmask of a unit it found (systemctl refusing to mask a
      // unit file in /etc is reported as a change); only a unit it did not find fails.
      if (!check) {
        await (args.masked ? mask(conn, unit) : unmask(conn, unit)).catch(async (err: unknown) => {
          if (!(err instanceof SystemctlError)) throw err;
          if (!(await knownUnit(conn, unit, name))) throw new SystemctlError(`Could not find the requested service ${name}: host`, { changed: true });
        });
      }
    }
  }
  if (args.enabled !== undefined) {
    const found = await findUnit(conn, unit);
    const sysv = await sysvScript(conn, unit);
    if (found === undefined && sysv === undefined) return failed(`Could not find the requested service ${name}: host`);
    // Ansible's reading of `systemctl is-enabled`: exit 0 means enabled, except for aliases and indirect units.
    // A native unit decides; for an init script alone systemctl asks systemd-sysv-install.
    const enabled = found !== undefined ? ['enabled', 'static'].includes(await unitState(conn, unit, found)) : await sysvEnabled(conn, sysv as SysvScript);
    result.enabled = enabled;
    if (enabled !== args.enabled) {
      result.changed = true;
      if (!check) {
        const action = args.enabled ? 'enable' : 'disable';
        try {
          if (found !== undefined && args.enabled) await enable(conn, unit, found, args.force ?? false);
          else if (found !== undefined) await disable(conn, unit, found);
          // As systemctl, a service that also has an init script gets its rc.d links in step (update-rc.d).
          if (sysv !== undefined) await sysvInstall(conn, sysv, action);
        } catch (err) {
          if (err instanceof SystemctlError) return failed(`Unable to ${action} service ${name}: ${err.message}`, { changed: true });
          throw err;
        }
      }
      result.enabled = args.enabled;
    }
  }
  if (args.state !== undefined) {
    // Only a chroot gets here, and with a unit it knows: nothing runs, so nothing is started or stopped, and Ansible says so.
    result.state = args.state;
    result.warnings = [CHROOT_WARNING];
  }
  return result;
}

// The helper Debian's systemctl runs for a service with an /etc/init.d script (it calls update-rc.d).
const SYSV_INSTALL = ['/lib/systemd/systemd-sysv-install', '/usr/lib/systemd/systemd-sysv-install'];
interface SysvScript {
  name: string;
  helper: string;
}

/** A service's init script and the target's systemd-sysv-install, when it has both (else systemctl leaves rc.d alone). */
async function sysvScript(conn: Connection, unit: string): Promise<SysvScript | undefined> {
  if (!unit.endsWith('.service') || unit.includes('@')) return undefined;
  const name = unit.slice(0, -'.service'.length);
  if (!(await initScript(conn, name))) return undefined;
  const helper = await firstFile(conn, SYSV_INSTALL);
  return helper === undefined ? undefined : { name, helper };
}

async function sysvEnabled(conn: Connection, s: SysvScript): Promise<boolean> {
  return (await conn.exec([s.helper, 'is-enabled', s.name])).rc === 0;
}

async function sysvInstall(conn: Connection, s: SysvScript, action: 'enable' | 'disable'): Promise<void> {
  const r = await conn.exec([s.helper, action, s.name]);
  if (r.rc !== 0) throw new SystemctlError(`${s.helper} ${action} ${s.name} failed (rc ${r.rc}): ${r.stderr.trim() || r.stdout.trim()}`);
}

/** Where the chroot's PATH finds the target's systemctl, if it has one. */
async function systemctlPath(conn: Connection): Promise<string | undefined> {
  return firstFile(conn, BIN_DIRS.map((dir) => `${dir}/systemctl`));
}

// The first of these target paths that is there and no directory.
async function firstFile(conn: Connection, paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    const st = await lstatOrUndefined(await conn.hostPath(path)).catch(() => undefined);
    if (st !== undefined && !st.isDirectory()) return path;
  }
  return undefined;
}

async function hasSystemctl(conn: Connection): Promise<boolean> {
  return (await systemctlPath(conn)) !== undefined;
}

/** A unit systemctl knows offline: a unit file (a template's for an instance), a mask, or an init script. */
async function knownUnit(conn: Connection, unit: string, name: string): Promise<boolean> {
  return (await findUnit(conn, unit)) !== undefined || (await isMasked(conn, unit)) || (await initScript(conn, name));
}

/** Whether /etc/init.d has a script of that name (Ansible counts one as the service). */
async function initScript(conn: Connection, name: string): Promise<boolean> {
  if (name.includes('/')) return false;
  const st = await lstatOrUndefined(await conn.hostPath(`/etc/init.d/${name}`)).catch(() => undefined);
  return st !== undefined && !st.isDirectory();
}

/** A unit name as systemctl completes it: `sshd` means `sshd.service`. */
export function mangle(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && UNIT_TYPES.includes(name.slice(dot + 1)) ? name : `${name}.service`;
}

/** For `foo@bar.service`: the template file `foo@.service` and the instance `bar` ('' for the template itself). */
function templateParts(unit: string): { template: string; instance: string } | undefined {
  const m = /^([^@]+)@([^.]*)(\.[^.]+)$/.exec(unit);
  return m === null ? undefined : { template: `${m[1]}@${m[3]}`, instance: m[2] as string };
}

async function hostOf(conn: Connection, path: string): Promise<string> {
  return conn.hostPath(path, { followLast: false });
}

/** True if the unit's link in /etc/systemd/system points at /dev/null. */
async function isMasked(conn: Connection, unit: string): Promise<boolean> {
  const host = await hostOf(conn, `${CONFIG_DIR}/${unit}`);
  const st = await lstatOrUndefined(host);
  return st?.isSymbolicLink() === true && (await readlink(host)) === '/dev/null';
}

async function mask(conn: Connection, unit: string): Promise<void> {
  const path = `${CONFIG_DIR}/${unit}`;
  const host = await hostOf(conn, path);
  const st = await lstatOrUndefined(host);
  // systemctl refuses to hide a unit file the administrator wrote in /etc behind a mask.
  if (st !== undefined && !st.isSymbolicLink()) throw new SystemctlError(`Failed to mask unit: File ${path} already exists.`);
  if (st !== undefined) await unlink(host);
  await mkdir(dirname(host), { recursive: true });
  await symlink('/dev/null', host);
}

async function unmask(conn: Connection, unit: string): Promise<void> {
  await unlink(await hostOf(conn, `${CONFIG_DIR}/${unit}`));
}

/** Finds a unit's file (a template's for an instance) in the target, skipping masks, as systemctl does. */
async function findUnit(conn: Connection, unit: string): Promise<UnitFile | undefined> {
  const file = templateParts(unit)?.template ?? unit;
  for (const dir of UNIT_DIRS) {
    const path = `${dir}/${file}`;
    const host = await hostOf(conn, path);
    const st = await lstatOrUndefined(host);
    if (st === undefined) continue;
    let real = path;
    if (st.isSymbolicLink()) {
      const to = await readlink(host);
      if (to === '/dev/null') continue;
      real = posix.resolve(dir, to);
    }
    const text = await readFile(await conn.hostPath(real)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (text === undefined || (await lstat(await conn.hostPath(real))).isDirectory()) continue;
    return { path: real, install: parseInstall(text.toString('utf8')), isAlias: posix.basename(real) !== file };
  }
  return undefined;
}

/** The [Install] section of a unit file (continuation lines joined, an empty assignment resets a list). */
export function parseInstall(text: string): InstallInfo {
  const info: InstallInfo = { wantedBy: [], requiredBy: [], alias: [], also: [] };
  const lists: Record<string, string[]> = { WantedBy: info.wantedBy, RequiredBy: info.requiredBy, Alias: info.alias, Also: info.also };
  let inInstall = false;
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    if (l.startsWith('[')) {
      inInstall = l === '[Install]';
      continue;
    }
    const eq = l.indexOf('=');
    if (!inInstall || eq < 0) continue;
    const key = l.slice(0, eq).trim();
    const value = l.slice(eq + 1).trim();
    if (key === 'DefaultInstance') {
      if (value === '') delete info.defaultInstance;
      else info.defaultInstance = value;
      continue;
    }
    const list = lists[key];
    if (list === undefined) continue;
    if (value === '') list.length = 0;
    else list.push(...value.split(/\s+/));
  }
  return info;
}

function hasInstallConfig(install: InstallInfo, isTemplate: boolean): boolean {
  return install.wantedBy.length + install.requiredBy.length + install.alias.length + install.also.length > 0 || (isTemplate && install.defaultInstance !== undefined);
}

/** The links `systemctl enable` makes for a unit: link path -> what it points at. */
function installLinks(unit: string, found: UnitFile): Map<string, string> {
  const links = new Map<string, string>();
  const parts = templateParts(unit);
  let instance = unit;
  if (parts !== undefined && parts.instance === '') {
    if (found.install.defaultInstance === undefined) {
      throw new SystemctlError(`Failed to enable unit: ${unit} is a template without DefaultInstance=; name an instance (${unit.replace('@', '@NAME')})`);
    }
    instance = unit.replace('@', `@${found.install.defaultInstance}`);
  }
  const all = [...found.install.wantedBy, ...found.install.requiredBy, ...found.install.alias];
  const specifier = all.find((v) => v.includes('%'));
  if (specifier !== undefined) throw new SystemctlError(`Failed to enable unit: imgplay does not expand the specifier in '${specifier}' of ${found.path}`);
  for (const t of found.install.wantedBy) links.set(`${CONFIG_DIR}/${t}.wants/${instance}`, found.path);
  for (const t of found.install.requiredBy) links.set(`${CONFIG_DIR}/${t}.requires/${instance}`, found.path);
  for (const a of found.install.alias) links.set(`${CONFIG_DIR}/${a}`, found.path);
  return links;
}

/** `systemctl is-enabled`, for the states Ansible tells apart. */
async function unitState(conn: Connection, unit: string, found: UnitFile): Promise<'masked' | 'alias' | 'enabled' | 'static' | 'indirect' | 'disabled'> {
  if (await isMasked(conn, unit)) return 'masked';
  if (found.isAlias) return 'alias';
  const parts = templateParts(unit);
  if (!hasInstallConfig(found.install, parts !== undefined)) return 'static';
  const instance = parts?.instance === '' && found.install.defaultInstance !== undefined ? unit.replace('@', `@${found.install.defaultInstance}`) : unit;
  if ((await existingLinks(conn, instance, found)).length > 0) return 'enabled';
  if (found.install.wantedBy.length + found.install.requiredBy.length + found.install.alias.length === 0) return 'indirect';
  return 'disabled';
}

/** The links in /etc/systemd/system that enable a unit: in any .wants/.requires directory, or its aliases. */
async function existingLinks(conn: Connection, instance: string, found: UnitFile): Promise<string[]> {
  const out: string[] = [];
  const configHost = await hostOf(conn, CONFIG_DIR);
  const dirs = await readdir(configHost).catch(() => [] as string[]);
  for (const d of dirs) {
    if (!/\.(wants|requires)$/.test(d)) continue;
    const path = `${CONFIG_DIR}/${d}/${instance}`;
    if ((await lstatOrUndefined(await hostOf(conn, path)))?.isSymbolicLink()) out.push(path);
  }
  for (const a of found.install.alias) {
    const path = `${CONFIG_DIR}/${a}`;
    const host = await hostOf(conn, path);
    if ((await lstatOrUndefined(host))?.isSymbolicLink() && posix.basename(await readlink(host)) === posix.basename(found.path)) out.push(path);
  }
  return out;
}

/** The units an enable or disable covers: the unit and, transitively, those its Also= names. */
async function withAlso(conn: Connection, unit: string, found: UnitFile): Promise<[string, UnitFile][]> {
  const seen = new Map<string, UnitFile>([[unit, found]]);
  const queue = [...found.install.also];
  while (queue.length > 0) {
    const other = mangle(queue.shift() as string);
    if (seen.has(other)) continue;
    const f = await findUnit(conn, other);
    if (f === undefined) throw new SystemctlError(`Failed to enable unit: Unit ${other} does not exist.`);
    seen.set(other, f);
    queue.push(...f.install.also);
  }
  return [...seen];
}

async function enable(conn: Connection, unit: string, found: UnitFile, force: boolean): Promise<void> {
  if (await isMasked(conn, unit)) throw new SystemctlError(`Failed to enable unit: Unit file ${CONFIG_DIR}/${unit} is masked.`);
  const links = new Map<string, string>();
  for (const [u, f] of await withAlso(conn, unit, found)) for (const [k, v] of installLinks(u, f)) links.set(k, v);
  // Check every link before making any, so a refusal leaves the tree as it was.
  const todo: [string, string][] = [];
  for (const [path, to] of links) {
    const host = await hostOf(conn, path);
    const st = await lstatOrUndefined(host);
    if (st === undefined) {
      todo.push([host, to]);
      continue;
    }
    const current = st.isSymbolicLink() ? await readlink(host) : undefined;
    if (current === to) continue;
    if (!force || current === undefined) {
      throw new SystemctlError(`Failed to enable unit: File ${path} already exists${current === undefined ? '' : ` and is a symlink to ${current}`}.`);
    }
    await unlink(host);
    todo.push([host, to]);
  }
  for (const [host, to] of todo) {
    await mkdir(dirname(host), { recursive: true });
    await symlink(to, host);
  }
}

async function disable(conn: Connection, unit: string, found: UnitFile): Promise<void> {
  for (const [u, f] of await withAlso(conn, unit, found)) {
    const parts = templateParts(u);
    const instance = parts?.instance === '' && f.install.defaultInstance !== undefined ? u.replace('@', `@${f.install.defaultInstance}`) : u;
    for (const path of await existingLinks(conn, instance, f)) await unlink(await hostOf(conn, path));
  }
}
