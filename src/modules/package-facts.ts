// The packages installed in the target, as Ansible's package_facts reports them through python-apt: read
// from the target's dpkg database (and apt's lists for each version's origin), so it works in a tree.
import { readdir, readFile } from 'node:fs/promises';
import type { Connection } from '../connection/types.js';
import { defineModule } from './spec.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { failed } from './types.js';

// The managers Ansible 2.14's package_facts knows; imgplay reads only apt's (dpkg's) database.
const KNOWN = ['pkg', 'apt', 'rpm', 'apk', 'portage', 'pacman', 'pkg_info'];
const ONLY_APT = "imgplay reads only apt's (dpkg's) database: the images it builds are Debian";

/** One installed package, in the shape of Ansible's `ansible_facts.packages[name][]` for apt. */
export interface AptPackage {
  name: string;
  version: string;
  arch: string;
  category: string;
  origin: string;
  source: 'apt';
}

export const packageFacts = defineModule(
  {
    name: 'package_facts',
    doc: {
      short: "Sets `ansible_facts.packages` to the target's installed packages (apt), as Ansible's package_facts does.",
      description:
        "Reads the target's `/var/lib/dpkg/status` (for a chroot, the tree's): every package dpkg has a current version of (installed, unpacked, half-configured...), keyed by name (`name:arch` for a foreign architecture, as python-apt names them), each a list of `{name, version, arch, category, origin, source: apt}`. `category` is the package's section; `origin` is the `Origin` of the apt list that has that version (`Debian`), or `''` when the tree keeps no apt lists, as python-apt says then.",
      returns: '`ansible_facts.packages`.',
      differences: [
        "Ansible needs python3-apt in the target (without it: `Could not detect a supported package manager ...`); imgplay reads dpkg's database itself and needs nothing in the tree.",
        'Only the apt manager: the others Ansible knows (rpm, apk, portage, pacman, pkg, pkg_info) are refused, with the reason.',
      ],
    },
    args: {
      manager: {
        type: 'list',
        elements: 'str',
        default: ['auto'],
        description: '`auto` or `apt` (the same here). The other managers Ansible knows are refused: ' + ONLY_APT + '.',
      },
      strategy: { choices: ['first', 'all'], default: 'first', description: 'Whether to stop at the first usable manager; with only apt, the same.' },
    },
    checkMode: 'full',
  },
  async ({ args, conn }) => {
    const managers = args.manager.map((m) => m.toLowerCase());
    const unknown = managers.filter((m) => m !== 'auto' && !KNOWN.includes(m));
    if (unknown.length > 0) return failed(`Unsupported package managers requested: ${[...new Set(unknown)].join(', ')}`);
    const other = managers.filter((m) => m !== 'auto' && m !== 'apt');
    if (other.length > 0) return failed(`package manager ${other.join(', ')} is not supported by imgplay: ${ONLY_APT}`);
    try {
      return { changed: false, ansible_facts: { packages: await aptPackages(conn) } };
    } catch (err) {
      if (isFsError(err)) return failed(describeFsError(err));
      throw err;
    }
  },
);

/** The stanzas of a deb822 file (dpkg status, apt lists): field name -> value (continuation lines kept). */
export function stanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let cur = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur.size > 0) out.push(cur);
      cur = new Map();
      last = undefined;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      cur.set(last, `${cur.get(last) ?? ''}\n${line}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon);
    cur.set(last, line.slice(colon + 1).trim());
  }
  if (cur.size > 0) out.push(cur);
  return out;
}

// dpkg states in which a package has a current version (python-apt's is_installed).
const NOT_CURRENT = new Set(['not-installed', 'config-files']);

/** Every package of the target's dpkg database with a current version, as python-apt lists them. */
export async function aptPackages(conn: Connection): Promise<Record<string, AptPackage[]>> {
  const status = stanzas(await readFile(await conn.hostPath('/var/lib/dpkg/status'), 'utf8'));
  const installed = status.filter((s) => {
    const state = (s.get('Status') ?? '').split(/\s+/)[2];
    return state !== undefined && !NOT_CURRENT.has(state) && s.has('Package') && s.has('Version');
  });
  // dpkg itself is always of the native architecture; python-apt leaves that one out of names.
  const native = installed.find((s) => s.get('Package') === 'dpkg')?.get('Architecture');
  const origins = await listOrigins(conn);
  const packages: Record<string, AptPackage[]> = {};
  for (const s of installed) {
    const pkg = s.get('Package') as string;
    const version = s.get('Version') as string;
    const arch = s.get('Architecture') ?? '';
    const name = arch === '' || arch === 'all' || arch === native || native === undefined ? pkg : `${pkg}:${arch}`;
    const origin = origins.get(`${pkg} ${version} ${arch}`) ?? '';
    (packages[name] ??= []).push({ name, version, arch, category: s.get('Section') ?? '', origin, source: 'apt' });
  }
  return packages;
}

/** `package version arch` -> Origin of the first apt list (by file name) that has that version. */
async function listOrigins(conn: Connection): Promise<Map<string, string>> {
  const dir = await conn.hostPath('/var/lib/apt/lists');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  const origins = new Map<string, string>();
  for (const file of names.filter((n) => n.endsWith('_Packages'))) {
    const origin = await releaseOrigin(dir, file, names);
    if (origin === undefined) continue;
    for (const s of stanzas(await readFile(`${dir}/${file}`, 'utf8'))) {
      const key = `${s.get('Package') ?? ''} ${s.get('Version') ?? ''} ${s.get('Architecture') ?? ''}`;
      if (!origins.has(key)) origins.set(key, origin);
    }
  }
  return origins;
}

// A list file `<site>_<path>_dists_<suite>_<component>_binary-<arch>_Packages` belongs to the
// `<site>_<path>_dists_<suite>_InRelease` (or `_Release`) with the longest common prefix.
async function releaseOrigin(dir: string, file: string, names: string[]): Promise<string | undefined> {
  for (let end = file.lastIndexOf('_'); end > 0; end = file.lastIndexOf('_', end - 1)) {
    const prefix = file.slice(0, end + 1);
    const release = names.find((n) => n === `${prefix}InRelease`) ?? names.find((n) => n === `${prefix}Release`);
    if (release === undefined) continue;
    const text = await readFile(`${dir}/${release}`, 'utf8');
    return /^Origin:[ \t]*(.*)$/m.exec(text)?.[1]?.trim() ?? '';
  }
  return undefined;
}
