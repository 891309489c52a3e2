import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { UnreachableError } from '../../src/errors.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { skipWithout } from '../support/needs.js';

const execFileAsync = promisify(execFile);

const CLEAN_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  DEBIAN_FRONTEND: 'noninteractive',
  HOME: '/root',
};

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

async function refusal(root: string): Promise<string> {
  const err = await ChrootConnection.open(root).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnreachableError);
  return (err as UnreachableError).message;
}

describe('ChrootConnection.open refuses what it cannot enter', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'imgplay-chroot-refuse-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('refuses a missing directory', async () => {
    const missing = join(scratch, 'missing');
    expect(await refusal(missing)).toBe(`cannot open chroot ${missing}: the directory does not exist`);
  });

  it('refuses a file', async () => {
    const file = join(scratch, 'file');
    await writeFile(file, 'not a tree\n');
    expect(await refusal(file)).toBe(`cannot open chroot ${file}: it is not a directory`);
  });

  it('refuses a tree with no /bin/sh', async () => {
    const empty = join(scratch, 'empty');
    await mkdir(join(empty, 'etc'), { recursive: true });
    expect(await refusal(empty)).toBe(`cannot open chroot ${empty}: there is no /bin/sh inside it`);
  });

  it('judges /bin/sh inside the tree, not through links that point at the host', async () => {
    // Both links resolve to a shell on the host, but to nothing inside the tree.
    const merged = join(scratch, 'merged');
    await mkdir(join(merged, 'usr/bin'), { recursive: true });
    await symlink('usr/bin', join(merged, 'bin'));
    await symlink('/bin/dash', join(merged, 'usr/bin/sh'));
    expect(await refusal(merged)).toBe(`cannot open chroot ${merged}: there is no /bin/sh inside it`);
    const relative = join(scratch, 'relative');
    await mkdir(join(relative, 'bin'), { recursive: true });
    await symlink('../../../../../../bin/dash', join(relative, 'bin/sh'));
    expect(await refusal(relative)).toBe(`cannot open chroot ${relative}: there is no /bin/sh inside it`);
  });

  it('refuses when not running as root', async () => {
    // A child process as nobody: the check is on the real uid, so it cannot be faked in-process.
    await chmod(scratch, 0o755);
    const script = join(scratch, 'as-nobody.mjs');
    const chrootModule = new URL('../../src/connection/chroot.ts', import.meta.url).pathname;
    await writeFile(
      script,
      `const { ChrootConnection } = await import(${JSON.stringify(chrootModule)});\n` +
        `await ChrootConnection.open('/').then(() => console.log('opened'), (e) => console.log(e.name + ': ' + e.message));\n`,
    );
    const tsx = new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url).pathname;
    const { stdout } = await execFileAsync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', tsx, script],
      { env: { PATH: '/usr/bin:/bin', HOME: scratch } },
    );
    expect(stdout.trim()).toBe('UnreachableError: cannot open chroot /: chroot needs root privileges, but imgplay runs as uid 65534');
  });
});

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);

describe.skipIf(skipChroot)('ChrootConnection on a debootstrapped minbase tree', () => {
  let mountsBefore: string;
  let copy: Awaited<ReturnType<typeof minbaseCopy>> | undefined;
  let conn: ChrootConnection;
  let root: string;
  const hostMarker = `imgplay-escape-${process.pid}`;

  beforeAll(async () => {
    mountsBefore = await mountsSnapshot();
    copy = await minbaseCopy();
    root = copy.root;
    conn = await ChrootConnection.open(root);
  });

  afterAll(async () => {
    await conn?.close();
    await copy?.cleanup();
  });

  it('describes itself by its root', () => {
    expect(conn.kind).toBe('chroot');
    expect(conn.root).toBe(root);
    expect(conn.describe()).toBe(`chroot ${root}`);
  });

  it('runs a shell command inside the tree', async () => {
    const r = await conn.exec('cat /etc/debian_version');
    expect(r).toMatchObject({ command: 'cat /etc/debian_version', rc: 0, stderr: '' });
    expect(r.stdout).toMatch(/^12\.\d+$/);
  });

  it('sees only the tree, not the host', async () => {
    await writeFile(join(root, 'inside-marker'), 'here\n');
    expect((await conn.exec(['cat', '/inside-marker'])).stdout).toBe('here');
    expect((await conn.exec(['test', '-e', new URL(import.meta.url).pathname])).rc).toBe(1);
  });

  it('gives an argv command exactly the clean environment', async () => {
    process.env.IMGPLAY_LEAK_CHECK = 'leaked';
    try {
      const r = await conn.exec(['env']);
      expect(r.rc).toBe(0);
      expect(parseEnv(r.stdout)).toEqual(CLEAN_ENV);
    } finally {
      delete process.env.IMGPLAY_LEAK_CHECK;
    }
  });

  it('lets a shell command see nothing from the host beyond what the shell itself sets', async () => {
    process.env.IMGPLAY_LEAK_CHECK = 'leaked';
    try {
      const env = parseEnv((await conn.exec('env')).stdout);
      const { PWD, ...rest } = env;
      expect(rest).toEqual(CLEAN_ENV);
      expect(PWD).toBe('/');
    } finally {
      delete process.env.IMGPLAY_LEAK_CHECK;
    }
  });

  it('adds opts.env on top of the clean environment and lets it override', async () => {
    const env = parseEnv((await conn.exec(['env'], { env: { FOO: 'bar baz', LANG: 'C' } })).stdout);
    expect(env).toEqual({ ...CLEAN_ENV, FOO: 'bar baz', LANG: 'C' });
  });

  it('runs in the cwd given, for shell and argv commands', async () => {
    expect((await conn.exec('pwd', { cwd: '/etc' })).stdout).toBe('/etc');
    expect((await conn.exec(['cat', 'debian_version'], { cwd: '/etc' })).rc).toBe(0);
    expect((await conn.exec('pwd')).stdout).toBe('/');
  });

  it('takes a cwd with quotes and shell syntax literally', async () => {
    const weird = `/tmp/a dir'; touch /pwned; echo "$(id)`;
    expect((await conn.exec(['mkdir', '-p', weird])).rc).toBe(0);
    const r = await conn.exec('pwd', { cwd: weird });
    expect(r).toMatchObject({ rc: 0, stdout: weird });
    expect(existsSync(join(root, 'pwned'))).toBe(false);
  });

  it('fails, without running the command, when the cwd is missing', async () => {
    const r = await conn.exec('touch /ran', { cwd: '/no/such/dir' });
    expect(r.rc).not.toBe(0);
    expect(r.stderr).toContain('/no/such/dir');
    expect(existsSync(join(root, 'ran'))).toBe(false);
  });

  it('returns a nonzero rc instead of throwing', async () => {
    expect(await conn.exec('echo oops >&2; exit 3')).toMatchObject({ rc: 3, stderr: 'oops' });
    expect((await conn.exec(['false'])).rc).toBe(1);
    expect((await conn.exec(['no-such-command'])).rc).toBe(127);
  });

  it('feeds stdin and honours another executable', async () => {
    expect((await conn.exec('cat', { stdin: 'fed in' })).stdout).toBe('fed in');
    expect((await conn.exec('echo "${BASH_VERSION:+bash}"', { executable: '/bin/bash' })).stdout).toBe('bash');
  });

  it('shows an argv command shell-quoted', async () => {
    expect((await conn.exec(['echo', 'a b'])).command).toBe("echo 'a b'");
  });

  it('puts a file through hostile symlinks without leaving the tree, where the chroot itself sees it', async () => {
    await symlink(`../../../../../../../tmp/${hostMarker}`, join(root, 'etc/evil'));
    await symlink('/tmp', join(root, 'etc/abs'));
    const scratch = await mkdtemp(join(tmpdir(), 'imgplay-put-'));
    try {
      const local = join(scratch, 'payload');
      await writeFile(local, 'payload\n');
      await conn.putFile(local, '/etc/evil');
      await conn.putFile(local, '/etc/abs/sub/dir/file');
      expect(existsSync(join('/tmp', hostMarker))).toBe(false);
      expect(await readFile(join(root, 'tmp', hostMarker), 'utf8')).toBe('payload\n');
      expect(await readFile(join(root, 'tmp/sub/dir/file'), 'utf8')).toBe('payload\n');
      // The kernel, resolving the same links after chroot, finds the same files.
      expect((await conn.exec(['cat', '/etc/evil', '/etc/abs/sub/dir/file'])).stdout).toBe('payload\npayload');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('fetches a file through a symlink from inside the tree', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'imgplay-fetch-'));
    try {
      await conn.fetchFile('/etc/abs/sub/dir/file', join(scratch, 'out/fetched'));
      expect(await readFile(join(scratch, 'out/fetched'), 'utf8')).toBe('payload\n');
      // Debian trees ship /etc/os-release as a link into /usr/lib.
      await conn.fetchFile('/etc/os-release', join(scratch, 'os-release'));
      expect(await readFile(join(scratch, 'os-release'), 'utf8')).toContain('bookworm');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('maps paths to host paths inside the root', async () => {
    expect(await conn.hostPath('/bin/sh')).toBe(join(root, 'usr/bin/dash'));
    expect(await conn.hostPath('/bin/sh', { followLast: false })).toBe(join(root, 'usr/bin/sh'));
    expect(await conn.hostPath('/etc/evil')).toBe(join(root, 'tmp', hostMarker));
    expect(await conn.hostPath('/etc/evil', { followLast: false })).toBe(join(root, 'etc/evil'));
  });

  it('keeps the copy while something is mounted inside it', async () => {
    const mnt = join(root, 'mnt');
    await execFileAsync('mount', ['-t', 'tmpfs', 'imgplay-test', mnt]);
    try {
      await expect(copy?.cleanup()).rejects.toThrow(`still mounted inside it: ${mnt}`);
      expect(existsSync(join(root, 'etc/debian_version'))).toBe(true);
    } finally {
      await execFileAsync('umount', [mnt]);
    }
  });

  it('leaves /proc/mounts as it found it once the copy is removed', async () => {
    await copy?.cleanup();
    copy = undefined;
    expect(existsSync(root)).toBe(false);
    expect(await mountsSnapshot()).toBe(mountsBefore);
  });
});
