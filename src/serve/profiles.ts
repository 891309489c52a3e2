// Boot profiles: which kernel, initrd, base and overlays a machine gets, chosen by its MAC. A profiles
// file (YAML) holds a `default` profile, named `groups` of MACs, and named `profiles` matched by MAC
// or group; whatever a profile leaves out comes from the default. Without a file the default is the
// newest kernel version with a kernel, an initrd and a base in the folder, plus the discovery overlay.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { didYouMean, ImgplayError, ValidationError, type SourcePos } from '../errors.js';
import { loadYamlFile, posOf, posOfKey } from '../yaml/load.js';
import { type BuildsFolder, defaultSet, overlayFile } from './artifacts.js';
import { normalizeMac } from './mac.js';

/** What a profile says, before the default fills it in. */
export interface ProfileSpec {
  kernel?: string;
  initrd?: string;
  base?: string;
  overlays?: string[];
  args?: string;
  /** Put API_CB=<server> on the command line (where the discovery overlay POSTs the catalog). */
  api_cb?: boolean;
  /** SYSLOGSERVER=: true means this server's host, a string names another host. */
  syslog?: boolean | string;
}

/** A profiles file as written. */
export interface ProfilesFile {
  default?: ProfileSpec;
  groups?: Record<string, string[]>;
  profiles?: Record<string, ProfileSpec & { macs?: string[]; groups?: string[] }>;
}

/** One profile with every choice made. */
export interface Profile {
  name: string;
  kernel: string | undefined;
  initrd: string | undefined;
  base: string | undefined;
  overlays: string[];
  args: string;
  apiCb: boolean;
  syslog: boolean | string;
}

/** The profiles of a server and the MACs that pick them. */
export interface ProfileSet {
  default: Profile;
  named: Profile[];
  /** MAC (lower-case colon form) -> profile name, from the profiles' own `macs`. */
  byMac: Map<string, string>;
  /** MAC -> profile name, through the profiles' `groups`. */
  byGroup: Map<string, string>;
}

const specProperties = {
  kernel: { type: 'string', minLength: 1 },
  initrd: { type: 'string', minLength: 1 },
  base: { type: 'string', minLength: 1 },
  overlays: { type: 'array', items: { type: 'string', minLength: 1 } },
  args: { type: 'string' },
  api_cb: { type: 'boolean' },
  syslog: { type: ['boolean', 'string'] },
} as const;

const schema = {
  type: 'object',
  properties: {
    default: { type: 'object', properties: specProperties, additionalProperties: false },
    groups: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    profiles: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { ...specProperties, macs: { type: 'array', items: { type: 'string' } }, groups: { type: 'array', items: { type: 'string' } } },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

// Compiled when first needed: every imgplay command loads this file, only `serve` reads profiles.
let compiled: ValidateFunction | undefined;
const validator = () => (compiled ??= new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }).compile(schema));

const SPEC_KEYS = Object.keys(specProperties);

// The YAML node an ajv instance path points at, and the key within its parent.
function walk(data: unknown, instancePath: string): { parent: unknown; key: string | undefined; node: unknown } {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let parent: unknown;
  let node = data;
  let key: string | undefined;
  for (const p of parts) {
    parent = node;
    key = p;
    node = (node as Record<string, unknown> | undefined)?.[p];
  }
  return { parent, key, node };
}

function positionOf(data: unknown, e: ErrorObject, file: string): SourcePos {
  const { parent, key, node } = walk(data, e.instancePath);
  if (e.keyword === 'additionalProperties') return posOfKey(node, (e.params as { additionalProperty: string }).additionalProperty) ?? posOf(node) ?? { file, line: 1, col: 1 };
  const pos = Array.isArray(parent) ? posOf(parent) : key !== undefined ? posOfKey(parent, key) : posOf(node);
  return pos ?? { file, line: 1, col: 1 };
}

function describe(e: ErrorObject): { message: string; hint?: string } {
  const where = e.instancePath === '' ? 'the profiles file' : e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    const known = e.instancePath === '' ? ['default', 'groups', 'profiles'] : e.instancePath === '/default' ? SPEC_KEYS : [...SPEC_KEYS, 'macs', 'groups'];
    const near = didYouMean(key, known);
    return { message: `${where}: unknown key '${key}'`, hint: near ? `did you mean '${near}'?` : `known keys: ${known.join(', ')}` };
  }
  // YAML 1.1 reads an all-digit MAC such as 52:54:00:00:00:01 as a base-60 number, 525400000001 as a decimal one.
  if (e.keyword === 'type' && /^\/(?:profiles\/[^/]+\/macs|groups\/[^/]+)\/\d+$/.test(e.instancePath)) {
    return { message: `${where} must be a MAC address in quotes`, hint: "YAML reads unquoted MACs made only of digits as numbers: write \"52:54:00:00:00:01\"" };
  }
  return { message: `${where} ${e.message ?? e.keyword}` };
}

/** Checks a parsed profiles file; ValidationError at the offending key's file:line:col. */
export function parseProfiles(data: unknown, file: string): ProfilesFile {
  if (data === null || data === undefined) return {};
  const validate = validator();
  if (!validate(data)) {
    const e = validate.errors![0]!;
    const { message, hint } = describe(e);
    throw new ValidationError(`${file}: ${message}`, { pos: positionOf(data, e, file), hint });
  }
  const spec = data as ProfilesFile;
  const groups = spec.groups ?? {};
  const bad = (container: unknown, key: string, message: string): never => {
    throw new ValidationError(`${file}: ${message}`, { pos: posOfKey(container, key) ?? posOf(container) ?? { file, line: 1, col: 1 } });
  };
  for (const [name, macs] of Object.entries(groups)) {
    for (const m of macs) if (normalizeMac(m) === undefined) bad(groups, name, `groups.${name}: '${m}' is not a MAC address`);
  }
  const owner = new Map<string, string>();
  for (const [name, p] of Object.entries(spec.profiles ?? {})) {
    if (name === 'default') bad(spec.profiles, name, "profiles.default: 'default' is the top-level default profile; name this one differently");
    for (const m of p.macs ?? []) {
      const mac = normalizeMac(m);
      if (mac === undefined) bad(p, 'macs', `profiles.${name}.macs: '${m}' is not a MAC address`);
      const other = owner.get(mac!);
      if (other !== undefined && other !== name) bad(p, 'macs', `profiles.${name}.macs: ${mac} is already listed by profile ${other}`);
      owner.set(mac!, name);
    }
    for (const g of p.groups ?? []) {
      if (!(g in groups)) {
        const near = didYouMean(g, Object.keys(groups));
        throw new ValidationError(`${file}: profiles.${name}.groups: no group named '${g}'`, {
          pos: posOfKey(p, 'groups') ?? { file, line: 1, col: 1 },
          hint: near ? `did you mean '${near}'?` : undefined,
        });
      }
    }
  }
  return spec;
}

/** Loads and checks a profiles file. */
export async function loadProfiles(file: string): Promise<ProfilesFile> {
  return parseProfiles(await loadYamlFile(file), file);
}

function complete(name: string, spec: ProfileSpec, base: Profile): Profile {
  return {
    name,
    kernel: spec.kernel ?? base.kernel,
    initrd: spec.initrd ?? base.initrd,
    base: spec.base ?? base.base,
    overlays: spec.overlays?.map(overlayFile) ?? base.overlays,
    args: spec.args ?? base.args,
    apiCb: spec.api_cb ?? base.apiCb,
    syslog: spec.syslog ?? base.syslog,
  };
}

/** Fills every profile in from the builds folder: the built-in default, then the file's default, then each profile. */
export function resolveProfiles(file: ProfilesFile, folder: BuildsFolder): ProfileSet {
  const set = defaultSet(folder);
  const builtIn: Profile = {
    name: 'default',
    kernel: set.kernel,
    initrd: set.initrd,
    base: set.base,
    overlays: folder.artifacts.has('discovery.overlay.cpio.gz') ? ['discovery.overlay.cpio.gz'] : [],
    args: '',
    apiCb: true,
    syslog: false,
  };
  const dflt = complete('default', file.default ?? {}, builtIn);
  const named: Profile[] = [];
  const byMac = new Map<string, string>();
  const byGroup = new Map<string, string>();
  for (const [name, spec] of Object.entries(file.profiles ?? {})) {
    named.push(complete(name, spec, dflt));
    for (const m of spec.macs ?? []) byMac.set(normalizeMac(m)!, name);
    for (const g of spec.groups ?? []) {
      for (const m of file.groups?.[g] ?? []) {
        const mac = normalizeMac(m)!;
        // The first profile in the file that names the group wins.
        if (!byGroup.has(mac)) byGroup.set(mac, name);
      }
    }
  }
  return { default: dflt, named, byMac, byGroup };
}

/** The profile for a MAC: one listing it by MAC, else one listing a group it is in, else the default. */
export function profileFor(set: ProfileSet, mac: string | undefined): Profile {
  const name = mac === undefined ? undefined : (set.byMac.get(mac) ?? set.byGroup.get(mac));
  return set.named.find((p) => p.name === name) ?? set.default;
}

/** Why profiles cannot boot from this folder: missing files and kernel versions that disagree. Empty when all is well. */
export function profileProblems(set: ProfileSet, folder: BuildsFolder): string[] {
  const problems: string[] = [];
  for (const p of [set.default, ...set.named]) {
    const say = (s: string) => problems.push(`profile ${p.name}: ${s}`);
    const pick = (kind: 'kernel' | 'initrd' | 'base', name: string | undefined, pattern: string) => {
      if (name === undefined) {
        say(`${folder.dir} has no ${kind} (${pattern})`);
        return undefined;
      }
      const a = folder.artifacts.get(name);
      if (a === undefined) say(`the ${kind} ${name} is not in ${folder.dir}`);
      else if (a.kind !== kind) say(`${name} is not a ${kind} but a ${a.kind}`);
      else return a;
      return undefined;
    };
    const kernel = pick('kernel', p.kernel, 'vmlinuz-<kver>');
    const initrd = pick('initrd', p.initrd, 'initrd.img-<kver>');
    const base = pick('base', p.base, 'base.<release>.<kver>.squashfs.img');
    for (const o of p.overlays) {
      const a = folder.artifacts.get(o);
      if (a === undefined) say(`the overlay ${o} is not in ${folder.dir}`);
      else if (a.kind !== 'overlay') say(`${o} is not an overlay but a ${a.kind}`);
    }
    for (const [what, a] of [['kernel', kernel], ['initrd', initrd], ['base', base]] as const) {
      if (a !== undefined && a.kernelVersion === undefined) say(`cannot tell which kernel version the ${what} ${a.name} is for: manifest.json does not say and its name does not follow ${what === 'base' ? 'base.<release>.<kver>.squashfs.img' : `${what === 'kernel' ? 'vmlinuz' : 'initrd.img'}-<kver>`}`);
    }
    const kv = kernel?.kernelVersion;
    if (kernel !== undefined && kv !== undefined) {
      if (initrd?.kernelVersion !== undefined && initrd.kernelVersion !== kv) {
        say(`the kernel ${kernel.name} is ${kv} but the initrd ${initrd.name} is built for ${initrd.kernelVersion}`);
      }
      if (base?.kernelVersion !== undefined && base.kernelVersion !== kv) {
        say(`the kernel ${kernel.name} is ${kv} but the base ${base.name} has modules for ${base.kernelVersion}`);
      }
    }
  }
  return problems;
}

/** A builds folder that cannot be served as asked: the server refuses to start. */
export class ServeSetupError extends ImgplayError {}
