// alternatives in an image: update-alternatives runs in the tree and changes only its own links and
// records. The steps, messages and changed flags are those ansible-core 2.14 (community.general.chroot)
// gave on the same minbase tree; the build host's alternatives never change.
import { readFile, readlink, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { LocalConnection } from '../../src/connection/local.js';
import { alternatives } from '../../src/modules/alternatives.js';
import type { Connection } from '../../src/connection/types.js';
import { minbaseCopy, minbaseUnavailable, mountPointsUnder } from '../support/minbase.js';
import { makeContext, prepare } from '../support/module-cases.js';
import { skipWithout } from '../support/needs.js';

const skipChroot = skipWithout(await minbaseUnavailable());

async function runAlt(conn: Connection, args: Record<string, unknown>, check = false) {
  return alternatives.run(makeContext({ args: await prepare(alternatives, args), conn, check, diff: true }));
}

describe.skipIf(skipChroot)('alternatives in a chroot', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  let conn: ChrootConnection | undefined;
  let hostBefore: string[] = [];
  const link = () => readlink(join(tree!.root, 'etc/alternatives/imgtest'));
  beforeAll(async () => {
    hostBefore = (await readdir('/etc/alternatives')).sort();
    tree = await minbaseCopy();
    conn = await ChrootConnection.open(tree.root);
  });
  afterAll(async () => {
    await conn?.close();
    if (tree !== undefined) expect(await mountPointsUnder(tree.root)).toEqual([]);
    await tree?.cleanup();
  });

  const base = { name: 'imgtest', link: '/usr/local/bin/imgtest' };
  it('installs and selects an alternative', async () => {
    expect(await runAlt(conn!, { ...base, path: '/bin/true', priority: 10 }, true)).toMatchObject({ changed: true });
    const r = await runAlt(conn!, { ...base, path: '/bin/true', priority: 10 });
    expect(r).toMatchObject({ changed: true, msg: "Install alternative '/bin/true' for 'imgtest'. Set alternative '/bin/true' for 'imgtest'." });
    expect(await link()).toBe('/bin/true');
    expect(await readlink(join(tree!.root, 'usr/local/bin/imgtest'))).toBe('/etc/alternatives/imgtest');
    expect(await runAlt(conn!, { ...base, path: '/bin/true', priority: 10 })).toMatchObject({ changed: false, msg: '' });
  });

  it('adds a second one with a follower, leaves the choice, then returns to auto mode', async () => {
    const sub = [{ name: 'imgtest.1', link: '/usr/local/share/imgtest.1', path: '/bin/ls' }];
    expect(await runAlt(conn!, { ...base, path: '/bin/false', priority: 20, state: 'present', slaves: sub })).toMatchObject({ changed: true, msg: "Install alternative '/bin/false' for 'imgtest'." });
    expect(await link()).toBe('/bin/true');
    expect(await runAlt(conn!, { name: 'imgtest', path: '/bin/true' })).toMatchObject({ changed: false });
    expect(await runAlt(conn!, { name: 'imgtest', path: '/bin/false', state: 'auto' })).toMatchObject({ changed: true, msg: "Set alternative to auto for 'imgtest'." });
    expect(await link()).toBe('/bin/false');
    expect(await readlink(join(tree!.root, 'etc/alternatives/imgtest.1'))).toBe('/bin/ls');
  });

  it('removes one', async () => {
    expect(await runAlt(conn!, { name: 'imgtest', path: '/bin/true', state: 'absent' })).toMatchObject({ changed: true, msg: "Remove alternative '/bin/true' from 'imgtest'." });
    expect(await readFile(join(tree!.root, 'var/lib/dpkg/alternatives/imgtest'), 'utf8')).not.toContain('/bin/true');
    expect(await runAlt(conn!, { name: 'imgtest', path: '/bin/true', state: 'absent' })).toMatchObject({ changed: false });
  });

  it('fails as Ansible does without a link or a path', async () => {
    expect(await runAlt(conn!, { name: 'imgnone', path: '/bin/cat' })).toMatchObject({ failed: true, msg: 'Needed to install the alternative, but unable to do so as we are missing the link' });
    expect(await runAlt(conn!, { name: 'imgtest', path: '/nonexistent', link: '/usr/bin/x' })).toMatchObject({ failed: true, msg: 'Specified path /nonexistent does not exist' });
    expect(await runAlt(conn!, { name: 'imgtest', path: '/bin/cat', subcommands: [{ name: 'x', path: '/bin/ls' }] })).toMatchObject({ failed: true, msg: 'missing required arguments: link found in subcommands' });
  });

  it('refuses the local connection, whose alternatives are the build host’s', async () => {
    expect((await runAlt(new LocalConnection(), { name: 'imgtest', path: '/bin/true', link: '/usr/local/bin/imgtest' })).msg).toContain("build host's own alternatives");
    expect((await readdir('/etc/alternatives')).sort()).toEqual(hostBefore);
  });
});
