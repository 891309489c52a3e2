// The mount guard: every mount recorded and undone innermost first, on success, on failure, when a
// mount is busy, at process exit and on signals; trees are never deleted through a mount.
import { mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { MountGuard, activeGuards, withMountGuard } from '../../src/host/mount-guard.js';
import { mountTable, mountsUnder, removeTree } from '../../src/host/mount-table.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { rejection } from '../support/thrown.js';
import { lacking, root, skipWithout } from '../support/needs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let scratch: string;
let before: string;

beforeAll(async () => {
  before = await mountsSnapshot();
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-guard-')));
});
afterEach(() => {
  expect(activeGuards(), 'guards left holding mounts').toEqual([]);
});
afterAll(async () => {
  expect(await mountsSnapshot()).toBe(before);
  await removeTree(scratch);
});

async function dir(name: string): Promise<string> {
  const d = join(scratch, name);
  await mkdir(d, { recursive: true });
  return d;
}

const mounted = async (d: string): Promise<string[]> => mountsUnder(await mountTable(), d);

describe.skipIf(skipWithout(lacking(root)))('a mount guard', () => {
  it('undoes nested mounts innermost first when released', async () => {
    const top = await dir('nested');
    const guard = new MountGuard('test');
    await guard.mount({ source: 'imgplay-test', target: top, fstype: 'tmpfs', options: ['size=4m'] });
    await mkdir(join(top, 'proc'));
    await mkdir(join(top, 'bound'));
    await guard.mount({ source: 'proc', target: join(top, 'proc'), fstype: 'proc' });
    await guard.mount({ source: await dir('src'), target: join(top, 'bound'), bind: true });
    expect(await mounted(top)).toEqual([join(top, 'bound'), join(top, 'proc'), top].sort((a, b) => b.length - a.length));
    expect(guard.mounts).toEqual([top, join(top, 'proc'), join(top, 'bound')]);
    await guard.release();
    expect(await mounted(top)).toEqual([]);
  });

  it('makes its mounts private so unmounting them cannot propagate to the host', async () => {
    const target = await dir('private');
    await withMountGuard('test', async (guard) => {
      await guard.mount({ source: '/dev', target, bind: true });
      const entry = (await mountTable()).find((e) => e.mountPoint === target);
      expect(entry?.propagation.filter((t) => t.startsWith('shared:'))).toEqual([]);
    });
  });

  it('unmounts everything when the work fails, and reports the work’s own error', async () => {
    const target = await dir('failing');
    const err = await rejection(
      withMountGuard('test', async (guard) => {
        await guard.mount({ source: 'imgplay-test', target, fstype: 'tmpfs' });
        throw new Error('provisioner failed halfway');
      }),
    );
    expect(err.message).toBe('provisioner failed halfway');
    expect(await mounted(target)).toEqual([]);
  });

  it('refuses to mount on a symlink, which would land the mount wherever it points', async () => {
    const root = await dir('linked');
    await symlink('/dev', join(root, 'dev'));
    const guard = new MountGuard('test');
    expect((await rejection(guard.mount({ source: '/dev', target: join(root, 'dev'), bind: true }))).message).toMatch(/refusing to mount on .*\/dev: it is a symlink/);
    await mkdir(join(await dir('real'), 'sub'), { recursive: true });
    await symlink(join(scratch, 'real'), join(root, 'via'));
    expect((await rejection(guard.mount({ source: 'x', target: join(root, 'via/sub'), fstype: 'tmpfs' }))).message).toContain('passes through a symlink');
    expect(guard.mounts).toEqual([]);
  });

  it('says why a mount failed, with the command and mount’s own words', async () => {
    const err = await rejection(new MountGuard('test').mount({ source: '/nonexistent-image', target: await dir('bad'), options: ['loop', 'ro'] }));
    expect(err.message).toMatch(/could not mount \/nonexistent-image on .*bad: mount exited \d+\n {2}mount -o loop,ro -- \/nonexistent-image/);
  });

  it('unmounts lazily a mount that stays busy, so the tree can still be deleted safely', async () => {
    const target = await dir('busy');
    const guard = new MountGuard('test');
    await guard.mount({ source: 'imgplay-test', target, fstype: 'tmpfs' });
    const holder = execa('sleep', ['60'], { cwd: target, reject: false });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await guard.release();
    } finally {
      holder.kill();
      await holder;
      process.removeListener('warning', onWarning);
    }
    expect(await mounted(target)).toEqual([]);
    expect(warnings.join('\n')).toContain('was busy; unmounted lazily');
  }, 20_000);

  it('never deletes a tree with something mounted inside it', async () => {
    const tree = await dir('tree');
    await mkdir(join(tree, 'proc'));
    await writeFile(join(tree, 'file'), 'x');
    await withMountGuard('test', async (guard) => {
      await guard.mount({ source: 'proc', target: join(tree, 'proc'), fstype: 'proc' });
      expect((await rejection(removeTree(tree))).message).toContain(`still mounted inside it: ${join(tree, 'proc')}`);
      expect(await readFile(join(tree, 'file'), 'utf8')).toBe('x');
    });
    await removeTree(tree);
    await expect(stat(tree)).rejects.toThrow(/ENOENT/);
  });

  for (const how of ['exit', 'signal', 'throw'] as const) {
    it(`leaves nothing mounted when its process ends by ${how === 'signal' ? 'SIGTERM' : how} without releasing`, async () => {
      const target = await dir(`child-${how}`);
      const child = execa('node', ['--import', 'tsx', join(here, 'mount-guard/child.ts'), how, target], { reject: false });
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => d.toString().includes('mounted') && resolve());
        child.on('exit', () => reject(new Error('child exited before mounting')));
      }).catch(async (err: unknown) => {
        const r = await child;
        throw new Error(`${String(err)}: ${String(r.stderr)}`);
      });
      if (how === 'signal') child.kill('SIGTERM');
      const r = await child;
      expect(r.exitCode ?? r.signal, String(r.stderr)).toBe(how === 'exit' ? 3 : how === 'signal' ? 'SIGTERM' : 1);
      expect(await mounted(target)).toEqual([]);
    }, 30_000);
  }
});

const minbase = await minbaseUnavailable();

describe.skipIf(skipWithout(lacking(root, minbase)))('a chroot session with system mounts', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  beforeAll(async () => {
    tree = await minbaseCopy();
  }, 120_000);
  afterAll(async () => {
    await tree?.cleanup();
  });

  it('has /proc, /sys, /dev/pts and the host resolver inside, and none of it after close', async () => {
    const root = tree?.root as string;
    await rm(join(root, 'etc/resolv.conf'), { force: true });
    await symlink('../run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'));
    const conn = await ChrootConnection.open(root, { systemMounts: true });
    try {
      const r = await conn.exec('test -r /proc/self/status && test -d /sys/class && test -c /dev/null && test -d /dev/pts && cat /etc/resolv.conf');
      expect(r.rc, r.stderr).toBe(0);
      expect(r.stdout).toBe((await readFile('/etc/resolv.conf', 'utf8')).replace(/\n$/, ''));
      expect(await mounted(root)).toHaveLength(4);
    } finally {
      await conn.close();
    }
    expect(await mounted(root)).toEqual([]);
    expect(await execa('readlink', [join(root, 'etc/resolv.conf')]).then((x) => x.stdout)).toBe('../run/systemd/resolve/stub-resolv.conf');
  });

  it('keeps a resolv.conf the session replaced on purpose', async () => {
    const root = tree?.root as string;
    const conn = await ChrootConnection.open(root, { systemMounts: true });
    try {
      await conn.exec('rm -f /etc/resolv.conf && echo "nameserver 10.9.9.9" > /etc/resolv.conf');
    } finally {
      await conn.close();
    }
    expect(await readFile(join(root, 'etc/resolv.conf'), 'utf8')).toBe('nameserver 10.9.9.9\n');
  });
});
