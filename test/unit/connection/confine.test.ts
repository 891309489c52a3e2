import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SYMLINKS, SymlinkLoopError, resolveInRoot } from '../../../src/connection/confine.js';

let base: string;
let root: string;
let outside: string;

// A tree whose links try every way out: relative climbs, absolute targets, loops and chains.
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'imgplay-confine-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(outside);
  for (const d of ['etc', 'tmp', 'usr/bin', 'usr/lib', 'real', 'chain']) await mkdir(join(root, d), { recursive: true });
  await writeFile(join(root, 'usr/bin/sh'), '#!fake\n');
  const links: [string, string][] = [
    ['etc/evil', '../../../../tmp/x'],
    ['etc/sibling', '../../outside'],
    ['etc/abs', '/tmp'],
    ['etc/abs-outside', `${outside}/f`],
    ['a', 'b'],
    ['b', 'a'],
    ['c1', 'c2'],
    ['c2', '/etc/c3'],
    ['etc/c3', '../real'],
    ['etc/mid', '../usr/lib'],
    ['etc/up', '..'],
    ['bin', 'usr/bin'],
    ['dangling', '/nowhere/file'],
  ];
  for (const [path, target] of links) await symlink(target, join(root, path));
  // chain/l0 -> l1 -> ... -> l(MAX_SYMLINKS+1) -> end
  for (let i = 0; i <= MAX_SYMLINKS; i++) await symlink(`l${i + 1}`, join(root, 'chain', `l${i}`));
  await writeFile(join(root, 'chain', `l${MAX_SYMLINKS + 1}`), 'end\n');
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function writeThrough(path: string, text: string): Promise<string> {
  const host = await resolveInRoot(root, path);
  await mkdir(dirname(host), { recursive: true });
  await writeFile(host, text);
  return host;
}

describe('resolveInRoot', () => {
  it('maps a plain path to the same path under the root', async () => {
    expect(await resolveInRoot(root, '/usr/bin/sh')).toBe(join(root, 'usr/bin/sh'));
  });

  it('reads a relative path as if it started at the root', async () => {
    expect(await resolveInRoot(root, 'usr/lib')).toBe(join(root, 'usr/lib'));
  });

  it('maps the root itself to the root', async () => {
    expect(await resolveInRoot(root, '/')).toBe(root);
    expect(await resolveInRoot(`${root}/`, '')).toBe(root);
  });

  it('never lets .. climb above the root', async () => {
    expect(await resolveInRoot(root, '/../../..')).toBe(root);
    expect(await resolveInRoot(root, '../../etc/../../usr')).toBe(join(root, 'usr'));
  });

  it('keeps a relative link that climbs too far inside the root', async () => {
    expect(await resolveInRoot(root, '/etc/evil')).toBe(join(root, 'tmp/x'));
    expect(await resolveInRoot(root, '/etc/sibling/f')).toBe(join(root, 'outside/f'));
  });

  it('resolves an absolute link target against the root, not the host', async () => {
    expect(await resolveInRoot(root, '/etc/abs/f')).toBe(join(root, 'tmp/f'));
    expect(await resolveInRoot(root, '/etc/abs-outside')).toBe(join(root, outside.slice(1), 'f'));
  });

  it('follows a chain of links through relative and absolute targets', async () => {
    expect(await resolveInRoot(root, '/c1/file')).toBe(join(root, 'real/file'));
  });

  it('resolves a link in the middle of a path before the rest', async () => {
    expect(await resolveInRoot(root, '/etc/mid/libc.so')).toBe(join(root, 'usr/lib/libc.so'));
    expect(await resolveInRoot(root, '/etc/up/etc/up/usr')).toBe(join(root, 'usr'));
  });

  it('applies .. after a link to the link target, as the kernel does', async () => {
    // etc/mid is usr/lib, so its parent is usr, not etc.
    expect(await resolveInRoot(root, '/etc/mid/../bin/sh')).toBe(join(root, 'usr/bin/sh'));
  });

  it('finds /bin/sh through a merged-usr /bin link', async () => {
    expect(await resolveInRoot(root, '/bin/sh')).toBe(join(root, 'usr/bin/sh'));
  });

  it('appends missing components as they are', async () => {
    expect(await resolveInRoot(root, '/no/such/dir/file')).toBe(join(root, 'no/such/dir/file'));
    expect(await resolveInRoot(root, '/dangling')).toBe(join(root, 'nowhere/file'));
  });

  it('still resolves links reached again through .. after a missing component', async () => {
    expect(await resolveInRoot(root, '/missing/../etc/evil')).toBe(join(root, 'tmp/x'));
  });

  it('leaves a final link alone with followLast false but resolves the ones before it', async () => {
    expect(await resolveInRoot(root, '/etc/evil', { followLast: false })).toBe(join(root, 'etc/evil'));
    expect(await resolveInRoot(root, '/etc/mid/../../bin', { followLast: false })).toBe(join(root, 'bin'));
    expect(await resolveInRoot(root, '/etc/abs/x', { followLast: false })).toBe(join(root, 'tmp/x'));
  });

  it('follows the final link when the path ends in a slash, whatever followLast says', async () => {
    expect(await resolveInRoot(root, '/etc/abs/', { followLast: false })).toBe(join(root, 'tmp'));
  });

  it('fails with ELOOP on links that point at each other', async () => {
    const err = await resolveInRoot(root, '/a/file').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SymlinkLoopError);
    expect((err as SymlinkLoopError).code).toBe('ELOOP');
    expect((err as Error).message).toBe(`too many levels of symbolic links resolving '/a/file' inside ${root}`);
  });

  it('follows exactly as many links as the kernel before giving up', async () => {
    // l1 is MAX_SYMLINKS links from the file, l0 one more: compare with the host kernel on the same tree.
    const kernel = async (p: string) => stat(join(root, p)).then(() => 'ok', (e: NodeJS.ErrnoException) => e.code);
    const ours = async (p: string) => resolveInRoot(root, p).then(() => 'ok', (e: SymlinkLoopError) => e.code);
    expect(await kernel('chain/l1')).toBe('ok');
    expect(await ours('/chain/l1')).toBe('ok');
    expect(await kernel('chain/l0')).toBe('ELOOP');
    expect(await ours('/chain/l0')).toBe('ELOOP');
  });

  it('behaves like the host when the root is /', async () => {
    const p = `${root}/etc/mid/../bin/sh`; // not join(): that would apply .. lexically
    expect(await resolveInRoot('/', p)).toBe(join(root, 'usr/bin/sh'));
    expect(await resolveInRoot('/', join(root, 'etc/abs-outside'))).toBe(join(outside, 'f'));
  });

  it('lands every write through a hostile link inside the root', async () => {
    const hostile = ['/etc/evil', '/etc/sibling/f', '/etc/abs/f', '/etc/abs-outside', '/c1/file', '/dangling', '/etc/up/../../../escape'];
    for (const path of hostile) {
      const host = await writeThrough(path, `written via ${path}\n`);
      expect(host.startsWith(`${root}/`), `${path} -> ${host}`).toBe(true);
      expect(await readFile(host, 'utf8')).toBe(`written via ${path}\n`);
    }
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(base)).toEqual(['outside', 'root']);
  });
});
