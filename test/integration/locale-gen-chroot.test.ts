// locale_gen in an image: /etc/locale.gen and the compiled locales of the tree change as Ansible's module
// changes them in a chroot (results taken from ansible-core 2.14 with community.general.chroot on the same
// minbase tree with `locales` installed); the build host's locales never do.
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { LocalConnection } from '../../src/connection/local.js';
import { localeGen } from '../../src/modules/locale-gen.js';
import type { Connection } from '../../src/connection/types.js';
import { minbaseCopy, minbaseUnavailable, mountPointsUnder } from '../support/minbase.js';
import { makeContext, prepare } from '../support/module-cases.js';
import { skipWithout } from '../support/needs.js';

const skipChroot = skipWithout(await minbaseUnavailable());

async function runLocaleGen(conn: Connection, args: Record<string, unknown>, check = false) {
  return localeGen.run(makeContext({ args: await prepare(localeGen, args), conn, check }));
}

describe.skipIf(skipChroot)('locale_gen in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  let conn: ChrootConnection | undefined;
  const hostLocales = async () => (await execa('locale', ['-a'])).stdout;
  let hostBefore = '';
  const localeGenFile = () => readFile(join(tree!.root, 'etc/locale.gen'), 'utf8');
  const compiled = async () => (await execa('chroot', [tree!.root, 'locale', '-a'])).stdout.split('\n');

  beforeAll(async () => {
    hostBefore = await hostLocales();
    tree = await minbaseCopy();
    await copyFile('/etc/resolv.conf', join(tree.root, 'etc/resolv.conf'));
    const env = { DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    await execa('chroot', [tree.root, 'apt-get', 'update', '-q'], { env });
    await execa('chroot', [tree.root, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', 'locales'], { env });
    conn = await ChrootConnection.open(tree.root);
  }, 600_000);
  afterAll(async () => {
    await conn?.close();
    if (tree !== undefined) expect(await mountPointsUnder(tree.root)).toEqual([]);
    await tree?.cleanup();
  });

  it('enables and compiles a listed locale, then finds nothing to do', async () => {
    expect(await runLocaleGen(conn!, { name: 'de_CH.UTF-8' }, true)).toEqual({ changed: true });
    expect(await localeGenFile()).toContain('\n# de_CH.UTF-8 UTF-8\n');
    expect(await runLocaleGen(conn!, { name: 'de_CH.UTF-8' })).toEqual({ name: 'de_CH.UTF-8', changed: true, msg: 'OK' });
    expect(await localeGenFile()).toContain('\n# de_CH ISO-8859-1\nde_CH.UTF-8 UTF-8\n');
    expect(await compiled()).toContain('de_CH.utf8');
    expect(await runLocaleGen(conn!, { name: 'de_CH.UTF-8' })).toEqual({ name: 'de_CH.UTF-8', changed: false, msg: 'OK' });
  }, 120_000);

  it('disables it again: commented out and no longer compiled', async () => {
    expect(await runLocaleGen(conn!, { name: 'de_CH.UTF-8', state: 'absent' })).toMatchObject({ changed: true });
    expect(await localeGenFile()).toContain('\n# de_CH.UTF-8 UTF-8\n');
    expect(await compiled()).not.toContain('de_CH.utf8');
    expect(await runLocaleGen(conn!, { name: 'fr_FR.UTF-8', state: 'absent' })).toMatchObject({ changed: false });
  }, 120_000);

  it('refuses a locale that locale.gen does not list, in Ansible words', async () => {
    expect(await runLocaleGen(conn!, { name: 'xx_YY' })).toMatchObject({ failed: true, msg: "The locale you've entered is not available on your system." });
  });

  it('refuses the local connection, whose locales are the build host’s', async () => {
    expect((await runLocaleGen(new LocalConnection(), { name: 'de_CH.UTF-8' })).msg).toContain("build host's own locales");
    expect(await hostLocales()).toBe(hostBefore);
  });
});

describe.skipIf(skipChroot)('locale_gen without the locales package', () => {
  it('fails as Ansible does', async () => {
    const tree = await minbaseCopy();
    const conn = await ChrootConnection.open(tree.root);
    try {
      expect(await runLocaleGen(conn, { name: 'de_CH.UTF-8' })).toMatchObject({
        failed: true,
        msg: '/etc/locale.gen and /var/lib/locales/supported.d/local are missing. Is the package "locales" installed?',
      });
    } finally {
      await conn.close();
      await tree.cleanup();
    }
  });
});
