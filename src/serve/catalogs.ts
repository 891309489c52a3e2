// Hardware catalogs the discovery overlay POSTs: one JSON document per MAC, replaced atomically so a
// reader never sees half of one.
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { atomicWrite } from '../host/atomic-write.js';
import { isAlive } from '../host/process-group.js';

/** One stored catalog, as GET /api/catalog lists it. */
export interface CatalogInfo {
  mac: string;
  size: number;
  /** ISO 8601 UTC. */
  receivedAt: string;
}

// Deeper than any hardware inventory nests, and within what Python's json module (recursion limit 1000)
// reads back. V8's JSON.parse slows down more than linearly with depth: 16 MiB of '[' blocks it for seconds.
export const CATALOG_DEPTH = 512;

// How deep `body` nests arrays and objects, strings skipped; stops counting past `max`.
function nesting(body: Buffer, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > max) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** What is wrong with a posted catalog document (to follow "the catalog for <mac> "), or undefined when it is a JSON object. */
export function catalogProblem(body: Buffer): string | undefined {
  if (nesting(body, CATALOG_DEPTH) > CATALOG_DEPTH) return `nests deeper than ${CATALOG_DEPTH} levels`;
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return `is not JSON: ${(err as Error).message}`;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return `must be a JSON object, not ${Array.isArray(doc) ? 'an array' : doc === null ? 'null' : typeof doc}`;
  return undefined;
}


/** Where `imgplay serve` keeps catalogs unless told: machine state, so /var/lib/imgplay/catalogs for root and
 * $XDG_STATE_HOME/imgplay/catalogs (~/.local/state/...) for anyone else; never the builds folder, which a new build
 * replaces and whose files are served to anyone. */
export function defaultCatalogsDir(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  if (uid === 0) return '/var/lib/imgplay/catalogs';
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'imgplay', 'catalogs');
}

/** The catalogs folder of a server. */
export class CatalogStore {
  constructor(readonly dir: string) {}

  // The file for a MAC already normalized to aa:bb:cc:dd:ee:ff (no path characters in it).
  private fileOf(mac: string): string {
    return join(this.dir, `${mac}.json`);
  }

  /** Stores a catalog document for `mac`, replacing any earlier one. */
  async put(mac: string, body: Buffer): Promise<CatalogInfo> {
    await mkdir(this.dir, { recursive: true });
    const file = this.fileOf(mac);
    await atomicWrite(file, { data: body });
    const st = await stat(file);
    return { mac, size: st.size, receivedAt: st.mtime.toISOString() };
  }

  /**
   * Removes the temporary files of writes that never finished (their server was killed mid-write): the
   * catalog itself is still the old complete one. A file is left alone while its writer may be alive.
   */
  async sweep(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const startedAt = Date.now() - process.uptime() * 1000;
    const removed: string[] = [];
    for (const name of names) {
      // atomicWrite's temp name: .<file>.<pid>.<8 hex>.tmp
      const m = /^\.(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\.json\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
      if (!m) continue;
      const file = join(this.dir, name);
      const pid = Number(m[1]);
      // The same pid is a writer of this process only if the file is no older than the process.
      if (pid === process.pid ? ((await stat(file).catch(() => undefined))?.mtimeMs ?? Infinity) >= startedAt : isAlive(pid)) continue;
      if (await unlink(file).then(() => true, () => false)) removed.push(name);
    }
    return removed;
  }

  /** The stored document for `mac`, or undefined. */
  async get(mac: string): Promise<Buffer | undefined> {
    return readFile(this.fileOf(mac)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }

  /** Every stored catalog, by MAC. */
  async list(): Promise<CatalogInfo[]> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const out: CatalogInfo[] = [];
    for (const name of names.sort()) {
      const m = /^((?:[0-9a-f]{2}:){5}[0-9a-f]{2})\.json$/.exec(name);
      if (!m) continue;
      const st = await stat(join(this.dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ mac: m[1]!, size: st.size, receivedAt: st.mtime.toISOString() });
    }
    return out;
  }
}
