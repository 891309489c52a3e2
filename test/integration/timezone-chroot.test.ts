// timezone in an image: the tree's /etc/timezone, /etc/localtime and tzdata's debconf answers change as
// Ansible's module changes them in a chroot (expected values taken from ansible-core 2.14 with
// community.general.chroot on the same minbase tree); the build host's own timezone never does.
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { LocalConnection } from '../../src/connection/local.js';
import { timezone } from '../../src/modules/timezone.js';
import type { Connection } from '../../src/connection/types.js';
import { minbaseCopy, minbaseUnavailable, mountPointsUnder } from '../support/minbase.js';
import { makeContext, prepare } from '../support/module-cases.js';
import { skipWithout } from '../support/needs.js';

const skipChroot = skipWithout(await minbaseUnavailable());
const hostZone = () => {
  const link = lstatSync('/etc/localtime', { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkSync('/etc/localtime') : undefined;
  return { link, file: readFileSync('/etc/timezone', { encoding: 'utf8', flag: 'r' }) };
};

async function runTimezone(conn: Connection, args: Record<string, unknown>, check = false) {
  return timezone.run(makeContext({ args: await prepare(timezone, args), conn, check, diff: true }));
}

describe.skipIf(skipChroot)('timezone in a chroot', () => {
  const trees: { root: string; cleanup(): Promise<void> }[] = [];
  const conns: ChrootConnection[] = [];
  let hostBefore: ReturnType<typeof hostZone> | undefined;
  const open = async () => {
    const tree = await minbaseCopy();
    trees.push(tree);
    const conn = await ChrootConnection.open(tree.root);
    conns.push(conn);
    return { root: tree.root, conn };
  };
  beforeAll(async () => {
    hostBefore = hostZone();
  });
  afterAll(async () => {
    for (const c of conns) await c.close();
    // Only this file's trees: other test runs on the host may mount and unmount meanwhile.
    for (const t of trees) expect(await mountPointsUnder(t.root)).toEqual([]);
    for (const t of trees) await t.cleanup();
  });

  it("sets the tree's zone as Ansible does, then finds nothing to do", async () => {
    const { root, conn } = await open();
    const first = await runTimezone(conn, { name: 'Europe/Paris' });
    expect(first).toMatchObject({ changed: true, msg: 'Added 1 line and deleted 1 line(s) on /etc/timezone' });
    expect(first.diff).toEqual({ before: { name: 'Etc/UTC' }, after: { name: 'Europe/Paris' } });
    expect(await readFile(join(root, 'etc/timezone'), 'utf8')).toBe('Europe/Paris\n');
    expect(await readlink(join(root, 'etc/localtime'))).toBe('/usr/share/zoneinfo/Europe/Paris');
    const debconf = await readFile(join(root, 'var/cache/debconf/config.dat'), 'utf8');
    expect(debconf).toMatch(/Name: tzdata\/Areas\nTemplate: tzdata\/Areas\nValue: Europe\n/);
    expect(debconf).toMatch(/Name: tzdata\/Zones\/Europe\nTemplate: tzdata\/Zones\/Europe\nValue: Paris\n/);
    const again = await runTimezone(conn, { name: 'Europe/Paris' });
    expect(again.changed).toBe(false);
  });

  it('predicts the change in check mode and touches nothing', async () => {
    const { root, conn } = await open();
    const checked = await runTimezone(conn, { name: 'America/New_York' }, true);
    expect(checked.changed).toBe(true);
    expect(await readFile(join(root, 'etc/timezone'), 'utf8')).toBe('Etc/UTC\n');
    expect(await readlink(join(root, 'etc/localtime'))).toBe('/usr/share/zoneinfo/Etc/UTC');
    expect((await runTimezone(conn, { name: 'Etc/UTC' }, true)).changed).toBe(false);
    // Ansible reads hwclock from /etc/default/rcS, which bookworm no longer has: it always looks unset.
    expect(await runTimezone(conn, { name: 'Etc/UTC', hwclock: 'UTC' }, true)).toMatchObject({ changed: true, diff: { before: { hwclock: 'n/a', name: 'Etc/UTC' } } });
  });

  it('refuses a zone the tree does not have, in Ansible words', async () => {
    const { conn } = await open();
    expect(await runTimezone(conn, { name: 'Nowhere/Else' })).toMatchObject({ failed: true, msg: 'Error message:\ngiven timezone "Nowhere/Else" is not available' });
  });

  it("refuses to change the hardware clock, which would be the build host's", async () => {
    const { root, conn } = await open();
    const r = await runTimezone(conn, { rtc: 'local', name: 'Europe/Paris' });
    expect(r.failed).toBe(true);
    expect(r.msg).toContain('hwclock --systohc');
    expect(await readFile(join(root, 'etc/timezone'), 'utf8')).toBe('Etc/UTC\n');
  });

  it('refuses the local connection, whose timezone is the build host’s', async () => {
    const r = await runTimezone(new LocalConnection(), { name: 'Europe/Paris' });
    expect(r).toMatchObject({ failed: true });
    expect(r.msg).toContain("build host's own timezone");
  });

  it("has not changed the build host's timezone", () => {
    expect(hostZone()).toEqual(hostBefore);
  });
});

describe('timezone arguments', () => {
  it('needs a name or a hwclock', async () => {
    await expect(prepare(timezone, {})).rejects.toThrow('one of the following is required: hwclock, name');
  });
});
