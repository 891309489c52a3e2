// Enables, disables, masks and unmasks systemd units in an image the way `systemctl --root` does: by
// reading [Install] sections and making symlinks in the target's /etc/systemd/system. Nothing is
// started or stopped, and no systemd is asked, since the image is not running.
import { lstat, mkdir, readFile, readdir, readlink, symlink, unlink } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import type { Connection } from '../connection/types.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { boolArg, firstSet, strArg } from './support/schema.js';
import { lstatOrUndefined } from './support/target-path.js';
import { type Module, type ModuleResult, failed } from './types.js';

/** systemd's arguments as they arrive; name has the aliases service and unit. */
export interface SystemdArgs {
  name?: string;
  service?: string;
  unit?: string;
  enabled?: boolean;
  masked?: boolean;
  state?: string;
  daemon_reload: boolean;
  daemon_reexec: boolean;
  scope: 'system' | 'user' | 'global';
  no_block: boolean;
  force?: boolean;
}

/** Where systemctl looks for unit files, in its order of precedence. */
const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];
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

/** A refusal phrased as systemctl would, for Ansible's "Unable to <action> service" message. */
class SystemctlError extends Error {}

const schema = {
  type: 'object',
  properties: {
    name: strArg,
    service: strArg,
    unit: strArg,
    enabled: boolArg(),
    masked: boolArg(),
    state: { enum: ['reloaded', 'restarted', 'started', 'stopped'] },
    daemon_reload: boolArg(false),
    daemon_reexec: boolArg(false),
    scope: { enum: ['system', 'user', 'global'], default: 'system' },
    no_block: boolArg(false),
    force: boolArg(),
  },
  additionalProperties: false,
};

export const systemd: Module<SystemdArgs> = {
  name: 'systemd',
  aliases: ['ansible.builtin.systemd', 'ansible.legacy.systemd'],
  schema,
  checkMode: true,
  async run(ctx) {
    const { args, conn, check } = ctx;
    const name = firstSet(args.name, args.service, args.unit);
    if (args.state === undefined && args.enabled === undefined && args.masked === undefined && !args.daemon_reload && !args.daemon_reexec) {
      return failed('one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec');
    }
    for (const key of ['state', 'enabled', 'masked'] as const) {
      if (args[key] !== undefined && name === undefined) return failed(`missing parameter(s) required by '${key}': name`);
    }
    if (args.state !== undefined) {
      return failed(`state=${args.state} is not supported: imgplay never starts or stops services while building an image (use enabled to have the service start when the image boots)`);
    }
    if (args.scope !== 'system') return failed(`scope=${args.scope} is not supported: imgplay only manages system units of the image`);
    // daemon_reload and daemon_reexec talk to a running systemd; the image has none, so they are done.
    const result: ModuleResult = { changed: false, ...(name === undefined ? {} : { name }) };
    if (name === undefined) return result;
    if (/[*?[]/.test(name)) return failed('This module does not currently support using glob patterns, found \'' + name.match(/[*?[]/)?.[0] + "' in service name: " + name);
    const unit = mangle(name);
    try {
      if (args.masked !== undefined) {
        const masked = await isMasked(conn, unit);
        result.masked = args.masked;
        if (masked !== args.masked) {
          result.changed = true;
          if (!check) await (args.masked ? mask(conn, unit) : unmask(conn, unit)).catch(unable(args.masked ? 'mask' : 'unmask', name));
        }
      }
      if (args.enabled !== undefined) {
        const found = await findUnit(conn, unit);
        if (found === undefined) return failed(`Could not find the requested service ${name}: host`);
        const state = await unitState(conn, unit, found);
        // Ansible's reading of `systemctl is-enabled`: exit 0 means enabled, except for aliases and indirect units.
        const enabled = state === 'enabled' || state === 'static';
        result.enabled = enabled;
        if (enabled !== args.enabled) {
          result.changed = true;
          if (!check) {
            const action = args.enabled ? 'enable' : 'disable';
            try {
              if (args.enabled) await enable(conn, unit, found, args.force ?? false);
              else await disable(conn, unit, found);
            } catch (err) {
              if (err instanceof SystemctlError) return failed(`Unable to ${action} service ${name}: ${err.message}`, { changed: true });
              throw err;
            }
          }
          result.enabled = args.enabled;
        }
      }
      return result;
    } catch (err) {
      if (err instanceof SystemctlError) return failed(err.message, { changed: result.changed });
      if (isFsError(err)) return failed(describeFsError(err));
      throw err;
    }
  },
};

/** The same module under the names `systemd_service` and `service`, which playbooks use for the same job. */
export const systemdService: Module<SystemdArgs> = {
  ...systemd,
  name: 'systemd_service',
  aliases: ['ansible.builtin.systemd_service', 'ansible.legacy.systemd_service'],
};

/** `service`: on an image that boots systemd this is systemd's job (Ansible picks the systemd backend there too). */
export const service: Module<SystemdArgs> = {
  ...systemd,
  name: 'service',
  aliases: ['ansible.builtin.service', 'ansible.legacy.service'],
};

function unable(action: string, name: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof SystemctlError) throw new SystemctlError(`Unable to ${action} service ${name}: ${err.message}`);
    throw err;
  };
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
