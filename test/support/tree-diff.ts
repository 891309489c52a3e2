// Two chroot trees compared the way an image would be: every path with its type, mode, owner, contents
// (by digest) and link target, leaving out what differs between any two runs of the same provisioning
// (caches, logs, Ansible's own files in the target) and what only Ansible's modules need there.
import { createHash } from 'node:crypto';
import { readFile, lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { mountsUnder, mountTable } from '../../src/host/mount-table.js';

/** One path of a tree: everything compared but times. */
export interface TreeEntry {
  type: 'file' | 'dir' | 'link' | 'other';
  /** Permission bits with setuid/setgid/sticky, octal. */
  mode: string;
  owner: string;
  /** sha256 of a file's contents, or its text once filtered (see FILTERED). */
  digest?: string;
  target?: string;
  /** Device number of a block or character device. */
  rdev?: number;
}

/** A tree: entries by path relative to its root (no leading slash). */
export type Tree = Map<string, TreeEntry>;

/** Why a path or its contents is left out, by rule: the documentation of the comparison. */
export const EXCLUDED: ReadonlyArray<{ pattern: RegExp; why: string }> = [
  { pattern: /^(proc|sys|dev\/pts)\//, why: 'API file systems: mounted from the host while a tool runs, empty otherwise' },
  { pattern: /^tmp\//, why: "/tmp: Ansible's remote temp files and anything a package script leaves there" },
  { pattern: /^root\/\.ansible(\/|$)/, why: "Ansible's remote_tmp in the target (~/.ansible/tmp)" },
  { pattern: /^var\/log\//, why: 'logs (dpkg.log, apt/history.log, term.log, alternatives.log) carry times' },
  { pattern: /^var\/cache\/apt\//, why: "apt's package caches and downloaded .debs: a cache, kept or dropped by how apt was called" },
  { pattern: /^var\/lib\/apt\/lists\//, why: "apt's index files: fetched at the time of the run (update_cache)" },
  { pattern: /^var\/cache\/ldconfig\//, why: "ldconfig's aux-cache: a cache keyed by file times" },
  { pattern: /(^|\/)__pycache__(\/|$)|\.pyc$/, why: "Python byte-code caches: written by Ansible's modules (and py3compile) as they run" },
];

/** Files whose contents are not compared (their path, type, mode and owner still are), with why. */
export const CONTENT_IGNORED: ReadonlyArray<{ pattern: RegExp; why: string }> = [
  { pattern: /^etc\/ssh\/ssh_host_.*key(\.pub)?$/, why: 'SSH host keys: random, made by openssh-server\'s postinst' },
  { pattern: /^etc\/ssl\/(private\/ssl-cert-snakeoil\.key|certs\/ssl-cert-snakeoil\.pem)$/, why: "ssl-cert's snakeoil key and certificate: random" },
  { pattern: /^var\/lib\/dpkg\/status-old$|^var\/cache\/debconf\/[^/]+\.dat-old$/, why: 'the state before the last dpkg/debconf run: depends on how many runs there were (Ansible installs python3-apt in one more)' },
];

/**
 * Packages Ansible's apt module installs into a target that lacks them, to run at all (python3-apt
 * and what it depends on that a minbase tree lacks): their files, dpkg's records of them and their
 * stanzas in dpkg/apt state files are left out of both trees.
 */
export const ANSIBLE_ONLY_PACKAGES: readonly string[] = ['python3-apt', 'python-apt-common', 'distro-info-data'];

// State files made of RFC 822 stanzas, one per package: the ANSIBLE_ONLY_PACKAGES' stanzas are dropped before comparing.
const STANZA_FILES = new Set(['var/lib/dpkg/status', 'var/lib/apt/extended_states']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function excluded(path: string): boolean {
  return EXCLUDED.some((r) => r.pattern.test(path));
}

/** The files (relative paths) dpkg lists for the ANSIBLE_ONLY_PACKAGES in this tree, with dpkg's own records of them. */
async function ansibleOnlyFiles(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  const others = new Set<string>();
  const info = join(root, 'var/lib/dpkg/info');
  const names = await readdir(info).catch(() => [] as string[]);
  for (const name of names) {
    const m = /^([^:]+?)(:[a-z0-9]+)?\.([a-z0-9_]+)$/.exec(name);
    if (!m) continue;
    const ours = ANSIBLE_ONLY_PACKAGES.includes(m[1] ?? '');
    if (ours) out.add(`var/lib/dpkg/info/${name}`);
    if (m[3] !== 'list') continue;
    const paths = (await readFile(join(info, name), 'utf8')).split('\n').filter((l) => l.startsWith('/') && l !== '/.').map((l) => l.slice(1));
    for (const p of paths) (ours ? out : others).add(p);
  }
  // A directory another package also owns (such as /usr/lib/python3/dist-packages) stays, compared as it is.
  for (const p of others) out.delete(p);
  return out;
}

function dropStanzas(text: string): string {
  return text
    .split(/\n\n+/)
    .filter((s) => !ANSIBLE_ONLY_PACKAGES.includes(/^Package: (\S+)/m.exec(s)?.[1] ?? ''))
    .join('\n\n');
}

/** Reads a tree (refusing one with anything mounted inside), leaving out what EXCLUDED names. */
export async function snapshotTree(root: string): Promise<Tree> {
  const mounted = mountsUnder(await mountTable(), root);
  if (mounted.length > 0) throw new Error(`refusing to read ${root}: still mounted inside it: ${mounted.join(', ')}`);
  const skip = await ansibleOnlyFiles(root);
  const tree: Tree = new Map();
  async function walk(dir: string, rel: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (excluded(path) || excluded(`${path}/`)) continue;
      const full = join(dir, name);
      const st = await lstat(full);
      const base = { mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), owner: `${st.uid}:${st.gid}` };
      if (skip.has(path)) {
        if (st.isDirectory()) await walk(full, path);
        continue;
      }
      if (st.isDirectory()) {
        tree.set(path, { type: 'dir', ...base });
        await walk(full, path);
        continue;
      }
      if (st.isSymbolicLink()) tree.set(path, { type: 'link', ...base, mode: '', target: await readlink(full) });
      else if (st.isFile()) tree.set(path, { type: 'file', ...base, digest: await digestOf(full, path) });
      else tree.set(path, { type: 'other', ...base, ...(st.isBlockDevice() || st.isCharacterDevice() ? { rdev: st.rdev } : {}) });
    }
  }
  await walk(root, '');
  return tree;
}

async function digestOf(full: string, path: string): Promise<string> {
  if (CONTENT_IGNORED.some((r) => r.pattern.test(path))) return '(not compared)';
  let data = await readFile(full);
  if (STANZA_FILES.has(path)) data = Buffer.from(dropStanzas(data.toString('utf8')));
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** Whether a file's bytes are text, so a difference can be shown line by line. */
export async function readText(root: string, path: string): Promise<string | undefined> {
  const data = await readFile(join(root, path)).catch(() => undefined);
  if (data === undefined) return undefined;
  try {
    const text = utf8.decode(data);
    return STANZA_FILES.has(path) ? dropStanzas(text) : text;
  } catch {
    return undefined;
  }
}

/** Every way tree b differs from tree a, one line each, `a` and `b` naming them; empty when they agree. */
export function compareTrees(a: Tree, b: Tree, la: string, lb: string): string[] {
  const out: string[] = [];
  for (const [path, ea] of a) {
    const eb = b.get(path);
    if (!eb) {
      out.push(`/${path} (${ea.type}) only in ${la}`);
      continue;
    }
    for (const k of ['type', 'mode', 'owner', 'target', 'rdev', 'digest'] as const) {
      if (ea[k] !== eb[k]) out.push(`/${path} ${k === 'digest' ? 'contents' : k} differ${k === 'digest' ? '' : `: ${la} ${String(ea[k])}, ${lb} ${String(eb[k])}`}`);
    }
  }
  for (const [path, eb] of b) if (!a.has(path)) out.push(`/${path} (${eb.type}) only in ${lb}`);
  return out;
}

/** The first line where two texts differ, for a report: `-` from a, `+` from b. */
export function firstLineDiff(a: string, b: string): string {
  const la = a.split('\n');
  const lb = b.split('\n');
  let i = 0;
  while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
  const cut = (s: string | undefined) => (s === undefined ? '(end)' : JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s));
  return `line ${i + 1}: - ${cut(la[i])} + ${cut(lb[i])}`;
}
