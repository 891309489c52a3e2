// A playbook run over the chroot connection against a real debootstrapped tree: modules act inside
// the tree, facts describe the tree, nothing lands on the host, and no mount is left behind.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { skipWithout } from '../support/needs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const imgplay = join(here, '..', '..', 'bin', 'imgplay.js');
const skip = skipWithout(await minbaseUnavailable());

describe.skipIf(skip)('a playbook over the chroot connection', () => {
  let tree: { root: string; cleanup(): Promise<void> };
  let mountsBefore: string;
  let run: Awaited<ReturnType<typeof execa>>;
  let second: Awaited<ReturnType<typeof execa>>;
  const probe = '/tmp/imgplay-escape-probe';

  beforeAll(async () => {
    mountsBefore = await mountsSnapshot();
    tree = await minbaseCopy();
    const args = [imgplay, 'playbook.yml', '-e', `tree_root=${tree.root}`];
    const cwd = join(here, 'chroot-playbook');
    run = await execa('node', args, { cwd, reject: false, env: { NO_COLOR: '1' } });
    second = await execa('node', args, { cwd, reject: false, env: { NO_COLOR: '1' } });
  });

  afterAll(async () => {
    await tree?.cleanup();
    expect(await mountsSnapshot()).toBe(mountsBefore);
  });

  it('succeeds, and changes nothing the second time', () => {
    expect(run.exitCode, String(run.stdout)).toBe(0);
    expect(String(run.stdout)).toMatch(/basefs\s+: ok=\d+\s+changed=[1-9]/);
    expect(second.exitCode, String(second.stdout)).toBe(0);
    expect(String(second.stdout)).toMatch(/basefs\s+: ok=\d+\s+changed=0\s/);
  });

  it('gathers facts from the tree', () => {
    expect(readFileSync(join(tree.root, 'etc/imgplay-facts'), 'utf8')).toBe('Debian bookworm\n');
  });

  it('runs commands inside the tree with a clean environment', () => {
    const [version, env] = readFileSync(join(tree.root, 'root/seen'), 'utf8').split('\n');
    expect(version).toBe(readFileSync(join(tree.root, 'etc/debian_version'), 'utf8').trim());
    expect(env).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|C.UTF-8|noninteractive|/root');
  });

  it('renders templates, edits lines and runs the notified handler inside the tree', () => {
    expect(readFileSync(join(tree.root, 'etc/motd'), 'utf8')).toBe('built by imgplay for Debian bookworm\na Debian family tree\n');
    expect(readFileSync(join(tree.root, 'etc/hosts'), 'utf8')).toContain('10.0.2.2 bootserver\n');
    expect(readFileSync(join(tree.root, 'root/handler'), 'utf8')).toBe('handler ran\n');
  });

  it('names the image and lists its kernel modules, leaving the host alone', () => {
    expect(readFileSync(join(tree.root, 'etc/hostname'), 'utf8')).toBe('monorail-micro\n');
    expect(readFileSync(join(tree.root, 'etc/hosts'), 'utf8')).toContain('127.0.1.1');
    expect(readFileSync('/etc/hostname', 'utf8')).not.toContain('monorail-micro');
    expect(readFileSync(join(tree.root, 'etc/modules-load.d/imgplay.conf'), 'utf8')).toBe('ipmi_si\nipmi_devintf\n');
  });

  it('keeps a write through a symlink to /tmp inside the tree', () => {
    expect(existsSync(probe)).toBe(false);
    expect(readFileSync(join(tree.root, 'tmp/imgplay-escape-probe'), 'utf8')).toBe('inside\n');
  });
});

