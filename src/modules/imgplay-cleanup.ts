// imgplay_cleanup: what a built tree should not carry into an image: apt's caches and lists, docs,
// unused locales, logs, the machine id and ssh host keys (so no two booted nodes share one), and the
// caches that differ between two builds of the same packages (so the images are reproducible).
import { lstat, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { mountTable, mountsUnder } from '../host/mount-table.js';
import { aptOwnsPartial } from '../image/bootstrap.js';
import { fnmatchToRegExp } from './support/glob.js';
import { defineModule } from './spec.js';
import { failed } from './types.js';
import type { Connection } from '../connection/types.js';
export const imgplayCleanup = defineModule(
  {
    name: 'imgplay_cleanup',
    collection: 'imgplay',
    doc: {
      short: 'Removes from a built tree what an image should not carry (imgplay only).',
      description:
        "Runs over the chroot connection, never on the build host. Removes apt's caches and lists (`apt`), docs (`docs`), locale directories other than `keep_locales`, rotated logs and the contents of the others (`logs`), `/etc/machine-id` emptied so each boot makes its own (`machine_id`), ssh host keys (`ssh_host_keys`: no two booted nodes share a key; the base role generates them at boot), caches and seeds that differ from build to build (`varying`, so two builds of the same packages are the same bytes), `/tmp`, `/var/tmp` and `*-old` files (`tmp`), and any `paths`. Each is on by default. Never walks into a mount.",
      returns: "`removed` (a count), `freed_bytes`, `paths` (what was removed) when there are 50 or fewer, and `owned_by_apt`: apt's partial/ folders given the owner and mode apt gives them when it downloads (_apt, root's group, 0700), which a build whose packages all came from the .deb cache leaves root's.",
      checkMode: 'Counts what it would remove; nothing is removed.',
      differences: ['There is no Ansible equivalent.'],
    },
    args: {
      apt: { type: 'bool', default: true, description: "apt's downloaded packages, caches and lists; its partial/ folders are kept, owned as apt owns them after a download." },
      docs: { type: 'bool', default: true, description: '`/usr/share/doc` (copyright files kept), man and info pages.' },
      keep_locales: { type: 'list', elements: 'str', default: ['en'], description: 'Locale directories of `/usr/share/locale` to keep (language names such as `en`, `de`); the others go.' },
      logs: { type: 'bool', default: true, description: 'Rotated logs under `/var/log` removed, the others emptied.' },
      machine_id: { type: 'bool', default: true, description: '`/etc/machine-id` emptied and dbus\'s copy removed.' },
      ssh_host_keys: { type: 'bool', default: true, description: 'The ssh host keys in `/etc/ssh`.' },
      varying: {
        type: 'bool',
        default: true,
        description:
          "Files whose content differs between two builds of the same packages: ldconfig's `/var/cache/ldconfig/aux-cache` (inode numbers and times of the libraries; ldconfig makes it again), systemd's `/var/lib/systemd/random-seed` and `credential.secret`.",
      },
      tmp: { type: 'bool', default: true, description: "`/tmp`, `/var/tmp`, `*-old` files of debconf and dpkg, and root's shell history." },
      paths: { type: 'list', elements: 'str', default: [], description: 'More target paths to delete; the last component may hold wildcards.' },
    },
    checkMode: 'full',
  },
  async ({ conn, args, check }) => {
    if (conn.kind !== 'chroot') return failed('imgplay_cleanup cleans an image tree: run it over a chroot connection, never on the build host');
    const c = new Cleaner(conn, check);
    if (args.apt) {
      await c.remove('/var/cache/apt/archives', (n) => n.endsWith('.deb'));
      await c.remove('/var/cache/apt/archives/partial', () => true);
      await c.remove('/var/cache/apt', (n) => n.endsWith('.bin'));
      await c.remove('/var/lib/apt/lists', (n) => n !== 'lock' && n !== 'partial');
      await c.remove('/var/lib/apt/lists/partial', () => true);
      // apt hands its partial/ folders to _apt (mode 0700) only when it downloads something: a build whose
      // packages all came from the .deb cache would leave them root's, and the image would differ.
      c.normalized.push(...(await aptOwnsPartial((p) => conn.hostPath(p), { check })));
    }
    if (args.docs) {
      await c.remove('/usr/share/doc', () => true, { keep: (rel) => /^[^/]+\/copyright$/.test(rel) });
      for (const d of ['/usr/share/man', '/usr/share/info', '/usr/share/lintian', '/usr/share/linda']) await c.remove(d, () => true);
    }
    if (args.keep_locales.length > 0 || args.docs) {
      const keep = new Set(args.keep_locales);
      await c.remove('/usr/share/locale', (n) => n !== 'locale.alias' && !keep.has(n) && !keep.has(n.split(/[_.@]/)[0] as string));
    }
    if (args.logs) await c.truncateLogs('/var/log');
    if (args.machine_id) {
      await c.empty('/etc/machine-id');
      await c.remove('/var/lib/dbus', (n) => n === 'machine-id');
    }
    if (args.ssh_host_keys) await c.remove('/etc/ssh', (n) => /^ssh_host_.*_key(\.pub)?$/.test(n));
    if (args.varying) {
      await c.remove('/var/cache/ldconfig', (n) => n === 'aux-cache');
      await c.remove('/var/lib/systemd', (n) => n === 'random-seed' || n === 'credential.secret');
    }
    if (args.tmp) {
      await c.remove('/tmp', () => true);
      await c.remove('/var/tmp', () => true);
      await c.remove('/var/cache/debconf', (n) => n.endsWith('-old'));
      await c.remove('/var/lib/dpkg', (n) => n.endsWith('-old'));
      await c.remove('/root', (n) => n === '.bash_history' || n === '.lesshst' || n === '.wget-hsts');
    }
    for (const p of args.paths) {
      const dir = posix.dirname(p);
      const re = fnmatchToRegExp(posix.basename(p));
      await c.remove(dir, (n) => re.test(n));
    }
    return {
      changed: c.removed.length > 0 || c.normalized.length > 0,
      removed: c.removed.length,
      freed_bytes: c.freed,
      ...(c.removed.length <= 50 ? { paths: c.removed } : {}),
      ...(c.normalized.length > 0 ? { owned_by_apt: c.normalized } : {}),
    };
  },
);

class Cleaner {
  readonly removed: string[] = [];
  /** apt partial/ folders given apt's owner and mode. */
  readonly normalized: string[] = [];
  freed = 0;

  constructor(
    private readonly conn: Connection,
    private readonly check: boolean,
  ) {}

  // Deletes the entries of `dir` whose names match; a kept subpath survives inside a removed directory.
  async remove(dir: string, match: (name: string) => boolean, opts: { keep?: (rel: string) => boolean } = {}): Promise<void> {
    const host = await this.conn.hostPath(dir);
    const names = await readdir(host).catch(() => [] as string[]);
    const mounts = mountsUnder(await mountTable(), host);
    for (const name of names.sort()) {
      if (!match(name)) continue;
      const entry = posix.join(host, name);
      // A mount inside (a build's /tmp on tmpfs, say) is never walked into.
      if (mounts.some((m) => m === entry || m.startsWith(`${entry}/`))) continue;
      if (opts.keep !== undefined && (await lstat(entry)).isDirectory()) {
        const kept = await this.removeExcept(entry, name, opts.keep);
        if (kept) continue;
      }
      this.freed += await sizeOf(entry);
      this.removed.push(posix.join(dir, name));
      if (!this.check) await rm(entry, { recursive: true, force: true });
    }
  }

  // Returns true if something was kept (so the directory itself stays).
  private async removeExcept(hostDir: string, rel: string, keep: (rel: string) => boolean): Promise<boolean> {
    let kept = false;
    for (const name of await readdir(hostDir)) {
      const child = posix.join(hostDir, name);
      const childRel = `${rel}/${name}`;
      if (keep(childRel)) {
        kept = true;
        continue;
      }
      if ((await lstat(child)).isDirectory() && (await this.removeExcept(child, childRel, keep))) {
        kept = true;
        continue;
      }
      this.freed += await sizeOf(child);
      this.removed.push(childRel);
      if (!this.check) await rm(child, { recursive: true, force: true });
    }
    return kept;
  }

  async empty(path: string): Promise<void> {
    const host = await this.conn.hostPath(path);
    const st = await lstat(host).catch(() => undefined);
    if (st === undefined || !st.isFile() || st.size === 0) return;
    this.removed.push(`${path} (emptied)`);
    this.freed += st.size;
    // Empty rather than absent: systemd then makes a fresh id on each boot instead of treating it as first boot.
    if (!this.check) await writeFile(host, '');
  }

  // Logs are emptied, not deleted (services expect their files); rotated copies go.
  async truncateLogs(dir: string): Promise<void> {
    const host = await this.conn.hostPath(dir);
    for (const name of await readdir(host).catch(() => [] as string[])) {
      const entry = posix.join(host, name);
      const st = await lstat(entry);
      const rel = posix.join(dir, name);
      if (st.isDirectory()) await this.truncateLogs(rel);
      else if (!st.isFile()) continue;
      else if (/\.(\d+|gz|xz|old)$/.test(name)) {
        this.removed.push(rel);
        this.freed += st.size;
        if (!this.check) await rm(entry, { force: true });
      } else if (st.size > 0) {
        this.removed.push(`${rel} (emptied)`);
        this.freed += st.size;
        if (!this.check) await truncate(entry, 0);
      }
    }
  }
}

async function sizeOf(host: string): Promise<number> {
  const st = await lstat(host).catch(() => undefined);
  if (st === undefined) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(host).catch(() => [] as string[])) total += await sizeOf(posix.join(host, name));
  return total;
}
