// service, systemd, service_facts and package_facts in a chroot, side by side with the oracle: ansible-playbook over its chroot connection
// (community.general.chroot) and imgplay over its own run one playbook on two copies of the same tree
// (systemd as init, python3 for Ansible's modules), twice each. Recaps, returned fields and trees must
// agree, and the build host's services must be untouched: the units exist only in the tree, and a
// systemctl first on the host's PATH records any call (there must be none).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Recap, parseRecap, toolEnv } from '../differential/harness.js';
import { mountPointsUnder } from '../support/minbase.js';
import { file, lacking, root, skipWithout } from '../support/needs.js';
import { serviceTreeCopy, serviceTreeUnavailable } from '../support/service-tree.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const cwd = join(here, 'services-chroot');
const imgplay = join(here, '..', '..', 'bin', 'imgplay.js');
const chrootPlugin = '/usr/lib/python3/dist-packages/ansible_collections/community/general/plugins/connection/chroot.py';
const skip = skipWithout(
  lacking(root, file('/usr/bin/ansible-playbook', 'ansible'), file(chrootPlugin, 'ansible (community.general)'), await serviceTreeUnavailable()),
);

// The host's unit directories: nothing in them may change, and no unit of the playbook may appear there.
const HOST_UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];

interface Run {
  exitCode: number | undefined;
  stdout: string;
  recap: Recap | undefined;
  /** What the playbook's last task wrote: each task's returned fields. */
  results: string;
}

/**
 * Every path of a tree with its type, mode, link target and size. Left out: what Ansible's machinery leaves
 * besides its modules' work: its temp dir; /dev, where its bare chroot (no /dev mounted) turns redirections
 * into a plain file /dev/null; and the apt caches python-apt writes when package_facts opens apt's cache.
 */
async function listing(tree: string): Promise<string[]> {
  const skip = ['./root/.ansible', './dev', './var/cache/apt/pkgcache.bin', './var/cache/apt/srcpkgcache.bin'].flatMap((p, i) => [...(i > 0 ? ['-o'] : []), '-path', p]);
  const { stdout } = await promisify(execFile)('find', ['.', '(', ...skip, ')', '-prune', '-o', '-printf', '%p %y %m %l %s\n'], { cwd: tree, maxBuffer: 64 << 20 });
  return stdout.split('\n').filter(Boolean).sort();
}

async function hostUnits(): Promise<string[]> {
  const out: string[] = [];
  for (const dir of HOST_UNIT_DIRS) {
    if (!existsSync(dir)) continue;
    const { stdout } = await promisify(execFile)('find', [dir, '-printf', '%p %y %l\n'], { maxBuffer: 16 << 20 });
    out.push(...stdout.split('\n').filter(Boolean));
  }
  return out.sort();
}

describe.skipIf(skip)('service and systemd in a chroot, against ansible-playbook', () => {
  let ansibleTree: { root: string; cleanup(): Promise<void> };
  let imgplayTree: { root: string; cleanup(): Promise<void> };
  let scratch: string;
  let callLog: string;
  let unitsBefore: string[];
  const ansible: Run[] = [];
  const ours: Run[] = [];

  beforeAll(async () => {
    unitsBefore = await hostUnits();
    scratch = await mkdtemp(join(tmpdir(), 'imgplay-svc-'));
    // A systemctl the host's PATH finds first: any call on the host, by either tool, lands in the log.
    callLog = join(scratch, 'host-systemctl-calls');
    await mkdir(join(scratch, 'bin'));
    await writeFile(join(scratch, 'bin', 'systemctl'), `#!/bin/sh\necho "$*" >> ${callLog}\nexit 1\n`);
    await chmod(join(scratch, 'bin', 'systemctl'), 0o755);
    const config = join(scratch, 'ansible.cfg');
    await writeFile(config, '');
    const env = { ...toolEnv(config), PATH: `${join(scratch, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    ansibleTree = await serviceTreeCopy();
    imgplayTree = await serviceTreeCopy();
    const run = async (file: string, args: string[], tree: string): Promise<Run> => {
      const r = await execa(file, [...args, '-i', 'hosts.yaml', '-e', `tree=${tree}`, 'playbook.yml'], { cwd, env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 300_000 });
      const stdout = String(r.stdout);
      const results = await readFile(join(tree, 'root/service-results'), 'utf8').catch(() => '(none)');
      return { exitCode: r.exitCode, stdout: `${stdout}\n${String(r.stderr)}`, recap: parseRecap(stdout), results };
    };
    for (let i = 0; i < 2; i++) {
      ansible.push(await run('/usr/bin/ansible-playbook', [], ansibleTree.root));
      ours.push(await run(process.execPath, [imgplay], imgplayTree.root));
    }
  }, 900_000);

  afterAll(async () => {
    // Other tests mount elsewhere meanwhile: only the trees of this one must be left without mounts.
    for (const t of [ansibleTree, imgplayTree]) if (t) expect(await mountPointsUnder(t.root)).toEqual([]);
    await ansibleTree?.cleanup();
    await imgplayTree?.cleanup();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('ends both runs with the same recap as Ansible', () => {
    for (let i = 0; i < 2; i++) {
      expect(ansible[i]?.exitCode, ansible[i]?.stdout).toBe(0);
      expect(ours[i]?.exitCode, ours[i]?.stdout).toBe(0);
      expect(ours[i]?.recap, ours[i]?.stdout).toEqual(ansible[i]?.recap);
    }
    expect(ours[0]?.recap?.image).toMatchObject({ changed: 10, failed: 0, ignored: 2 });
    // The second run changes less: the links are there; the refused mask still reports a change, as in Ansible.
    expect(ours[1]?.recap?.image?.changed).toBeLessThan(ours[0]?.recap?.image?.changed ?? 0);
  });

  it('returns what Ansible returns from every task: state, enabled, an empty status, the chroot warning, the failures, the services and packages', () => {
    for (let i = 0; i < 2; i++) expect(ours[i]?.results).toBe(ansible[i]?.results);
    expect(ours[0]?.results).toContain('started: changed=True failed=False state=started enabled=True status={}');
    expect(ours[1]?.results).toContain('started: changed=False failed=False state=started enabled=True status={}');
    expect(ours[0]?.results).toContain('both_off: changed=True failed=False state=- enabled=False');
    expect(ours[0]?.results).toContain('sysv_on: changed=True failed=False state=- enabled=True');
    expect(ours[0]?.results).toContain('"imgplay-legacy": {"name": "imgplay-legacy", "state": "stopped", "source": "sysv"}');
    expect(ours[0]?.results).toMatch(/packages: .*\{"name": "systemd", "version": "[^"]+", "arch": "amd64", "category": "admin", "origin": "", "source": "apt"\}/);
  });

  it("prints Ansible's warnings", () => {
    const flat = (s: string) => s.replace(/\s+/g, ' ');
    for (const w of ['Target is a chroot or systemd is offline. This can lead to false positives or prevent the init system tools from working.', 'Ignoring "pattern" as it is not used in "systemd"']) {
      expect(flat(ansible[0]?.stdout ?? '')).toContain(`[WARNING]: ${w}`);
      expect(flat(ours[0]?.stdout ?? '')).toContain(`[WARNING]: ${w}`);
    }
  });

  it('leaves the same tree as Ansible: the same unit links, and nothing else changed', async () => {
    expect(await listing(imgplayTree.root)).toEqual(await listing(ansibleTree.root));
    const wants = 'etc/systemd/system/multi-user.target.wants/imgplay-probe.service';
    expect(await readlink(join(imgplayTree.root, wants))).toBe('/etc/systemd/system/imgplay-probe.service');
    // An init script beside a unit follows it through update-rc.d: disabled, its runlevel links are K links.
    expect(await readlink(join(imgplayTree.root, 'etc/rc2.d/K01imgplay-both'))).toBe('../init.d/imgplay-both');
    expect(await readlink(join(imgplayTree.root, 'etc/rc2.d/S01imgplay-sysv'))).toBe('../init.d/imgplay-sysv');
    for (const path of ['etc/systemd/system/imgplay-probe.service', 'etc/init.d/imgplay-legacy']) {
      expect(await readFile(join(imgplayTree.root, path), 'utf8')).toBe(await readFile(join(ansibleTree.root, path), 'utf8'));
    }
  });

  it("never runs the host's systemctl and leaves the host's units as they were", async () => {
    expect(existsSync(callLog), existsSync(callLog) ? await readFile(callLog, 'utf8') : '').toBe(false);
    expect(await hostUnits()).toEqual(unitsBefore);
    for (const dir of HOST_UNIT_DIRS) {
      if (existsSync(dir)) expect((await readdir(dir)).filter((n) => n.startsWith('imgplay-'))).toEqual([]);
    }
  });
});
