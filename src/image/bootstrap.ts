// Bootstraps a minimal Debian tree: mmdebstrap in its own mount namespace (nothing it mounts can
// outlive it on the host), or debootstrap when packages must be excluded.
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { ImgplayError } from '../errors.js';
import { DebCacheSession } from '../host/deb-cache.js';
import { hostAptMirror } from './mirror.js';
import { mountTable, mountsUnder, removeTree } from '../host/mount-table.js';
import { toolOutput } from '../host/activity.js';
import { superviseGroup } from '../host/process-group.js';
import { undoMount } from '../host/mount-guard.js';
import { noSpaceNote, spaceHint } from './free-space.js';
import { LOCK_PINS, activeLock, pinPreferences } from './lock-honour.js';

/** What to bootstrap, and how. */
export interface BootstrapOptions {
  root: string;
  release: string;
  arch: string;
  variant: string;
  /** Default: the build host's own apt mirror. */
  mirror?: string | undefined;
  components?: readonly string[] | undefined;
  include?: readonly string[] | undefined;
  /** Only debootstrap can leave packages out, so a non-empty list selects it. */
  exclude?: readonly string[] | undefined;
  /** An http proxy (apt-cacher-ng at host:3142) for the bootstrap's downloads only; not written into the tree. */
  proxy?: string | undefined;
  /** dpkg path-excludes for docs, man pages and info (copyright files kept), written into the tree for later installs too. */
  noDocs?: boolean | undefined;
  /** An apt.conf inside the tree that turns off recommends and suggests. */
  noRecommends?: boolean | undefined;
  tool?: 'mmdebstrap' | 'debootstrap' | undefined;
  /** A host folder of .debs shared with every stage (src/host/deb-cache.ts): mmdebstrap takes what is there and adds
   * what it downloads; debootstrap (chosen by `exclude`) downloads its own. */
  debCache?: string | undefined;
  signal?: AbortSignal | undefined;
  onLine?: ((line: string) => void) | undefined;
}

/** A bootstrap that failed: the reason, the command, then the tool's last lines. */
export class BootstrapError extends ImgplayError {}

// Docs are most of what a minimal image does not need; copyright files stay for license compliance.
const NO_DOCS = [
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/lintian/*',
  'path-exclude=/usr/share/linda/*',
];
const NO_RECOMMENDS = ['APT::Install-Recommends "false";', 'APT::Install-Suggests "false";'];

// Markers beside the tree (never inside it, so never in an image): one written before the tool
// starts, one written last, after it succeeded. A tree with the first and not the second is debris.
function marker(root: string, what: 'bootstrapping' | 'bootstrapped'): string {
  return join(dirname(root), `.${basename(root)}.imgplay-${what}`);
}

/** What is at `root`: a finished bootstrap, nothing, a run's unfinished one, or a tree made some other way. */
export type TreeState = 'complete' | 'empty' | 'unfinished' | 'foreign' | 'unknown';

/** Tells a finished bootstrap from the debris of an interrupted or killed one. */
export async function treeState(root: string): Promise<TreeState> {
  if (existsSync(marker(root, 'bootstrapped'))) return 'complete';
  if (!existsSync(root) || (await readdir(root)).length === 0) return 'empty';
  if (existsSync(marker(root, 'bootstrapping'))) return 'unfinished';
  // A complete system made by hand or by an older imgplay: its package tools are all there.
  const whole = ['var/lib/dpkg/status', 'bin/sh', 'usr/bin/apt-get', 'usr/bin/dpkg'].every((p) => existsSync(join(root, p)));
  return whole ? 'foreign' : 'unknown';
}

/** True if `root` holds a finished bootstrap (or a complete system imgplay did not make). */
export async function isBootstrapped(root: string): Promise<boolean> {
  const s = await treeState(root);
  return s === 'complete' || s === 'foreign';
}

/** Bootstraps `root` (an empty or missing directory); returns the tool used, the mirror and how long it took. */
export async function bootstrap(o: BootstrapOptions): Promise<{ tool: string; mirror: string; seconds: number }> {
  const mirror = o.mirror ?? (await hostAptMirror())?.uri;
  if (mirror === undefined) {
    throw new BootstrapError('no Debian mirror to bootstrap from: the build host has none in its apt sources', {
      hint: 'set debootstrap_mirror (or apt_server) to a Debian archive URL',
    });
  }
  if (existsSync(o.root) && (await readdir(o.root)).length > 0) {
    throw new BootstrapError(`cannot bootstrap into ${o.root}: the directory is not empty, and it is neither a complete system nor a tree an imgplay run left unfinished`, {
      hint: `delete ${o.root} or choose another root`,
    });
  }
  const mounted = mountsUnder(await mountTable(), o.root).filter((m) => m !== o.root);
  if (mounted.length > 0) throw new BootstrapError(`cannot bootstrap into ${o.root}: something is mounted inside it (${mounted.join(', ')})`);
  const tool = o.tool ?? ((o.exclude?.length ?? 0) > 0 ? 'debootstrap' : 'mmdebstrap');
  const lock = activeLock();
  if (lock !== undefined && tool === 'debootstrap') {
    throw new BootstrapError(`debootstrap cannot install the versions ${lock.path} locks (it resolves packages without apt)`, { hint: 'a locked build bootstraps with mmdebstrap: leave exclude empty and tool unset' });
  }
  const pins = lock === undefined ? undefined : join(dirname(o.root), `.${basename(o.root)}.imgplay-lock-pins`);
  const debs = tool === 'mmdebstrap' && o.debCache ? await DebCacheSession.start(o.debCache) : undefined;
  try {
    const argv = tool === 'mmdebstrap' ? [...(pins ? lockHooks(pins) : []), ...mmdebstrapArgs(o, mirror, debs?.folder)] : debootstrapArgs(o, mirror);
    const done = await runBootstrap(o, tool, argv, mirror, pins, lock);
    await debs?.publish();
    // A fresh tree, just made by the bootstrap tool: its paths are taken as they are.
    await aptOwnsPartial(async (p) => join(o.root, p));
    return done;
  } finally {
    await debs?.remove();
  }
}

async function runBootstrap(
  o: BootstrapOptions,
  tool: string,
  argv: string[],
  mirror: string,
  pins: string | undefined,
  lock: ReturnType<typeof activeLock>,
): Promise<{ tool: string; mirror: string; seconds: number }> {
  const started = Date.now();
  await mkdir(dirname(o.root), { recursive: true });
  await rm(marker(o.root, 'bootstrapped'), { force: true });
  await writeFile(marker(o.root, 'bootstrapping'), `${process.pid}\n`);
  if (pins !== undefined && lock !== undefined) await writeFile(pins, pinPreferences(lock));
  // A TMPDIR of its own beside the tree, emptied before and removed after: mmdebstrap's temporary keyring
  // folder outlives it when SIGKILL stops it, and the next bootstrap into this root removes what it left.
  // mmdebstrap unsets TMPDIR for what it runs in the tree; debootstrap would pass it to maintainer scripts
  // there, where the folder does not exist, so debootstrap keeps the caller's.
  const scratch = join(dirname(o.root), `.${basename(o.root)}.imgplay-tmp`);
  if (existsSync(scratch)) await removeTree(scratch);
  await mkdir(scratch, { mode: 0o700 });
  try {
    return await runTool(o, tool, argv, pins, scratch, started, mirror);
  } finally {
    await removeTree(scratch);
  }
}

async function runTool(o: BootstrapOptions, tool: string, argv: string[], pins: string | undefined, scratch: string, started: number, mirror: string): Promise<{ tool: string; mirror: string; seconds: number }> {
  const env: Record<string, string> = { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', ...(tool === 'mmdebstrap' ? { TMPDIR: scratch } : {}), ...(o.proxy ? { http_proxy: o.proxy } : {}) };
  // A group of its own: mmdebstrap's helpers (apt, dpkg, tar in its namespace) are stopped with it.
  const child = execa(tool, argv, { reject: false, all: true, env, stdin: 'ignore', detached: true });
  const interrupted = superviseGroup(child, tool, o.signal);
  const lines: string[] = [];
  child.all?.setEncoding('utf8');
  let partial = '';
  child.all?.on('data', (chunk: string) => {
    toolOutput(tool, chunk);
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > 400) lines.shift();
      o.onLine?.(line);
    }
  });
  const r = await child;
  if (pins !== undefined) await rm(pins, { force: true });
  if (r.exitCode !== 0 || interrupted()) {
    // debootstrap mounts /proc and /sys inside the tree on the host; stopped midway it may leave them.
    if (tool === 'debootstrap') for (const m of mountsUnder(await mountTable(), o.root).filter((x) => x !== o.root)) await undoMount(m).catch(() => undefined);
    const tail = lines.filter((l) => /^(E|W):|error|fail/i.test(l)).slice(-8);
    const full = lines.filter((l) => /No space left on device/i.test(l));
    const how = interrupted() ? ' (interrupted)' : r.exitCode === undefined ? ` (killed by ${r.signal ?? 'a signal'})` : ` with exit code ${r.exitCode}`;
    const fullNote = full.length > 0 && !interrupted() ? `\n${await noSpaceNote(o.root, full.length)}` : '';
    throw new BootstrapError(`${tool} failed${how}${fullNote}\n  ${tool} ${argv.join(' ')}\n${(tail.length > 0 ? tail : lines.slice(-8)).join('\n')}`, {
      hint: fullNote === '' ? undefined : spaceHint(o.root),
    });
  }
  if (tool === 'debootstrap') await configureDebootstrapped(o);
  if (pins !== undefined) await rm(join(o.root, LOCK_PINS), { force: true });
  await forgetBuildHost(o.root);
  await writeFile(marker(o.root, 'bootstrapped'), `${new Date().toISOString()}\n`);
  await rm(marker(o.root, 'bootstrapping'), { force: true });
  return { tool, mirror, seconds: (Date.now() - started) / 1000 };
}

/**
 * Gives a tree's apt partial/ folders the owner and mode apt gives them when it downloads (_apt, root's group,
 * 0700): apt only does so when it fetches something, so a tree whose packages all came from the .deb cache
 * would leave them root's, and two builds of the same packages would differ. `hostPathOf` maps a path in the
 * tree to the build host's (a connection's, which keeps it inside the tree); returns the folders it changed,
 * or with `check` would change.
 */
export async function aptOwnsPartial(hostPathOf: (targetPath: string) => Promise<string>, opts: { check?: boolean } = {}): Promise<string[]> {
  const passwd = await readFile(await hostPathOf('/etc/passwd'), 'utf8').catch(() => '');
  const uid = Number(/^_apt:[^:]*:(\d+):/m.exec(passwd)?.[1] ?? NaN);
  if (!Number.isInteger(uid)) return [];
  const changed: string[] = [];
  for (const dir of ['/var/cache/apt/archives/partial', '/var/lib/apt/lists/partial']) {
    const path = await hostPathOf(dir);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory() || (st.uid === uid && st.gid === 0 && (st.mode & 0o7777) === 0o700)) continue;
    changed.push(dir);
    if (opts.check) continue;
    await chown(path, uid, 0);
    await chmod(path, 0o700);
  }
  return changed;
}

/** The build host's files both tools copy into a new tree (/etc/resolv.conf, /etc/hostname), which no image may carry. */
export const HOST_COPIED_FILES: readonly string[] = ['etc/resolv.conf', 'etc/hostname'];

/**
 * Removes what the bootstrap copied from the build host into `root`: an image made on another host
 * (or after a change of the host's resolver) would differ, and a booted node would ask the build
 * host's name servers. The chroot connection lends the host's resolv.conf while tasks run, and the
 * base role names the image; a tree without them boots with what DHCP and its roles give it.
 */
export async function forgetBuildHost(root: string): Promise<void> {
  for (const f of HOST_COPIED_FILES) await rm(join(root, f), { force: true });
}

// A locked build: apt inside mmdebstrap resolves the essential set and the includes with every locked version
// pinned (bootstrap() removes the pins from the finished tree, so no image carries them).
function lockHooks(pins: string): string[] {
  return [`--setup-hook=upload ${pins} ${LOCK_PINS}`];
}

function mmdebstrapArgs(o: BootstrapOptions, mirror: string, debs: string | undefined): string[] {
  return [
    // mmdebstrap's own recipe for an outside package cache: copied in before the download, the essential packages'
    // files kept, everything copied out before its clean-up empties the tree's archives (the image keeps none).
    ...(debs
      ? [
          '--skip=essential/unlink',
          '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/',
          `--setup-hook=sync-in ${debs} /var/cache/apt/archives/`,
          `--customize-hook=sync-out /var/cache/apt/archives ${debs}`,
        ]
      : []),
    // unshare: its mounts live and die in a private namespace, so a crash cannot leak one onto the host.
    '--mode=unshare',
    `--variant=${o.variant}`,
    `--architectures=${o.arch}`,
    ...(o.components?.length ? [`--components=${o.components.join(',')}`] : []),
    ...(o.include?.length ? [`--include=${o.include.join(',')}`] : []),
    ...(o.noDocs ? NO_DOCS.map((d) => `--dpkgopt=${d}`) : []),
    ...(o.noRecommends ? NO_RECOMMENDS.map((a) => `--aptopt=${a}`) : []),
    o.release,
    o.root,
    mirror,
  ];
}

function debootstrapArgs(o: BootstrapOptions, mirror: string): string[] {
  return [
    `--variant=${o.variant}`,
    `--arch=${o.arch}`,
    ...(o.components?.length ? [`--components=${o.components.join(',')}`] : []),
    ...(o.include?.length ? [`--include=${o.include.join(',')}`] : []),
    ...(o.exclude?.length ? [`--exclude=${o.exclude.join(',')}`] : []),
    o.release,
    o.root,
    mirror,
  ];
}

// debootstrap has no dpkg/apt option flags: write the same files mmdebstrap would.
async function configureDebootstrapped(o: BootstrapOptions): Promise<void> {
  if (o.noDocs) {
    await mkdir(`${o.root}/etc/dpkg/dpkg.cfg.d`, { recursive: true });
    await writeFile(`${o.root}/etc/dpkg/dpkg.cfg.d/99imgplay-nodocs`, `${NO_DOCS.join('\n')}\n`);
  }
  if (o.noRecommends) {
    await mkdir(`${o.root}/etc/apt/apt.conf.d`, { recursive: true });
    await writeFile(`${o.root}/etc/apt/apt.conf.d/99imgplay-norecommends`, `${NO_RECOMMENDS.join('\n')}\n`);
  }
  // debootstrap mounts /proc and /sys itself and leaves them on failure paths; check they are gone.
  const left = mountsUnder(await mountTable(), o.root).filter((m) => m !== o.root);
  if (left.length > 0) throw new BootstrapError(`debootstrap left mounts inside ${o.root}: ${left.join(', ')}`);
}
