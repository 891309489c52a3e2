// apt and dpkg on the target, driven the way a build needs: noninteractive, parseable, proxied,
// with services kept from starting, and failures reduced to apt's own error lines.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Connection, ExecResult } from '../../connection/types.js';
import { aptProxyFromEnv } from '../../image/mirror.js';
import { fnmatchToRegExp } from './glob.js';
import { hostPathFollow } from './target-path.js';

/** A package as a task names it: `name`, `name=version` (version may hold wildcards), `name:arch`. */
export interface PackageSpec {
  name: string;
  version?: string | undefined;
  /** The text as the task wrote it, for messages. */
  text: string;
}

/** Splits `lldpd=1.0.16-1` into name and version; more than one `=` is Ansible's "invalid package spec". */
export function parsePackageSpec(text: string): PackageSpec | undefined {
  const trimmed = text.trim();
  const parts = trimmed.split('=');
  if (parts.length > 2 || parts[0] === '') return undefined;
  return parts.length === 2 ? { name: parts[0] as string, version: parts[1], text: trimmed } : { name: trimmed, text: trimmed };
}

/** True if a package name or version holds fnmatch wildcards. */
export function hasWildcard(text: string): boolean {
  return /[*?[]/.test(text);
}

/** The installed packages, `name` (or `name:arch` for foreign ones) -> version; half-installed ones excluded. */
export type InstalledSet = Map<string, string>;

/** Everything dpkg lists as installed on the target, plus packages left with only their config files. */
export async function installedPackages(apt: AptRunner): Promise<{ installed: InstalledSet; configOnly: Set<string> }> {
  const r = await apt.run(['dpkg-query', '-W', '-f', '${binary:Package}\\t${Version}\\t${db:Status-Abbrev}\\n']);
  if (r.rc !== 0) throw new AptError(`cannot list the installed packages: dpkg-query exited ${r.rc}`, r);
  const installed: InstalledSet = new Map();
  const configOnly = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const [pkg, version, abbrev] = line.split('\t');
    if (pkg === undefined || version === undefined || abbrev === undefined) continue;
    // Status-Abbrev: desired, status, error, e.g. "ii " (installed) or "rc " (config files only).
    if (abbrev[1] === 'i') installed.set(pkg, version);
    else if (abbrev[1] === 'c') configOnly.add(pkg);
  }
  return { installed, configOnly };
}

/** The installed version of a package named without an architecture (native or the only one). */
export function installedVersion(set: InstalledSet, name: string): string | undefined {
  if (set.has(name)) return set.get(name);
  for (const [key, version] of set) if (key.split(':')[0] === name && !name.includes(':')) return version;
  return undefined;
}

/** What changed between two installed sets, as "name version" lines for a diff. */
export function setDifference(before: InstalledSet, after: InstalledSet): { removed: string[]; added: string[] } {
  const removed: string[] = [];
  const added: string[] = [];
  for (const [pkg, v] of before) if (after.get(pkg) !== v) removed.push(`${pkg} ${v}`);
  for (const [pkg, v] of after) if (before.get(pkg) !== v) added.push(`${pkg} ${v}`);
  return { removed: removed.sort(), added: added.sort() };
}

/** The packages an `apt-get -s` run would install, upgrade or remove (its Inst/Remv/Purg lines). */
export function simulatedChanges(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => /^(Inst|Remv|Purg) /.test(l))
    .map((l) => l.trim());
}

/** The lines of apt's output worth showing a user: its errors, else its warnings, else the last lines. */
export function aptWords(r: Pick<ExecResult, 'stdout' | 'stderr'>): string {
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trimEnd());
  const errors = lines.filter((l) => /^E: /.test(l));
  // "held broken packages" alone says nothing: the resolver's lines above it name the package and why.
  const unmet = lines.filter((l) => /^\s+\S+ : (Pre-Depends|Depends|Conflicts|Breaks|Recommends): /.test(l) || /^\s{10,}(Depends|Pre-Depends): /.test(l)).map((l) => l.trim());
  if (errors.length > 0) return [...new Set([...unmet, ...errors])].join('\n');
  const warnings = lines.filter((l) => /^(W|Err): /.test(l) || /^Err:\d+/.test(l));
  if (warnings.length > 0) return [...new Set(warnings)].slice(0, 10).join('\n');
  return lines.filter((l) => l !== '').slice(-10).join('\n');
}

/** An apt or dpkg command that failed; carries its result for the task's rc/stdout/stderr. */
export class AptError extends Error {
  constructor(
    message: string,
    readonly result: ExecResult,
  ) {
    super(message);
  }
}

/** Runs apt tools on a target with a fixed locale, no prompts and the proxy the build uses. */
export class AptRunner {
  readonly env: Record<string, string>;

  constructor(
    readonly conn: Connection,
    environment: Record<string, string>,
    private readonly signal?: AbortSignal,
  ) {
    // A chroot starts from a clean environment, so the proxy is passed on explicitly.
    const proxy = environment.http_proxy ?? environment.HTTP_PROXY ?? aptProxyFromEnv();
    this.env = {
      ...environment,
      DEBIAN_FRONTEND: 'noninteractive',
      DEBIAN_PRIORITY: 'critical',
      LANG: 'C',
      LC_ALL: 'C',
      LC_MESSAGES: 'C',
      ...(proxy !== undefined ? { http_proxy: proxy } : {}),
    };
  }

  /** Runs argv on the target; never throws for a non-zero exit. */
  async run(argv: readonly string[]): Promise<ExecResult> {
    return this.conn.exec(argv, { env: this.env, signal: this.signal });
  }
}

/** When the package lists were last refreshed: apt's success stamp, else the lists directory (as Ansible reads it). */
export async function cacheUpdateTime(conn: Connection): Promise<number> {
  for (const p of ['/var/lib/apt/periodic/update-success-stamp', '/var/lib/apt/lists']) {
    const st = await stat(await hostPathFollow(conn, p)).catch(() => undefined);
    if (st !== undefined) return Math.floor(st.mtimeMs / 1000);
  }
  return 0;
}

/** Runs `apt-get update`, retrying with exponential backoff; a mirror that cannot be fetched is an error. */
export async function updateCache(apt: AptRunner, retries: number, maxDelay: number): Promise<void> {
  let last: ExecResult | undefined;
  for (let attempt = 0; attempt < Math.max(1, retries); attempt++) {
    // --error-on=any: without it apt-get update exits 0 when a repository could not be fetched.
    last = await apt.run(['apt-get', 'update', '-q', '--error-on=any']);
    if (last.rc === 0) return;
    if (attempt + 1 < retries) await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, maxDelay) * 1000 + Math.random() * 1000));
  }
  const r = last as ExecResult;
  throw new AptError(`Failed to update apt cache: ${aptWords(r)}`, r);
}

/** All package names the target's apt knows (for wildcard names). */
export async function knownPackageNames(apt: AptRunner): Promise<string[]> {
  const r = await apt.run(['apt-cache', 'pkgnames']);
  if (r.rc !== 0) throw new AptError(`cannot list the available packages: ${aptWords(r)}`, r);
  return r.stdout.split('\n').filter((n) => n !== '');
}

/** Expands a wildcard name with fnmatch over the known names, as Ansible does. */
export function expandWildcard(pattern: string, names: readonly string[]): string[] {
  const re = fnmatchToRegExp(pattern);
  return names.filter((n) => re.test(n)).sort();
}

/** The versions of a package the target's sources offer, best first (from `apt-cache madison`). */
export async function availableVersions(apt: AptRunner, name: string): Promise<string[]> {
  const r = await apt.run(['apt-cache', 'madison', name]);
  if (r.rc !== 0) return [];
  return [...new Set(r.stdout.split('\n').map((l) => l.split('|')[1]?.trim()).filter((v): v is string => v !== undefined && v !== ''))];
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/**
 * Installs a policy-rc.d that refuses every service start (exit `code`, 101 = "action forbidden")
 * for as long as apt runs, and returns the function that removes it again. An existing one is left alone.
 */
export async function holdServices(conn: Connection, code = 101): Promise<() => Promise<void>> {
  const host = await hostPathFollow(conn, POLICY_RC_D);
  if ((await lstat(host).catch(() => undefined)) !== undefined) return async () => {};
  const marker = `# imgplay ${randomBytes(6).toString('hex')}`;
  const text = `#!/bin/sh\n${marker}\n# Written by imgplay while apt runs: no service starts while an image is built.\nexit ${code}\n`;
  await mkdir(dirname(host), { recursive: true });
  await writeFile(host, text, { mode: 0o755 });
  return async () => {
    // Only our own file goes: a package that shipped a policy-rc.d meanwhile keeps it.
    const now = await readFile(host, 'utf8').catch(() => undefined);
    if (now?.includes(marker)) await rm(host, { force: true });
  };
}
