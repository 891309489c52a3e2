// A Debian tree for tests, built once per machine, cached under IMGPLAY_TEST_CACHE (/var/cache/imgplay-test)
// and copied privately per test: the one way minbase.ts's and service-tree.ts's trees are made, shared and copied.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, realpath, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { bootstrap } from '../../src/image/bootstrap.js';
import { hostAptMirror } from '../../src/image/mirror.js';
import { removeTree } from '../../src/host/mount-table.js';
import { testProxyUrl } from './apt-proxy.js';
import { isAlive } from '../../src/host/process-group.js';
import { lockFile } from './lock-file.js';

const BUILD_TIMEOUT_MS = 20 * 60_000;

/** Where cached test trees live. */
export function testCacheDir(): string {
  return process.env.IMGPLAY_TEST_CACHE ?? '/var/cache/imgplay-test';
}

/** How one cached tree is named and made. */
export interface TreeRecipe {
  /** Its folder name in the cache (changing it builds a new tree). */
  name: string;
  /** What it is, for messages ("the minbase tree"). */
  what: string;
  /** Why it cannot be built here (no root, a missing tool, no mirror), or undefined. */
  unbuildable(): Promise<string | undefined>;
  /** Builds the tree at `target` (not there yet); throws with the tool's reason on failure. */
  build(target: string): Promise<void>;
}

/** A cached tree: whether it can be had, the shared (read-only) tree, and private copies. */
export interface CachedTree {
  unavailable(): Promise<string | undefined>;
  tree(): Promise<string>;
  copy(prefix: string): Promise<{ root: string; cleanup(): Promise<void> }>;
}

/** The cached tree `recipe` makes: built on first use under a lock other test files wait on, then renamed into place. */
export function cachedTree(recipe: TreeRecipe): CachedTree {
  const final = () => join(testCacheDir(), recipe.name);
  const unavailable = async () => (existsSync(final()) ? undefined : recipe.unbuildable());
  let building: Promise<string> | undefined;

  async function ensure(): Promise<string> {
    // The tree only ever appears under its final name by rename, so its presence means it is complete.
    if (existsSync(final())) return final();
    const why = await recipe.unbuildable();
    if (why !== undefined) throw new Error(`cannot build ${recipe.what}: ${why}`);
    await execa('mkdir', ['-p', '--', testCacheDir()]);
    const release = await lockFile(`${final()}.lock`, recipe.what, BUILD_TIMEOUT_MS, () => existsSync(final()));
    try {
      if (existsSync(final())) return final();
      await removeStaleBuilds(recipe);
      const temp = `${final()}.tmp-${process.pid}-${Date.now()}`;
      try {
        await recipe.build(temp);
        // The downloaded .debs would only make every per-test copy slower.
        await execa('sh', ['-c', 'rm -f -- "$1"/var/cache/apt/archives/*.deb', 'sh', temp]);
        await rename(temp, final()).catch(async (err: unknown) => {
          // Another process without our lock (a stale takeover) finished first: use its tree.
          if (!existsSync(final())) throw err;
          await removeTree(temp);
        });
      } catch (err) {
        await removeTree(temp).catch(() => undefined);
        throw err;
      } finally {
        // imgplay's bootstrap() leaves its markers beside the tree it made; the cache keeps only trees.
        for (const what of ['bootstrapping', 'bootstrapped']) await rm(join(dirname(temp), `.${basename(temp)}.imgplay-${what}`), { force: true });
      }
      return final();
    } finally {
      await release();
    }
  }

  return {
    unavailable,
    tree() {
      building ??= ensure().catch((err: unknown) => {
        building = undefined;
        throw err;
      });
      return building;
    },
    async copy(prefix) {
      const tree = await this.tree();
      const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
      const root = join(dir, 'root');
      const cleanup = () => removeTree(dir);
      try {
        await execa('cp', ['-a', '--reflink=auto', '--', tree, root]);
      } catch (err) {
        await cleanup();
        throw err;
      }
      return { root, cleanup };
    },
  };
}

// A build interrupted by a crash leaves NAME.tmp-PID-TIME behind; remove those whose process is gone.
async function removeStaleBuilds(recipe: TreeRecipe): Promise<void> {
  const pattern = new RegExp(`^${recipe.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-\\d+$`);
  for (const name of await readdir(testCacheDir())) {
    const m = pattern.exec(name);
    if (m === null || isAlive(Number(m[1]))) continue;
    await removeTree(join(testCacheDir(), name)).catch((err: unknown) => {
      console.warn(`leaving an interrupted build of ${recipe.what} in place: ${(err as Error).message}`);
    });
  }
}

/** A minbase bookworm tree with `include` installed, made by imgplay's own bootstrap (mmdebstrap), as a cached tree. */
export function bootstrappedTree(name: string, what: string, include: readonly string[]): CachedTree {
  return cachedTree({
    name,
    what,
    async unbuildable() {
      if (process.getuid?.() !== 0) return `building ${what} with mmdebstrap needs root`;
      if (!existsSync('/usr/bin/mmdebstrap')) return '/usr/bin/mmdebstrap (Debian package mmdebstrap)';
      if ((await hostAptMirror()) === undefined) return 'a Debian mirror in the host apt sources';
      return undefined;
    },
    async build(target) {
      await bootstrap({ root: target, release: 'bookworm', arch: 'amd64', variant: 'minbase', components: ['main'], include, noDocs: true, noRecommends: true, proxy: testProxyUrl() });
    },
  });
}
