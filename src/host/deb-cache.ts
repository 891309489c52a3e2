// One host folder of downloaded .debs shared by every tree a build enters (base, initrd, each overlay, run after
// run), so a package is downloaded once per build host instead of once per stage. A chroot session sees the cache
// through a folder of its own, bound over the tree's /var/cache/apt/archives: apt's lock, its partial/ downloads and an
// `apt-get clean` stay in that session, and concurrent sessions (overlays built side by side) never share a lock.
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, readdir, rename, rm, unlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ImgplayError } from '../errors.js';
import type { MountGuard } from './mount-guard.js';
import { compareDebVersions } from './deb-version.js';
import { isAlive } from './process-group.js';

/** A deb cache folder that cannot be used as one (not absolute, not a directory we can write). */
export class DebCacheError extends ImgplayError {}

// apt names the files it keeps `name_version_arch.deb` (with ':' escaped as %3a): nothing with a slash or a dot first.
const debName = /^[^./][^/]*\.deb$/;

/** The .deb files in a folder, by name, with their inode numbers (only regular files, never links or folders). */
async function debsIn(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!debName.test(name)) continue;
    const st = await lstat(join(dir, name)).catch(() => undefined);
    if (st?.isFile()) out.set(name, st.ino);
  }
  return out;
}

/** A tree's view of the shared cache for one chroot session; `publish` moves what apt downloaded into the cache. */
export class DebCacheSession {
  /** Inodes in the session that are already the cache's: linked in at the start, or published since. */
  private readonly known = new Set<number>();

  private constructor(
    readonly cache: string,
    readonly folder: string,
  ) {}

  /**
   * Binds a session folder, pre-filled with hard links to every cached .deb, over `tree`'s /var/cache/apt/archives
   * through the guard; undefined when the tree has no such folder (not a Debian tree: nothing to share).
   */
  static async open(cache: string, tree: string, guard: MountGuard): Promise<DebCacheSession | undefined> {
    const archives = join(tree, 'var', 'cache', 'apt', 'archives');
    const st = await lstat(archives).catch(() => undefined);
    if (!st?.isDirectory()) return undefined;
    const session = await DebCacheSession.start(cache);
    try {
      await guard.mount({ source: session.folder, target: archives, bind: true });
    } catch (err) {
      await session.remove();
      throw err;
    }
    return session;
  }

  /** A session folder holding hard links to every cached .deb, for a tool that fills an archives folder itself. */
  static async start(cache: string): Promise<DebCacheSession> {
    // Whitespace is refused too: mmdebstrap's sync hooks take their paths from a command line split at spaces.
    if (!isAbsolute(cache) || /\s/.test(cache)) {
      throw new DebCacheError(`the .deb cache must be an absolute path without spaces, not '${cache}' (imgplay_deb_cache)`);
    }
    await sweepDeadSessions(cache);
    // Sessions live inside the cache so that linking and renaming between the two never crosses a file system.
    const folder = join(cache, '.sessions', `${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(join(folder, 'partial'), { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new DebCacheError(`cannot use ${cache} as the .deb cache: ${(err as Error).message}`, { cause: err });
    }
    const session = new DebCacheSession(cache, folder);
    for (const name of (await debsIn(cache)).keys()) await link(join(cache, name), join(folder, name)).catch(() => undefined);
    for (const ino of (await debsIn(folder)).values()) session.known.add(ino);
    return session;
  }

  /**
   * Moves every .deb apt completed in this session into the cache, whole. Only the session's folder is read (this
   * runs after every command), and a file linked in at the start is never sent back: were the cache's copy replaced
   * meanwhile (a damaged one fetched again by another session), it would undo that.
   */
  async publish(): Promise<number> {
    let added = 0;
    for (const [name, ino] of await debsIn(this.folder)) {
      if (this.known.has(ino)) continue;
      // apt renames a download into archives/ only once its hash matched the index, so any .deb here is complete;
      // a temporary name and a rename keep a reader of the cache from ever seeing half a link.
      const tmp = join(this.cache, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await link(join(this.folder, name), tmp);
        await rename(tmp, join(this.cache, name));
        this.known.add(ino);
        added++;
      } catch {
        await unlink(tmp).catch(() => undefined);
      }
    }
    return added;
  }

  /** Removes the session folder: call it only once the bind over the tree is gone. */
  async remove(): Promise<void> {
    await rm(this.folder, { recursive: true, force: true });
  }
}

// A session whose process was killed (SIGKILL, a crash) leaves its folder: links and partial downloads, never
// anything mounted inside it, so it goes once its process is gone.
async function sweepDeadSessions(cache: string): Promise<void> {
  const dir = join(cache, '.sessions');
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Removes from a .deb cache every file that a newer version of the same package and architecture supersedes, as
 * `apt-get autoclean` does for apt's own folder: the archive serves one version of a package per suite, so an older
 * one is never asked for again. Sessions keep their own links, so a build running meanwhile loses nothing. */
export async function pruneSupersededDebs(cache: string): Promise<{ files: number; bytes: number }> {
  const newest = new Map<string, { name: string; version: string }>();
  const older: string[] = [];
  for (const name of (await debsIn(cache)).keys()) {
    const m = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(name);
    if (!m) continue;
    // apt escapes only the epoch's ':' (%3a); any other '%' is taken as it is, never decoded (a stray one would throw).
    const version = m[2]!.replace(/%3a/gi, ':');
    const id = `${m[1]}:${m[3]}`;
    const had = newest.get(id);
    if (!had) newest.set(id, { name, version });
    else if (compareDebVersions(version, had.version) > 0) {
      older.push(had.name);
      newest.set(id, { name, version });
    } else older.push(name);
  }
  const removed = { files: 0, bytes: 0 };
  for (const name of older) {
    const st = await lstat(join(cache, name)).catch(() => undefined);
    if (!st?.isFile()) continue;
    await unlink(join(cache, name)).catch(() => undefined);
    removed.files++;
    removed.bytes += st.size;
  }
  return removed;
}
