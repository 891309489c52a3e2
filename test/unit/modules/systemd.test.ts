import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROOT_WARNING, mangle, parseInstall, service, systemd } from '../../../src/modules/systemd.js';
import { type Case, ConfinedConnection, type TreeSpec, buildTree, cases, makeContext, prepare, snapshot } from '../../support/module-cases.js';
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
// Ansible's module needs the target's systemctl before anything else: every tree here has one.
const systemctlFile: TreeSpec = { 'usr/bin/systemctl': '#!/bin/sh\n' };
const withSystemctl = (rows: Case[]): Case[] =>
  rows.map((r) => ({ ...r, before: { ...systemctlFile, ...r.before }, ...(r.after === undefined ? {} : { after: { ...systemctlFile, ...r.after } }) }));

describe('systemd', () => {
  cases(
    rooted(systemd),
    rootedRows(withSystemctl([
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
        name: 'fails for any unit the tree does not have, as Ansible does in a chroot when systemctl has no bus to ask',
        args: { name: 'ghost', masked: true },
        error: "System has not been booted with systemd as init system (PID 1). Can't operate.",
        result: { rc: 1, cmd: '/usr/bin/systemctl', stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n" },
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
        name: 'leaves a unit file in /etc unmasked, yet reports a change every time, as Ansible overlooks what systemctl refused',
        args: { name: 'helper.socket', masked: true },
        before: { [`${etc}/helper.socket`]: '[Socket]\n' },
        changed: true,
        again: true,
        result: { masked: true },
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
      { name: 'fails to enable a unit the tree does not have', args: { name: 'nothere', enabled: true }, before: units, error: 'Failed to connect to bus: Host is down' },
      {
        name: 'starts nothing in a chroot: ok, with the state asked for and the warning Ansible gives there',
        args: { name: 'foo', state: 'started' },
        before: units,
        changed: false,
        result: { name: 'foo', state: 'started', status: {}, warnings: [CHROOT_WARNING] },
      },
      {
        name: 'restarts nothing in a chroot, and still enables the unit',
        args: { name: 'foo.service', state: 'restarted', enabled: true },
        before: units,
        changed: true,
        after: { ...units, ...fooLinks },
        result: { state: 'restarted', enabled: true, warnings: [CHROOT_WARNING] },
      },
      {
        name: 'takes an init script for the service to stop in a chroot',
        args: { name: 'legacy', state: 'stopped' },
        before: { 'etc/init.d/legacy': '#!/bin/sh\n' },
        changed: false,
        result: { state: 'stopped', warnings: [CHROOT_WARNING] },
      },
      { name: 'fails to reload a unit the tree does not have', args: { name: 'nothere', state: 'reloaded' }, before: units, error: 'Failed to connect to bus: Host is down' },
      { name: 'refuses user units', args: { name: 'foo', enabled: true, scope: 'user' }, before: units, invalid: 'scope=user is not supported by imgplay' },
      { name: 'fails daemon_reload in a chroot, as Ansible does: no systemd runs there', args: { daemon_reload: true }, error: `failure 1 during daemon-reload: System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n` },
      { name: "takes Ansible's dashed daemon-reexec, and fails it the same way", args: { 'daemon-reexec': 'yes' }, error: `failure 1 during daemon-reexec: System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n` },
      // Ansible's required_one_of counts daemon_reload's default, so a bare name passes and changes nothing.
      { name: 'does nothing with only a name, as Ansible', args: { name: 'foo' }, before: units, changed: false, result: { name: 'foo' } },
      { name: 'needs a name to enable', args: { enabled: true }, invalid: "missing parameter(s) required by 'enabled': name" },
      { name: 'refuses an unknown state', args: { name: 'foo', state: 'running' }, invalid: 'value of state must be one of: reloaded, restarted, started, stopped, got: running' },
    ])),
  );

  cases(
    rooted(service),
    rootedRows(
      withSystemctl([
        { name: 'refuses a service manager imgplay does not have', args: { name: 'foo', use: 'sysvinit', state: 'started' }, invalid: 'use=sysvinit is not supported by imgplay' },
        {
          name: 'drops pattern as Ansible\'s service action does, and warns as systemd does in a chroot',
          args: { name: 'foo', pattern: 'foo-daemon', state: 'started', use: 'SystemD' },
          before: units,
          changed: false,
          result: { state: 'started', warnings: [CHROOT_WARNING] },
        },
      ]),
    ),
  );

  cases(
    rooted(systemd),
    rootedRows([
      {
        name: 'fails as Ansible does when the tree has no systemctl',
        args: { name: 'foo', enabled: true },
        before: units,
        error: 'Failed to find required executable "systemctl" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      },
    ]),
  );

  it('skips daemon_reload in check mode, as Ansible does', async () => {
    const root = await mkdtemp(join(tmpdir(), 'imgplay-sd-'));
    try {
      await buildTree(root, systemctlFile);
      const args = await prepare(systemd, { daemon_reload: true });
      const r = await systemd.run(makeContext({ args, check: true, conn: new ConfinedConnection(root) }));
      expect(r).toEqual({ changed: false, status: {} });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('never starts a service on the build host: state fails on the local connection before anything is looked at', async () => {
    const args = await prepare(systemd, { name: 'imgplay-never-on-host.service', state: 'started' });
    const r = await systemd.run(makeContext({ args }));
    expect(r.failed).toBe(true);
    expect(r.msg).toContain('state=started is not supported by imgplay on local: imgplay never starts, stops, restarts or reloads a service on the build host');
  });

  it('answers to service and systemd_service too, and runs as systemd', async () => {
    expect(service.name).toBe('service');
    expect(service.aliases).toContain('ansible.builtin.service');
    const task = { name: 'imgplay-never-on-host.service', state: 'started' };
    const viaService = await service.run(makeContext({ args: await prepare(service, task) }));
    expect(viaService).toMatchObject({ failed: true });
    expect(viaService).toEqual(await systemd.run(makeContext({ args: await prepare(systemd, task) })));
  });

  it("lets service take the arguments Ansible's service action drops for systemd, and warns about them", async () => {
    const args = await prepare(service, { name: 'foo', args: '-x', sleep: '2', pattern: 'foo', use: 'auto' });
    expect(args).toMatchObject({ name: 'foo', arguments: '-x', sleep: 2, pattern: 'foo' });
    // Only a name: the run returns before it looks at any file, so no tree is needed.
    const seen: string[] = [];
    const listen = (w: Error) => seen.push(w.message);
    process.on('warning', listen);
    try {
      const r = await service.run(makeContext({ args }));
      // Ansible's service action prints them: they are the run's warnings, not part of the result.
      expect(r.warnings).toBeUndefined();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
    }
    expect(seen).toEqual(['Ignoring "sleep" as it is not used in "systemd"', 'Ignoring "pattern" as it is not used in "systemd"', 'Ignoring "arguments" as it is not used in "systemd"']);
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
      await buildTree(ours, { ...systemctlFile, ...units, ...before });
      await cp(ours, theirs, { recursive: true, verbatimSymlinks: true });
      const args = await prepare(systemd, { name: unit, enabled });
      const r = await systemd.run(makeContext({ args, conn: new ConfinedConnection(ours) }));
      expect(r.failed ?? false, JSON.stringify(r)).toBe(false);
      execFileSync('systemctl', [`--root=${theirs}`, enabled ? 'enable' : 'disable', unit], { stdio: 'ignore' });
      expect(await links(ours)).toEqual(await links(theirs));
    });
  }
});
