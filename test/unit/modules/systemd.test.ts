import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mangle, parseInstall, service, systemd } from '../../../src/modules/systemd.js';
import { ConfinedConnection, type TreeSpec, buildTree, cases, makeContext, prepare, snapshot } from '../../support/module-cases.js';
import { rooted, rootedRows } from '../../support/rooted-module.js';
import { lacking, skipWithout } from '../../support/needs.js';

const lib = 'usr/lib/systemd/system';
const etc = 'etc/systemd/system';
const units: TreeSpec = {
  [`${lib}/foo.service`]: '[Unit]\nDescription=foo\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nRequiredBy=bar.target\nAlias=foo2.service\nAlso=helper.socket\n',
  [`${lib}/helper.socket`]: '[Socket]\nListenStream=/run/x\n[Install]\nWantedBy=sockets.target\n',
  [`${lib}/static.service`]: '[Service]\nExecStart=/bin/true\n',
  [`${lib}/tpl@.service`]: '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nDefaultInstance=a\n',
  [`${lib}/bare@.service`]: '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n',
};
const fooLinks: TreeSpec = {
  [`${etc}/multi-user.target.wants/foo.service`]: { link: '/usr/lib/systemd/system/foo.service' },
  [`${etc}/bar.target.requires/foo.service`]: { link: '/usr/lib/systemd/system/foo.service' },
  [`${etc}/foo2.service`]: { link: '/usr/lib/systemd/system/foo.service' },
  [`${etc}/sockets.target.wants/helper.socket`]: { link: '/usr/lib/systemd/system/helper.socket' },
};
const masked = { [`${etc}/foo.service`]: { link: '/dev/null' } };

describe('systemd', () => {
  cases(
    rooted(systemd),
    rootedRows([
      {
        name: 'enables a unit as systemctl --root does: wants, requires, alias and Also= links',
        args: { name: 'foo.service', enabled: true },
        before: units,
        changed: true,
        after: { ...units, ...fooLinks },
        result: { name: 'foo.service', enabled: true },
      },
      {
        name: 'completes a bare name to a .service unit',
        args: { name: 'foo', enabled: 'yes' },
        before: units,
        changed: true,
        after: { ...units, ...fooLinks },
        result: { name: 'foo', enabled: true },
      },
      {
        name: 'leaves an enabled unit alone',
        args: { service: 'foo', enabled: true },
        before: { ...units, ...fooLinks },
        changed: false,
        result: { enabled: true },
      },
      {
        name: 'disables a unit, removing its links and those of its Also= units',
        args: { unit: 'foo', enabled: false },
        before: { ...units, ...fooLinks, [`${etc}/multi-user.target.wants/other.service`]: { link: '/x' } },
        changed: true,
        after: {
          ...units,
          [`${etc}/multi-user.target.wants`]: { dir: true },
          [`${etc}/multi-user.target.wants/other.service`]: { link: '/x' },
          [`${etc}/bar.target.requires`]: { dir: true },
          [`${etc}/sockets.target.wants`]: { dir: true },
        },
        result: { enabled: false },
      },
      {
        name: 'prefers a unit file in /etc/systemd/system and links to it there',
        args: { name: 'helper.socket', enabled: true },
        before: { ...units, [`${etc}/helper.socket`]: '[Install]\nWantedBy=custom.target\n' },
        changed: true,
        after: { ...units, [`${etc}/helper.socket`]: '[Install]\nWantedBy=custom.target\n', [`${etc}/custom.target.wants/helper.socket`]: { link: '/etc/systemd/system/helper.socket' } },
      },
      {
        name: 'counts a unit without [Install] as enabled, as Ansible reads is-enabled "static"',
        args: { name: 'static', enabled: true },
        before: units,
        changed: false,
        result: { enabled: true },
      },
      {
        name: 'reports disabling a static unit as a change every time, as Ansible does',
        args: { name: 'static', enabled: false },
        before: units,
        changed: true,
        again: true,
        result: { enabled: false },
      },
      {
        name: 'enables a template through its DefaultInstance',
        args: { name: 'tpl@.service', enabled: true },
        before: units,
        changed: true,
        after: { ...units, [`${etc}/multi-user.target.wants/tpl@a.service`]: { link: '/usr/lib/systemd/system/tpl@.service' } },
      },
      {
        name: 'enables a named instance of a template',
        args: { name: 'bare@eth0.service', enabled: true },
        before: units,
        changed: true,
        after: { ...units, [`${etc}/multi-user.target.wants/bare@eth0.service`]: { link: '/usr/lib/systemd/system/bare@.service' } },
      },
      {
        name: 'refuses a template without DefaultInstance and no instance',
        args: { name: 'bare@.service', enabled: true },
        before: units,
        error: 'Unable to enable service bare@.service: Failed to enable unit: bare@.service is a template without DefaultInstance=',
      },
      {
        name: 'masks a unit with a link to /dev/null',
        args: { name: 'foo', masked: true },
        before: units,
        changed: true,
        after: { ...units, ...masked },
        result: { masked: true },
      },
      {
        name: 'masks a unit the tree does not have, as systemctl does',
        args: { name: 'ghost', masked: true },
        changed: true,
        after: { [`${etc}/ghost.service`]: { link: '/dev/null' } },
      },
      {
        name: 'unmasks a unit',
        args: { name: 'foo', masked: false },
        before: { ...units, ...masked },
        changed: true,
        after: { ...units, [etc]: { dir: true } },
      },
      { name: 'leaves an unmasked unit alone', args: { name: 'foo', masked: false }, before: units, changed: false },
      {
        name: 'refuses to mask over a unit file in /etc',
        args: { name: 'helper.socket', masked: true },
        before: { [`${etc}/helper.socket`]: '[Socket]\n' },
        error: 'Unable to mask service helper.socket: Failed to mask unit: File /etc/systemd/system/helper.socket already exists.',
      },
      {
        name: 'refuses to enable a masked unit, as systemctl does',
        args: { name: 'foo', enabled: true },
        before: { ...units, ...masked },
        error: 'Unable to enable service foo: Failed to enable unit: Unit file /etc/systemd/system/foo.service is masked.',
      },
      {
        name: 'refuses to overwrite a link that points elsewhere',
        args: { name: 'foo', enabled: true },
        before: { ...units, [`${etc}/foo2.service`]: { link: '/usr/lib/systemd/system/other.service' } },
        error: 'File /etc/systemd/system/foo2.service already exists and is a symlink to /usr/lib/systemd/system/other.service.',
      },
      {
        name: 'replaces a link that points elsewhere with force',
        args: { name: 'foo', enabled: true, force: true },
        before: { ...units, [`${etc}/foo2.service`]: { link: '/usr/lib/systemd/system/other.service' } },
        changed: true,
        after: { ...units, ...fooLinks },
      },
      { name: 'fails for a unit the tree does not have', args: { name: 'nothere', enabled: true }, before: units, error: 'Could not find the requested service nothere: host' },
      {
        name: 'refuses to start a service while building',
        args: { name: 'foo', state: 'started' },
        before: units,
        invalid: 'state=started is not supported by imgplay: imgplay never starts or stops services while building an image',
      },
      { name: 'refuses user units', args: { name: 'foo', enabled: true, scope: 'user' }, before: units, invalid: 'scope=user is not supported by imgplay' },
      { name: 'treats daemon_reload as done', args: { daemon_reload: true }, changed: false },
      { name: "takes Ansible's dashed daemon-reload", args: { 'daemon-reload': 'yes' }, changed: false },
      // Ansible's required_one_of counts daemon_reload's default, so a bare name passes and changes nothing.
      { name: 'does nothing with only a name, as Ansible', args: { name: 'foo' }, before: units, changed: false, result: { name: 'foo' } },
      { name: 'needs a name to enable', args: { enabled: true }, invalid: "missing parameter(s) required by 'enabled': name" },
      { name: 'refuses an unknown state', args: { name: 'foo', state: 'running' }, invalid: 'value of state must be one of: reloaded, restarted, started, stopped, got: running' },
    ]),
  );

  it('answers to service and systemd_service too', () => {
    expect(service.name).toBe('service');
    expect(service.aliases).toContain('ansible.builtin.service');
    expect(service.run).toBe(systemd.run);
  });

  it("lets service take the arguments Ansible's service action drops for systemd, and warns about them", async () => {
    const args = await prepare(service, { name: 'foo', args: '-x', sleep: '2', pattern: 'foo', use: 'auto' });
    expect(args).toMatchObject({ name: 'foo', arguments: '-x', sleep: 2, pattern: 'foo' });
    // Only a name: the run returns before it looks at any file, so no tree is needed.
    const r = await service.run(makeContext({ args }));
    expect(r.warnings).toEqual(['Ignoring "sleep" as it is not used in "systemd"', 'Ignoring "pattern" as it is not used in "systemd"', 'Ignoring "arguments" as it is not used in "systemd"']);
    await expect(prepare(systemd, { name: 'foo', pattern: 'x' })).rejects.toThrow('Unsupported parameters for (systemd) module: pattern');
  });

  it('completes unit names and reads [Install] sections', () => {
    expect(mangle('sshd')).toBe('sshd.service');
    expect(mangle('a.socket')).toBe('a.socket');
    expect(mangle('a.b')).toBe('a.b.service');
    expect(parseInstall('[Install]\nWantedBy=a.target \\\n  b.target\n# x\nWantedBy=\nWantedBy=c.target\n[Service]\nAlias=no\n')).toEqual({
      wantedBy: ['c.target'],
      requiredBy: [],
      alias: [],
      also: [],
    });
  });
});

// The real systemctl, where the build host has one, is the reference for the links.
const systemctl = (() => {
  try {
    execFileSync('systemctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(skipWithout(lacking([systemctl, 'systemctl (Debian package systemd)'])))('systemd compared with systemctl --root', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const links = async (dir: string) =>
    Object.fromEntries(Object.entries(await snapshot(join(dir, 'etc'))).flatMap(([k, n]) => (n.type === 'link' ? [[k, n.link]] : [])));

  for (const [unit, enabled, before] of [
    ['foo.service', true, {}],
    ['tpl@.service', true, {}],
    ['bare@x.service', true, {}],
    ['foo.service', false, fooLinks],
  ] as const) {
    it(`makes the same links as systemctl ${enabled ? 'enable' : 'disable'} ${unit}`, async () => {
      const ours = await mkdtemp(join(tmpdir(), 'imgplay-sd-'));
      const theirs = await mkdtemp(join(tmpdir(), 'imgplay-sd-'));
      dirs.push(ours, theirs);
      await buildTree(ours, { ...units, ...before });
      await cp(ours, theirs, { recursive: true, verbatimSymlinks: true });
      const args = await prepare(systemd, { name: unit, enabled });
      const r = await systemd.run(makeContext({ args, conn: new ConfinedConnection(ours) }));
      expect(r.failed ?? false, JSON.stringify(r)).toBe(false);
      execFileSync('systemctl', [`--root=${theirs}`, enabled ? 'enable' : 'disable', unit], { stdio: 'ignore' });
      expect(await links(ours)).toEqual(await links(theirs));
    });
  }
});
