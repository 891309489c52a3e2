// Reads which packages an image holds from dpkg's own database, without running dpkg in the image.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImgplayError } from '../errors.js';

/** One installed package, as dpkg records it. */
export interface InstalledPackage {
  name: string;
  version: string;
  arch: string;
}

/** A package whose version differs between a base and an overlay. */
export interface ChangedPackage {
  name: string;
  arch: string;
  from: string;
  to: string;
}

/** What an overlay installs, removes and up- or downgrades relative to its base. */
export interface PackageDelta {
  added: InstalledPackage[];
  removed: InstalledPackage[];
  changed: ChangedPackage[];
}

/** The packages installed in the tree at `root`, from root/var/lib/dpkg/status, sorted by name then arch. */
export async function installedPackagesOf(root: string): Promise<InstalledPackage[]> {
  const path = join(root, 'var/lib/dpkg/status');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ImgplayError(`cannot list the packages of ${root}: ${(err as Error).message}`, { cause: err });
  }
  return parseDpkgStatus(text);
}

/** The installed packages in the text of a dpkg status file, sorted by name then arch. */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  for (const stanza of text.split(/\n(?:[ \t]*\n)+/)) {
    const fields = deb822Fields(stanza);
    // The state word, not the selection: "hold ok installed" and "deinstall ok installed" are on disk too.
    const [, eflag, state] = (fields.get('status') ?? '').split(/\s+/);
    if (eflag !== 'ok' || state !== 'installed') continue;
    const name = fields.get('package');
    const version = fields.get('version');
    if (name === undefined || version === undefined) continue;
    found.push({ name, version, arch: fields.get('architecture') ?? 'all' });
  }
  return found.sort(byNameThenArch);
}

/** The difference between a base's packages and those of an overlay built over it (packages keyed by name and arch). */
export function packageDelta(base: readonly InstalledPackage[], overlay: readonly InstalledPackage[]): PackageDelta {
  const key = (p: InstalledPackage) => `${p.name}:${p.arch}`;
  const before = new Map(base.map((p) => [key(p), p]));
  const after = new Map(overlay.map((p) => [key(p), p]));
  const delta: PackageDelta = { added: [], removed: [], changed: [] };
  for (const [k, p] of after) {
    const old = before.get(k);
    if (old === undefined) delta.added.push({ ...p });
    else if (old.version !== p.version) delta.changed.push({ name: p.name, arch: p.arch, from: old.version, to: p.version });
  }
  for (const [k, p] of before) if (!after.has(k)) delta.removed.push({ ...p });
  delta.added.sort(byNameThenArch);
  delta.removed.sort(byNameThenArch);
  delta.changed.sort(byNameThenArch);
  return delta;
}

/** One deb822 stanza's fields by lower-cased name ("Field: value"; continuation lines, which start with a space
 * or tab, are kept joined with newlines): dpkg's status and an archive's Release and Packages files alike. */
export function deb822Fields(stanza: string): Map<string, string> {
  const fields = new Map<string, string>();
  let current: string | undefined;
  for (const line of stanza.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current !== undefined) fields.set(current, `${fields.get(current) ?? ''}\n${line}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = line.slice(0, colon).trim().toLowerCase();
    fields.set(current, line.slice(colon + 1).trim());
  }
  return fields;
}

// Code-point order, so the lists read the same on every machine whatever its locale.
function byNameThenArch(a: { name: string; arch: string }, b: { name: string; arch: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0;
}
