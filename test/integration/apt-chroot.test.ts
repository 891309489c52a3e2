// apt in a real debootstrapped chroot, fetching from the build host's own mirror: packages from the
// archive and a locally built .deb go in and out, changed only when dpkg's installed set changes,
// no service starts, and failures name the package in apt's own words.
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { apt } from '../../src/modules/apt.js';
import type { DiffData } from '../../src/modules/types.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { makeContext, prepare } from '../support/module-cases.js';
import { skipWithout } from '../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);

describe.skipIf(skipChroot)('apt in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  let conn: ChrootConnection;
  let debDir: string;
  let mountsBefore: string;

  beforeAll(async () => {
    mountsBefore = await mountsSnapshot();
    tree = await minbaseCopy();
    conn = await ChrootConnection.open(tree.root, { systemMounts: true });
    debDir = await mkdtemp(join(tmpdir(), 'imgplay-deb-'));
  }, 300_000);
  afterAll(async () => {
    await conn?.close();
    await tree?.cleanup();
    await rm(debDir, { recursive: true, force: true });
    expect(await mountsSnapshot()).toBe(mountsBefore);
  });

  const run = async (args: Record<string, unknown>, opts: { check?: boolean } = {}) =>
    apt.run(makeContext({ args: await prepare(apt, args), conn, check: opts.check ?? false }));
  const dpkgStatus = async (pkg: string): Promise<string> => {
    const r = await conn.exec(['dpkg-query', '-W', '-f', '${Status} ${Version}', pkg]);
    return r.rc === 0 ? r.stdout : 'not installed';
  };
  // Processes whose root is the tree, apart from the connection's own shell (a child of this
  // process): anything a package script left running inside the image.
  const processesInTree = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      const root = await readlink(`/proc/${pid}/root`).catch(() => '');
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (root === tree?.root && ppid !== process.pid) found.push(`${pid} ${stat.slice(0, stat.lastIndexOf(')') + 1)}`);
    }
    return found;
  };

  it('refreshes the package lists, and not again while they are younger than cache_valid_time', async () => {
    const first = await run({ update_cache: true });
    expect(first.failed, first.msg).toBeFalsy();
    expect(first.cache_update_time).toBeGreaterThan(Date.now() / 1000 - 600);
    const again = await run({ update_cache: true, cache_valid_time: 3600 });
    expect(again).toMatchObject({ changed: false, cache_updated: false });
  }, 300_000);

  it('installs a package with a daemon without starting it, and reports no change the second time', async () => {
    expect((await run({ name: 'lldpd', state: 'present' }, { check: true })).changed).toBe(true);
    expect(await dpkgStatus('lldpd')).toBe('not installed');
    const first = await run({ name: ['lldpd'], install_recommends: false });
    expect(first.failed, first.msg).toBeFalsy();
    expect(first.changed).toBe(true);
    expect((first.diff as DiffData | undefined)?.after).toMatch(/^lldpd \S+$/m);
    expect(await dpkgStatus('lldpd')).toMatch(/^install ok installed /);
    expect(await processesInTree()).toEqual([]);
    await expect(readlink(join(tree?.root as string, 'usr/sbin/policy-rc.d'))).rejects.toThrow(/ENOENT/);
    expect((await run({ name: 'lldpd' })).changed).toBe(false);
  }, 300_000);

  it('installs a locally built .deb from the controller without starting its service, and leaves no copy of it in the tree', async () => {
    const pkgDir = join(debDir, 'imgplay-vendor-tool');
    await mkdir(join(pkgDir, 'DEBIAN'), { recursive: true });
    await mkdir(join(pkgDir, 'usr/bin'), { recursive: true });
    await writeFile(join(pkgDir, 'DEBIAN/control'), 'Package: imgplay-vendor-tool\nVersion: 1.2-3\nArchitecture: all\nMaintainer: imgplay tests <t@example.invalid>\nDescription: a vendor flashing tool stand-in\n');
    await writeFile(join(pkgDir, 'usr/bin/vendor-tool'), '#!/bin/sh\necho vendor-tool 1.2\n', { mode: 0o755 });
    // A service its postinst starts the Debian way: invoke-rc.d must be refused by the build's policy-rc.d.
    await mkdir(join(pkgDir, 'etc/init.d'), { recursive: true });
    await writeFile(join(pkgDir, 'etc/init.d/vendor-tool'), '#!/bin/sh\n[ "$1" = start ] && echo started > /var/tmp/vendor-tool-started\nexit 0\n', { mode: 0o755 });
    await writeFile(join(pkgDir, 'DEBIAN/postinst'), '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then update-rc.d vendor-tool defaults >/dev/null; invoke-rc.d vendor-tool start || true; rc=0; /usr/sbin/policy-rc.d vendor-tool start || rc=$?; echo $rc > /var/tmp/vendor-tool-policy; fi\n', { mode: 0o755 });
    const deb = join(debDir, 'vendor-tool_1.2-3_all.deb');
    await execa('dpkg-deb', ['--root-owner-group', '--build', pkgDir, deb]);
    const first = await run({ deb });
    expect(first.failed, first.msg).toBeFalsy();
    expect(first.changed).toBe(true);
    expect(await dpkgStatus('imgplay-vendor-tool')).toBe('install ok installed 1.2-3');
    expect((await conn.exec(['vendor-tool'])).stdout).toBe('vendor-tool 1.2');
    expect((await conn.exec(['test', '-e', '/var/tmp/vendor-tool-started'])).rc, 'the service was started during the build').toBe(1);
    // What invoke-rc.d asked while the package was configured: 101, action forbidden.
    expect((await conn.exec(['cat', '/var/tmp/vendor-tool-policy'])).stdout).toBe('101');
    expect((await readdir(join(tree?.root as string, 'tmp'))).filter((f) => f.endsWith('.deb'))).toEqual([]);
    expect((await run({ deb })).changed).toBe(false);
  }, 300_000);

  it('purges a package, and reports no change when it is already gone', async () => {
    const first = await run({ name: 'imgplay-vendor-tool', state: 'absent', purge: true });
    expect(first.failed, first.msg).toBeFalsy();
    expect(first.changed).toBe(true);
    expect(await dpkgStatus('imgplay-vendor-tool')).toBe('not installed');
    expect((await run({ name: 'imgplay-vendor-tool', state: 'absent', purge: true })).changed).toBe(false);
  }, 300_000);

  it('names an unknown package in apt’s own words, briefly', async () => {
    const r = await run({ name: ['hdparm', 'imgplay-no-such-package'] });
    expect(r.failed).toBe(true);
    expect(r.msg).toContain('E: Unable to locate package imgplay-no-such-package');
    expect((r.msg ?? '').split('\n').length).toBeLessThanOrEqual(3);
    expect(await dpkgStatus('hdparm')).toBe('not installed');
  }, 300_000);

  it('names a version the mirror no longer has', async () => {
    const r = await run({ name: 'lldpd=0.0.1-1' });
    expect(r.failed).toBe(true);
    expect(r.msg).toContain("Version '0.0.1-1' for 'lldpd' was not found");
  }, 300_000);

  it('expands wildcard names and versions over what the mirror offers, in check mode without installing', async () => {
    const r = await run({ name: ['hdpar*', 'lldpd=1.*'], state: 'latest' }, { check: true });
    expect(r.failed, r.msg).toBeFalsy();
    expect(r.changed).toBe(true);
    expect((r.diff as DiffData | undefined)?.after).toMatch(/^Inst hdparm /m);
    expect(await dpkgStatus('hdparm')).toBe('not installed');
  }, 300_000);
});
