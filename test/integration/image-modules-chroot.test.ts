// hostname, systemd and kernel_modules in a real chroot (a copy of the minbase tree): they write the
// tree's /etc, follow its symlinks inside it, and never touch the build host's.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { hostname } from '../../src/modules/hostname.js';
import { kernelModules } from '../../src/modules/kernel-modules.js';
import { systemd } from '../../src/modules/systemd.js';
import type { Module } from '../../src/modules/types.js';
import { minbaseCopy, minbaseUnavailable } from '../support/minbase.js';
import { makeContext, prepare } from '../support/module-cases.js';
import { skipWithout } from '../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);

describe.skipIf(skipChroot)('image modules in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  let conn: ChrootConnection;
  const hostFiles = ['/etc/hostname', '/etc/hosts'].map((p) => [p, readFileSync(p, 'utf8')] as const);
  beforeAll(async () => {
    tree = await minbaseCopy();
    conn = await ChrootConnection.open(tree.root);
  });
  afterAll(async () => {
    await conn?.close();
    await tree?.cleanup();
    for (const [p, text] of hostFiles) expect(readFileSync(p, 'utf8'), `the build host's ${p}`).toBe(text);
  });
  const root = (): string => tree?.root as string;
  const run = async <A>(mod: Module<A>, args: Record<string, unknown>) => mod.run(makeContext({ args: await prepare(mod, args), conn }));

  it("names the image, following an absolute /etc/hosts link inside the tree, not the host's", async () => {
    await mkdir(join(root(), 'srv'), { recursive: true });
    await writeFile(join(root(), 'srv/hosts'), '127.0.0.1 localhost\n');
    await symlink('/srv/hosts', join(root(), 'etc/hosts'));
    expect(await run(hostname, { name: 'micro' })).toMatchObject({ changed: true, ansible_facts: { ansible_hostname: 'micro' } });
    expect(await readFile(join(root(), 'etc/hostname'), 'utf8')).toBe('micro\n');
    expect(await readFile(join(root(), 'srv/hosts'), 'utf8')).toBe('127.0.0.1 localhost\n127.0.1.1\tmicro\n');
    expect((await run(hostname, { name: 'micro' })).changed).toBe(false);
  });

  it("enables a unit in the tree's /etc/systemd/system", async () => {
    await mkdir(join(root(), 'usr/lib/systemd/system'), { recursive: true });
    // Ansible's module needs the target's systemctl; the minbase tree has no systemd, so it gets a stand-in (never run).
    await writeFile(join(root(), 'usr/bin/systemctl'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    await writeFile(join(root(), 'usr/lib/systemd/system/imgplay-test.service'), '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n');
    expect(await run(systemd, { name: 'imgplay-test', enabled: true })).toMatchObject({ changed: true, enabled: true });
    expect(await readlink(join(root(), 'etc/systemd/system/multi-user.target.wants/imgplay-test.service'))).toBe('/lib/systemd/system/imgplay-test.service');
    expect((await run(systemd, { name: 'imgplay-test', enabled: true })).changed).toBe(false);
  });

  it('lists kernel modules to load at boot', async () => {
    expect((await run(kernelModules, { names: ['overlay'] })).changed).toBe(true);
    expect(await readFile(join(root(), 'etc/modules-load.d/imgplay.conf'), 'utf8')).toBe('overlay\n');
  });
});
