// Finds the Debian mirror the build host's apt already uses, so image builds fetch from the same place.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A Debian archive to debootstrap from. */
export interface AptMirror {
  uri: string;
  suite?: string;
  components: string[];
}

/** One `deb` line or deb822 stanza, reduced to what choosing a mirror needs. */
export interface SourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  enabled: boolean;
}

// Names a Debian release goes by; a suite outside this list still counts when the URI ends in /debian.
const DEBIAN_SUITES = new Set([
  'stable', 'testing', 'unstable', 'oldstable', 'oldoldstable', 'sid',
  'stretch', 'buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke',
]);

// Schemes debootstrap itself can fetch from (apt-only methods such as cdrom: or mirror+ are skipped).
const FETCHABLE = /^(https?|ftp|file):/;

/**
 * The first Debian mirror in the host's apt sources (sources.list, then sources.list.d/*.list and
 * *.sources in apt's order), skipping disabled entries, deb-src, and security/updates/backports suites.
 * `sourcesDir` is the apt configuration directory (default /etc/apt).
 */
export async function hostAptMirror(opts: { sourcesDir?: string } = {}): Promise<AptMirror | undefined> {
  for (const entry of await readSources(opts.sourcesDir ?? '/etc/apt')) {
    const found = mirrorOf(entry);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The HTTP proxy apt and debootstrap would use, from the environment (lower case wins, as in curl and apt). */
export function aptProxyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of ['http_proxy', 'HTTP_PROXY']) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** Every enabled `deb` archive suite in an apt configuration directory (`<root>/etc/apt`), in apt's order. */
export async function aptArchives(aptDir: string): Promise<Array<{ uri: string; suite: string }>> {
  const out: Array<{ uri: string; suite: string }> = [];
  for (const entry of await readSources(aptDir)) {
    if (!entry.enabled || !entry.types.includes('deb')) continue;
    for (const uri of entry.uris) for (const suite of entry.suites) if (FETCHABLE.test(uri)) out.push({ uri: uri.replace(/\/+$/, ''), suite });
  }
  return out;
}

function mirrorOf(entry: SourceEntry): AptMirror | undefined {
  if (!entry.enabled || !entry.types.includes('deb')) return undefined;
  for (const raw of entry.uris) {
    const uri = raw.replace(/\/+$/, '');
    if (!FETCHABLE.test(uri) || /debian-security$/.test(uri)) continue;
    for (const suite of entry.suites) {
      if (!isReleaseSuite(suite)) continue;
      if (DEBIAN_SUITES.has(suite) || /\/debian$/.test(uri)) return { uri, suite, components: [...entry.components] };
    }
  }
  return undefined;
}

// bookworm-updates, bookworm-security, bullseye/updates, bookworm-backports and flat `./` repos are not a release.
function isReleaseSuite(suite: string): boolean {
  return /^[a-z][a-z0-9.]*$/.test(suite);
}

async function readSources(aptDir: string): Promise<SourceEntry[]> {
  const entries = parseOneLine(await readOptional(join(aptDir, 'sources.list')));
  const partsDir = join(aptDir, 'sources.list.d');
  const names = await readdir(partsDir).catch(() => [] as string[]);
  // apt reads the parts in C-locale order and ignores files with other suffixes (.disabled, .save, ...).
  for (const name of names.sort()) {
    if (!/^[\w.-]+\.(list|sources)$/.test(name)) continue;
    const text = await readOptional(join(partsDir, name));
    entries.push(...(name.endsWith('.list') ? parseOneLine(text) : parseDeb822(text)));
  }
  return entries;
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') return '';
    throw err;
  }
}

/** Parses the one-line format: `deb [opt=val ...] URI SUITE [COMPONENT...]`. */
export function parseOneLine(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    if (line === '') continue;
    const m = /^(\S+)\s+(?:\[([^\]]*)\]\s*)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m === null) continue;
    const [, type = '', options = '', uri = '', suite = '', rest = ''] = m;
    entries.push({
      types: [type],
      uris: [uri],
      suites: [suite],
      components: rest.split(/\s+/).filter((c) => c !== ''),
      enabled: !/(^|\s)enabled=(no|false|0)(\s|$)/i.test(options),
    });
  }
  return entries;
}

/** Parses deb822 `.sources` stanzas (Types/URIs/Suites/Components/Enabled). */
export function parseDeb822(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const stanza of stanzas(text)) {
    const words = (field: string) => (stanza.get(field) ?? '').split(/\s+/).filter((w) => w !== '');
    entries.push({
      types: words('types'),
      uris: words('uris'),
      suites: words('suites'),
      components: words('components'),
      enabled: !/^(no|false|without|off|disable)$/i.test((stanza.get('enabled') ?? 'yes').trim()),
    });
  }
  return entries;
}

// Fields by lower-cased name; continuation lines (leading white space) extend the previous field.
function stanzas(text: string): Map<string, string>[] {
  const result: Map<string, string>[] = [];
  let current: Map<string, string> | undefined;
  let lastField: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (line.trim() === '') {
      current = undefined;
      continue;
    }
    if (/^\s/.test(line)) {
      if (current !== undefined && lastField !== undefined) current.set(lastField, `${current.get(lastField) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    if (current === undefined) {
      current = new Map();
      result.push(current);
    }
    lastField = line.slice(0, colon).trim().toLowerCase();
    current.set(lastField, line.slice(colon + 1).trim());
  }
  return result;
}
