import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChrootConnection } from '../../../src/connection/chroot.js';
import { differences, unarchive, unescapeTarName } from '../../../src/modules/unarchive.js';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../../support/minbase.js';
import { type Case, type TreeSpec, cases, makeContext, prepare } from '../../support/module-cases.js';
import { skipWithout } from '../../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);

// Archives are built once on the controller from a staged tree with fixed times, so a second run finds
// every member's mtime unchanged.
const work = await mkdtemp(join(tmpdir(), 'imgplay-unarchive-test-'));
const stage = join(work, 'stage');
const STAMP = new Date('2020-01-01T00:00:00Z');
await mkdir(join(stage, 'pkg/bin'), { recursive: true });
await writeFile(join(stage, 'pkg/README'), 'readme\n');
await writeFile(join(stage, 'pkg/bin/tool'), '#!/bin/sh\necho tool\n');
await chmod(join(stage, 'pkg/bin/tool'), 0o755);
await symlink('README', join(stage, 'pkg/link'));
for (const p of ['pkg/README', 'pkg/bin/tool', 'pkg/bin', 'pkg']) await utimes(join(stage, p), STAMP, STAMP);
const tarc = (out: string, ...flags: string[]) => execa('tar', ['-c', ...flags, '-f', join(work, out), '-C', stage, 'pkg']);
await tarc('a.tar');
await tarc('a.tar.gz', '-z');
await tarc('a.tar.bz2', '-j');
await tarc('a.tar.xz', '-J');
await tarc('a.tar.zst', '--zstd');
await execa('bsdtar', ['-c', '--format', 'zip', '-f', join(work, 'a.zip'), '-C', stage, 'pkg']);
await writeFile(join(work, 'empty.tgz'), '');
await writeFile(join(work, 'text.tgz'), 'not an archive\n');
// A plain tar of ASCII files is ASCII itself, so it can sit in a row's `before` tree as text.
const plainTar = (await readFile(join(work, 'a.tar'))).toString('latin1');

// An absolute symlink to a host directory, then a file "under" it: extracting on the host would write there.
const outside = await mkdtemp(join(tmpdir(), 'imgplay-unarchive-outside-'));
await mkdir(join(work, 'evil1'));
await symlink(outside, join(work, 'evil1/escape'));
await mkdir(join(work, 'evil2/escape'), { recursive: true });
await writeFile(join(work, 'evil2/escape/planted'), 'planted\n');
await execa('tar', ['-c', '-f', join(work, 'evil.tar'), '-C', join(work, 'evil1'), 'escape']);
await execa('tar', ['-r', '-f', join(work, 'evil.tar'), '-C', join(work, 'evil2'), 'escape/planted']);
await execa('tar', ['-c', '-f', join(work, 'planted.tar'), '-C', join(work, 'evil2'), 'escape/planted']);

const server: Server = createServer((req, res) => {
  if (req.url !== '/a.tar.gz') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200).end(readFileSync(join(work, 'a.tar.gz')));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const PKG: TreeSpec = { 'pkg/README': 'readme\n', 'pkg/bin/tool': { content: '#!/bin/sh\necho tool\n', mode: 0o755 }, 'pkg/link': { link: 'README' } };
const ALL = ['pkg/', 'pkg/README', 'pkg/bin/', 'pkg/bin/tool', 'pkg/link'];
const hostPasswd = readFileSync('/etc/passwd', 'utf8');
const mountsBefore = await mountsSnapshot();

let tree: { root: string; cleanup(): Promise<void> } | undefined;
afterAll(async () => {
  server.close();
  await rm(work, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
  await tree?.cleanup();
  expect(await mountsSnapshot()).toBe(mountsBefore);
  expect(readFileSync('/etc/passwd', 'utf8')).toBe(hostPasswd);
});

const targets = unavailable === undefined ? (['local', 'chroot'] as const) : (['local'] as const);
const rows = (list: Case[]): Case[] => list.map((r) => ({ targets: [...targets], environment: { http_proxy: '', no_proxy: '' }, ...r }));
const arc = (name: string): string => join(work, name);

describe('unarchive', () => {
  beforeAll(async () => {
    if (unavailable === undefined) tree = await minbaseCopy();
  }, 120_000);

  cases(
    unarchive,
    rows([
      ...['a.tar', 'a.tar.gz', 'a.tar.bz2', 'a.tar.xz', 'a.tar.zst', 'a.zip'].map((name) => ({
        name: `unpacks ${name} with modes and links`,
        args: { src: arc(name), dest: '{root}' },
        changed: true,
        after: PKG,
      })),
      {
        name: 'names the handler and lists the files with list_files',
        args: { src: arc('a.tar.gz'), dest: '{root}', list_files: true },
        changed: true,
        after: PKG,
        result: { handler: 'TgzArchive', dest: '{root}', files: expect.arrayContaining(ALL), extract_results: { rc: 0 } },
        check: { changed: true, result: { files: expect.arrayContaining(ALL) } },
      },
      {
        name: 'unpacks again over a file whose mtime differs',
        args: { src: arc('a.tar.xz'), dest: '{root}' },
        before: { 'pkg/README': 'edited\n' },
        changed: true,
        after: PKG,
      },
      {
        name: 'drops members matching exclude',
        args: { src: arc('a.zip'), dest: '{root}', exclude: ['pkg/bin*'], list_files: true },
        changed: true,
        after: { 'pkg/README': 'readme\n', 'pkg/link': { link: 'README' } },
        result: { files: expect.arrayContaining(['pkg/', 'pkg/README', 'pkg/link']) },
      },
      {
        name: 'takes only the members named in include',
        args: { src: arc('a.tar.gz'), dest: '{root}', include: ['pkg/README'] },
        changed: true,
        after: { 'pkg/README': 'readme\n' },
      },
      {
        name: 'sets mode on every member',
        args: { src: arc('a.tar.bz2'), dest: '{root}', mode: 'u=rwX,go=' },
        changed: true,
        after: { 'pkg/README': { content: 'readme\n', mode: 0o600 }, 'pkg/bin': { dir: true, mode: 0o700 }, 'pkg/bin/tool': { content: '#!/bin/sh\necho tool\n', mode: 0o700 }, 'pkg/link': { link: 'README' } },
      },
      {
        name: "sets owner and group from the target's accounts",
        args: { src: arc('a.tar.gz'), dest: '{root}', owner: 'nobody', group: 'nogroup' },
        changed: true,
        after: { 'pkg/README': { content: 'readme\n', uid: 65534, gid: 65534 }, 'pkg/bin/tool': { content: '#!/bin/sh\necho tool\n', uid: 65534, gid: 65534 }, 'pkg/link': { link: 'README', uid: 65534 } },
        targets: unavailable === undefined ? ['chroot'] : [],
      },
      {
        name: 'unpacks an archive already on the target with remote_src',
        args: { src: '{root}/in/a.tar', dest: '{root}/out', remote_src: true },
        before: { 'in/a.tar': plainTar, out: { dir: true } },
        changed: true,
        after: { 'in/a.tar': plainTar, 'out/pkg/README': 'readme\n', 'out/pkg/bin/tool': { content: '#!/bin/sh\necho tool\n', mode: 0o755 }, 'out/pkg/link': { link: 'README' } },
      },
      {
        name: 'downloads a remote_src URL on the controller',
        args: { src: `${base}/a.tar.gz`, dest: '{root}', remote_src: true },
        changed: true,
        after: PKG,
      },
      {
        name: 'skips when creates exists',
        args: { src: arc('a.tar.gz'), dest: '{root}', creates: '{root}/pkg' },
        before: { pkg: { dir: true } },
        changed: false,
        result: { skipped: true, msg: 'skipped, since {root}/pkg exists' },
      },
      { name: 'fails when dest is not a directory', args: { src: arc('a.tar'), dest: '{root}/none' }, error: "Destination '{root}/none' is not a directory" },
      { name: 'fails on an empty archive', args: { src: arc('empty.tgz'), dest: '{root}' }, error: `Invalid archive '${arc('empty.tgz')}', the file is 0 bytes` },
      { name: 'fails on a file that is no archive', args: { src: arc('text.tgz'), dest: '{root}' }, error: `Failed to find handler for "${arc('text.tgz')}"` },
      { name: 'fails when a remote_src is missing', args: { src: '{root}/nope.tar', dest: '{root}', remote_src: true }, error: "Source '{root}/nope.tar' does not exist" },
      { name: 'fails when a remote_src URL is missing', args: { src: `${base}/nope.tgz`, dest: '{root}', remote_src: true }, error: 'HTTP Error 404: Not Found' },
      { name: 'refuses include with exclude', args: { src: arc('a.tar'), dest: '{root}', include: ['a'], exclude: ['b'] }, invalid: 'parameters are mutually exclusive: include|exclude' },
      { name: 'refuses copy with remote_src, as the action does', args: { src: arc('a.tar'), dest: '{root}', copy: true, remote_src: false }, error: "parameters are mutually exclusive: ('copy', 'remote_src')" },
    ]),
    { chrootRoot: () => tree?.root as string },
  );

  it.skipIf(skipChroot)('keeps an absolute symlink in the archive inside the chroot', async () => {
    const root = tree?.root as string;
    const conn = await ChrootConnection.open(root);
    try {
      await mkdir(join(root, 'unpack'));
      const r = await unarchive.run(makeContext({ args: await prepare(unarchive, { src: arc('evil.tar'), dest: '/unpack' }), conn }));
      // GNU tar may refuse the member or write it through the tree's own copy of the path: either is safe.
      expect(await readdir(outside), JSON.stringify(r)).toEqual([]);
      if (!r.failed) expect(readFileSync(join(root, outside, 'planted'), 'utf8')).toBe('planted\n');
      else expect(String(r.msg)).toContain('failed to unpack');
    } finally {
      await conn.close();
    }
  });

  it.skipIf(skipChroot)("follows an absolute symlink already in the tree to the tree's own path, never the host's", async () => {
    const root = tree?.root as string;
    const conn = await ChrootConnection.open(root);
    try {
      await mkdir(join(root, 'unpack2'));
      await mkdir(join(root, outside), { recursive: true });
      await symlink(outside, join(root, 'unpack2/escape'));
      const r = await unarchive.run(makeContext({ args: await prepare(unarchive, { src: arc('planted.tar'), dest: '/unpack2' }), conn }));
      expect(r).toMatchObject({ changed: true });
      expect(await readdir(outside)).toEqual([]);
      expect(readFileSync(join(root, outside, 'planted'), 'utf8')).toBe('planted\n');
    } finally {
      await conn.close();
    }
  });

  it('unpacks tar archives with GNU tar and their compressor alone, and names the package a zip needs', async () => {
    // A build host without libarchive-tools: every command on PATH but bsdtar.
    const bin = join(work, 'no-bsdtar-bin');
    await mkdir(bin);
    for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name !== 'bsdtar') await symlink(join(dir, name), join(bin, name)).catch(() => undefined);
      }
    }
    const path = process.env.PATH;
    process.env.PATH = bin;
    try {
      for (const name of ['a.tar', 'a.tar.gz', 'a.tar.bz2', 'a.tar.xz', 'a.tar.zst']) {
        const dest = join(work, `gnu-${name}`);
        await mkdir(dest);
        const r = await unarchive.run(makeContext({ args: await prepare(unarchive, { src: arc(name), dest }) }));
        expect(r, name).toMatchObject({ changed: true });
        expect(await readFile(join(dest, 'pkg/README'), 'utf8'), name).toBe('readme\n');
      }
      await mkdir(join(work, 'gnu-zip'));
      const zip = await unarchive.run(makeContext({ args: await prepare(unarchive, { src: arc('a.zip'), dest: join(work, 'gnu-zip') }) }));
      expect(zip).toMatchObject({ failed: true });
      expect(String(zip.msg)).toContain('a zip archive needs bsdtar on the build host (Debian package libarchive-tools)');
    } finally {
      process.env.PATH = path;
    }
  });

  it('counts only the tar --diff lines Ansible counts', () => {
    const out = 'pkg/README: Contents differ\npkg/x: Size differs\n';
    expect(differences(out, '', {})).toEqual([]);
    expect(differences('pkg/README: Mod time differs\n', '', {})).toEqual(['pkg/README: Mod time differs']);
    expect(differences('pkg/README: Mode differs\n', '', { mode: '0600' })).toEqual([]);
    expect(differences('', 'tar: pkg/new: Warning: Cannot stat: No such file or directory\n', {})).toHaveLength(1);
    expect(unescapeTarName('caf\\303\\251 \\\\ x')).toBe('café \\ x');
  });
});
