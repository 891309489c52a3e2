import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson, firstMemberChange, inputsDigest, memberLines } from '../../../src/image/inputs-digest.js';

const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

// The same role in a fresh temp dir each call: a file, an executable, a nested dir, an empty dir and a symlink.
async function role(): Promise<string> {
  const top = await mkdtemp(join(tmpdir(), 'imgplay-digest-'));
  dirs.push(top);
  const dir = join(top, 'provision_discovery_overlay');
  await mkdir(join(dir, 'tasks'), { recursive: true });
  await mkdir(join(dir, 'files/empty'), { recursive: true });
  await writeFile(join(dir, 'tasks/main.yml'), '- apt: name=lldpd\n');
  await writeFile(join(dir, 'files/rc.local'), '#!/bin/sh\nexit 0\n');
  await chmod(join(dir, 'files/rc.local'), 0o755);
  await chmod(join(dir, 'tasks/main.yml'), 0o644);
  await chmod(join(dir, 'files/empty'), 0o755);
  await chmod(join(dir, 'files'), 0o755);
  await chmod(join(dir, 'tasks'), 0o755);
  await chmod(dir, 0o755);
  await symlink('rc.local', join(dir, 'files/rc.link'));
  return dir;
}

const vars = { overlayfs_archive_name: 'discovery', packages: ['lldpd', 'dmidecode'], nested: { b: 2, a: 1 } };

describe('inputsDigest', () => {
  it('is a sha256 digest', async () => {
    expect(await inputsDigest({})).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('is the same for the same inputs in two different directories', async () => {
    const [a, b] = [await role(), await role()];
    expect(await inputsDigest({ vars, files: [a], base: 'sha256:00' })).toBe(await inputsDigest({ vars, files: [b], base: 'sha256:00' }));
  });

  it('does not depend on modification times', async () => {
    const dir = await role();
    const before = await inputsDigest({ files: [dir] });
    await utimes(join(dir, 'tasks/main.yml'), new Date(2001, 0, 1), new Date(2001, 0, 1));
    expect(await inputsDigest({ files: [dir] })).toBe(before);
  });

  it('changes when one byte of a file changes', async () => {
    const dir = await role();
    const before = await inputsDigest({ files: [dir] });
    await writeFile(join(dir, 'tasks/main.yml'), '- apt: name=lldpe\n');
    expect(await inputsDigest({ files: [dir] })).not.toBe(before);
  });

  it('changes when a mode changes', async () => {
    const dir = await role();
    const before = await inputsDigest({ files: [dir] });
    await chmod(join(dir, 'files/rc.local'), 0o644);
    expect(await inputsDigest({ files: [dir] })).not.toBe(before);
  });

  it('changes when a symlink points elsewhere', async () => {
    const dir = await role();
    const before = await inputsDigest({ files: [dir] });
    await rm(join(dir, 'files/rc.link'));
    await symlink('../tasks/main.yml', join(dir, 'files/rc.link'));
    expect(await inputsDigest({ files: [dir] })).not.toBe(before);
  });

  it('changes when a file is renamed or an empty directory appears', async () => {
    const dir = await role();
    const before = await inputsDigest({ files: [dir] });
    await mkdir(join(dir, 'templates'));
    const withDir = await inputsDigest({ files: [dir] });
    expect(withDir).not.toBe(before);
    await writeFile(join(dir, 'templates/a'), '');
    const withA = await inputsDigest({ files: [dir] });
    await rm(join(dir, 'templates/a'));
    await writeFile(join(dir, 'templates/b'), '');
    expect(await inputsDigest({ files: [dir] })).not.toBe(withA);
  });

  it("counts a listed root's basename, not where it sits", async () => {
    const a = await role();
    const top = await mkdtemp(join(tmpdir(), 'imgplay-digest-'));
    dirs.push(top);
    await writeFile(join(top, 'main.yml'), '- apt: name=lldpd\n');
    await chmod(join(top, 'main.yml'), 0o644);
    await writeFile(join(top, 'other.yml'), '- apt: name=lldpd\n');
    await chmod(join(top, 'other.yml'), 0o644);
    expect(await inputsDigest({ files: [join(a, 'tasks/main.yml')] })).toBe(await inputsDigest({ files: [join(top, 'main.yml')] }));
    expect(await inputsDigest({ files: [join(top, 'other.yml')] })).not.toBe(await inputsDigest({ files: [join(top, 'main.yml')] }));
  });

  it('hashes file names that are not UTF-8 as their bytes', async () => {
    const dir = await role();
    const before = await inputsDigest({ files: [dir] });
    await writeFile(Buffer.from(`${dir}/files/caf\xe9`, 'latin1'), 'x');
    const withLatin1 = await inputsDigest({ files: [dir] });
    expect(withLatin1).not.toBe(before);
    await rm(Buffer.from(`${dir}/files/caf\xe9`, 'latin1') );
    await writeFile(Buffer.from(`${dir}/files/caf\xe8`, 'latin1'), 'x');
    expect(await inputsDigest({ files: [dir] })).not.toBe(withLatin1);
  });

  it('ignores the key order of variables but not their values', async () => {
    expect(await inputsDigest({ vars: { a: 1, b: [1, 2] } })).toBe(await inputsDigest({ vars: { b: [1, 2], a: 1 } }));
    expect(await inputsDigest({ vars: { a: 1, b: [1, 2] } })).not.toBe(await inputsDigest({ vars: { a: 1, b: [2, 1] } }));
    expect(await inputsDigest({ vars: { a: '1' } })).not.toBe(await inputsDigest({ vars: { a: 1 } }));
  });

  it('changes with the base digest', async () => {
    expect(await inputsDigest({ base: 'sha256:aa' })).not.toBe(await inputsDigest({ base: 'sha256:bb' }));
    expect(await inputsDigest({})).not.toBe(await inputsDigest({ vars: null }));
  });

  it('names a listed input that does not exist', async () => {
    await expect(inputsDigest({ files: ['/nonexistent/imgplay/role'] })).rejects.toThrow('cannot digest stage input /nonexistent/imgplay/role: no such file or directory');
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members, as JSON would', () => {
    expect(canonicalJson({ b: { d: 1, c: [true, null, undefined] }, a: 'x', u: undefined })).toBe('{"a":"x","b":{"c":[true,null,null],"d":1}}');
  });

  it('tells non-finite numbers apart from null', () => {
    expect(canonicalJson([NaN, -Infinity, null])).toBe('[NaN,-Infinity,null]');
  });

  it('refuses a value that contains itself', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => canonicalJson(loop)).toThrow('refer to themselves');
  });
});

describe('memberLines and firstMemberChange', () => {
  it('name the file of a directory that changed, appeared or was removed, and nothing when it is the same elsewhere', async () => {
    const dir = await role();
    const before = await memberLines(dir);
    expect(Object.keys(before).sort()).toEqual(['', 'files', 'files/empty', 'files/rc.link', 'files/rc.local', 'tasks', 'tasks/main.yml']);
    expect(firstMemberChange(before, await memberLines(await role()))).toBeUndefined();
    await writeFile(join(dir, 'tasks/main.yml'), '- apt: name=lldpd state=latest\n');
    expect(firstMemberChange(before, await memberLines(dir))).toBe('tasks/main.yml changed');
    await writeFile(join(dir, 'tasks/extra.yml'), '[]\n');
    await rm(join(dir, 'files/rc.link'));
    expect(firstMemberChange(before, await memberLines(dir))).toBe('files/rc.link was removed');
    await chmod(join(dir, 'files/rc.local'), 0o700);
    const later = await memberLines(dir);
    await rm(join(dir, 'tasks/main.yml'));
    expect(firstMemberChange(later, await memberLines(dir))).toBe('tasks/main.yml was removed');
    expect(firstMemberChange(before, later)).toBe('files/rc.link was removed');
    expect(firstMemberChange({ '': 'x' }, { '': 'x', 'new.yml': 'y' })).toBe('new.yml appeared');
  });
});
