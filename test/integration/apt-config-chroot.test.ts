// debconf, apt_key and apt_repository against a real Debian tree (a copy of the minbase tree): they
// change the tree's debconf database and /etc/apt, and never the build host's.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { aptKey } from '../../src/modules/apt-key.js';
import { aptRepository } from '../../src/modules/apt-repository.js';
import { debconf } from '../../src/modules/debconf.js';
import type { Module } from '../../src/modules/types.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { makeContext, prepare } from '../support/module-cases.js';
import { skipWithout } from '../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);

// The build host's apt and debconf state, which no module here may touch.
function hostState(): Record<string, string> {
  const files = ['/var/cache/debconf/config.dat', '/var/cache/debconf/passwords.dat', '/etc/apt/sources.list'];
  const dirs = ['/etc/apt/sources.list.d', '/etc/apt/trusted.gpg.d'];
  const state: Record<string, string> = {};
  for (const f of files) state[f] = existsSync(f) ? readFileSync(f, 'latin1') : '(absent)';
  for (const d of dirs) {
    for (const name of existsSync(d) ? readdirSync(d) : []) state[join(d, name)] = readFileSync(join(d, name), 'latin1');
  }
  return state;
}

describe.skipIf(skipChroot)('apt configuration modules in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  let conn: ChrootConnection;
  let mountsBefore: string;
  const hostBefore = hostState();
  beforeAll(async () => {
    mountsBefore = await mountsSnapshot();
    tree = await minbaseCopy();
    conn = await ChrootConnection.open(tree.root);
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    // Other suites on this machine mount and unmount their own minbase copies meanwhile: judge only
    // mounts that appeared outside those (ours included), and anything left inside our tree.
    const others = (line: string): boolean => /^\S+ \/tmp\/imgplay-minbase-/.test(line) && !line.includes(` ${root()}`);
    const before = new Set(mountsBefore.split('\n'));
    const appeared = (await mountsSnapshot()).split('\n').filter((l) => !before.has(l) && !others(l));
    expect(appeared, 'mounts left behind').toEqual([]);
    await tree?.cleanup();
    expect(hostState()).toEqual(hostBefore);
  });
  const root = (): string => tree?.root as string;
  const run = async <A>(mod: Module<A>, args: Record<string, unknown>, check = false) =>
    mod.run(makeContext({ args: await prepare(mod, args), conn, check, diff: true }));
  const debconfShow = (pkg: string): string => execFileSync('chroot', [root(), 'debconf-show', pkg], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } });

  it('preseeds tzdata and locales answers in the tree, once', async () => {
    const tasks = [
      { name: 'tzdata', question: 'tzdata/Areas', vtype: 'select', value: 'Europe' },
      { name: 'locales', question: 'locales/default_environment_locale', vtype: 'select', value: 'C.UTF-8' },
    ];
    for (const t of tasks) expect((await run(debconf, t, true)).changed, `check mode ${t.question}`).toBe(true);
    expect(debconfShow('tzdata')).not.toContain('tzdata/Areas: Europe');
    for (const t of tasks) expect((await run(debconf, t)).changed, t.question).toBe(true);
    for (const t of tasks) expect((await run(debconf, t)).changed, `again ${t.question}`).toBe(false);
    expect(debconfShow('tzdata')).toContain('* tzdata/Areas: Europe\n');
    expect(debconfShow('locales')).toContain('* locales/default_environment_locale: C.UTF-8\n');
  });

  it('fails naming debconf-show when the tree cannot run it', async () => {
    const bin = join(root(), 'usr/bin/debconf-show');
    await rename(bin, `${bin}.away`);
    try {
      const r = await run(debconf, { name: 'tzdata', question: 'tzdata/Areas', vtype: 'select', value: 'Asia' });
      expect(r).toMatchObject({ failed: true, changed: false, msg: expect.stringContaining('debconf-show tzdata failed on chroot') });
      expect(String(r.msg).split('\n').length).toBeLessThanOrEqual(3);
    } finally {
      await rename(`${bin}.away`, bin);
    }
    expect(debconfShow('tzdata')).toContain('* tzdata/Areas: Europe\n');
  });

  describe('a signed local repository', () => {
    // A key from the host's gpg, in a throwaway GNUPGHOME; the repository is a flat one in the tree
    // (file:/srv/repo), since the network reaches only the Debian archive.
    const gnupg = mkdtempSync(join(tmpdir(), 'imgplay-gpg-'));
    const gpg = (args: string[], input?: string): string =>
      execFileSync('gpg', ['--batch', '--homedir', gnupg, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
    gpg(['--quick-gen-key', '--passphrase', '', 'Repo <repo@example.invalid>', 'ed25519', 'sign', 'never']);
    const fpr = (gpg(['--with-colons', '--fingerprint']).split('\n').find((l) => l.startsWith('fpr:')) as string).split(':')[9] as string;
    const armored = gpg(['--export', '--armor', fpr]);
    afterAll(() => rmSync(gnupg, { recursive: true, force: true }));
    const keyring = '/etc/apt/keyrings/repo.gpg';
    const repo = `deb [signed-by=${keyring}] file:/srv/repo ./`;
    const listFile = 'etc/apt/sources.list.d/file_srv_repo.list';

    beforeAll(async () => {
      const sha = createHash('sha256').update('').digest('hex');
      const release = `Origin: imgplay\nLabel: imgplay\nSuite: test\nCodename: test\nDate: ${new Date().toUTCString()}\nSHA256:\n ${sha} 0 Packages\n`;
      const signed = gpg(['--clearsign', '--local-user', fpr, '--passphrase', '', '--pinentry-mode', 'loopback'], release);
      // Two copies: apt re-verifies only an InRelease it has not cached, so the last test uses the second.
      for (const name of ['repo', 'repo2']) {
        const dir = join(root(), 'srv', name);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'Packages'), '');
        await writeFile(join(dir, 'InRelease'), signed);
      }
      // The tree's own Debian mirror would need the network: only the local repository is updated.
      await writeFile(join(root(), 'etc/apt/sources.list'), '');
    });

    it('writes the key as a binary keyring apt verifies the repository with', async () => {
      expect(await run(aptKey, { id: fpr, data: armored, keyring }, true)).toMatchObject({ changed: true });
      expect(existsSync(join(root(), keyring))).toBe(false);
      expect(await run(aptKey, { id: fpr, data: armored, keyring })).toMatchObject({ changed: true, key_id: fpr, fp: fpr.slice(-16) });
      expect(await run(aptKey, { id: fpr, data: armored, keyring })).toMatchObject({ changed: false });
      expect(readFileSync(join(root(), keyring)).equals(execFileSync('gpg', ['--batch', '--homedir', gnupg, '--export', fpr]))).toBe(true);
      expect(statSync(join(root(), keyring)).mode & 0o777).toBe(0o644);

      expect(await run(aptRepository, { repo, update_cache: false })).toMatchObject({ changed: true });
      expect(readFileSync(join(root(), listFile), 'utf8')).toBe(`${repo}\n`);
      expect(await run(aptRepository, { repo: repo.replace(' ./', '   ./'), update_cache: false })).toMatchObject({ changed: false });

      // With the repository already present nothing changes, so update the cache by re-adding it.
      expect(await run(aptRepository, { repo, state: 'absent', update_cache: false })).toMatchObject({ changed: true });
      expect(existsSync(join(root(), listFile))).toBe(false);
      const added = await run(aptRepository, { repo });
      expect(added, JSON.stringify(added)).toMatchObject({ changed: true });
      expect(existsSync(join(root(), 'var/lib/apt/lists/_srv_repo_._InRelease'))).toBe(true);
    });

    it("fails with apt's own words and puts the sources back when apt-get update fails", async () => {
      const bad = 'deb [signed-by=/etc/apt/keyrings/repo.gpg] file:/srv/none ./';
      const r = await run(aptRepository, { repo: bad, update_cache_retries: 1 });
      expect(r).toMatchObject({ failed: true, msg: expect.stringContaining("E: The repository 'file:/srv/none ./ Release' does not have a Release file.") });
      expect(String(r.msg).split('\n').length).toBeLessThanOrEqual(6);
      expect(existsSync(join(root(), 'etc/apt/sources.list.d/file_srv_none.list'))).toBe(false);
      expect(readFileSync(join(root(), listFile), 'utf8')).toBe(`${repo}\n`);
    });

    it('fails naming apt when the key is not the one the repository is signed with', async () => {
      await run(aptKey, { id: fpr, state: 'absent', keyring });
      expect(existsSync(join(root(), keyring))).toBe(false);
      const other = 'deb [signed-by=/etc/apt/keyrings/repo.gpg] file:/srv/repo2 ./';
      const r = await run(aptRepository, { repo: other, update_cache_retries: 1 });
      expect(r, JSON.stringify(r)).toMatchObject({ failed: true, msg: expect.stringContaining("E: The repository 'file:/srv/repo2 ./ InRelease' is not signed.") });
      expect(existsSync(join(root(), 'etc/apt/sources.list.d/file_srv_repo2.list'))).toBe(false);
    });
  });
});
