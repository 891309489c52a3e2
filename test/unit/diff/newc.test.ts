import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { readNewc } from '../../../src/diff/newc.js';
import { checksumData } from '../../../src/host/checksum.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

// A newc archive of `names` (read from `src`) made by GNU cpio, optionally gzip'd.
async function archive(src: string, names: string[], gzip: boolean): Promise<string> {
  const out = join(src, '..', gzip ? 'a.cpio.gz' : 'a.cpio');
  await execa('sh', ['-c', `cpio -o -H newc --quiet ${gzip ? '| gzip -n' : ''} > "$1"`, 'sh', out], { cwd: src, input: names.join('\n') + '\n' });
  return out;
}

if (!skipWithout(lacking(file('/usr/bin/cpio', 'cpio')))) {
  describe('reading a newc archive as a stream', () => {
    it('gives every member its type, mode, owner, size, digest, link target and device, gzip or not', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imgplay-newc-'));
      dirs.push(dir);
      const src = join(dir, 'src');
      await mkdir(join(src, 'etc'), { recursive: true });
      await writeFile(join(src, 'etc/motd'), 'hello\n', { mode: 0o640 });
      await symlink('motd', join(src, 'etc/motd.link'));
      // An overlay's whiteout: a character device 0/0 (mknod needs root).
      const whiteout = (await execa('mknod', [join(src, 'etc/whiteout'), 'c', '0', '0'], { reject: false })).exitCode === 0;
      const names = ['.', 'etc', 'etc/motd', 'etc/motd.link', ...(whiteout ? ['etc/whiteout'] : [])];
      for (const gzip of [false, true]) {
        const members = await readNewc(await archive(src, names, gzip));
        expect([...members.keys()]).toEqual(names);
        if (whiteout) expect(members.get('etc/whiteout')).toMatchObject({ type: 'char', device: '0,0' });
        expect(members.get('etc/motd')).toMatchObject({ type: 'file', mode: 0o640, size: 6, sha256: checksumData('hello\n', 'sha256') });
        expect(members.get('etc/motd.link')).toMatchObject({ type: 'symlink', target: 'motd' });
        expect(members.get('etc')).toMatchObject({ type: 'dir' });
      }
    });

    it('gives every link of a hard-linked file the data cpio wrote with one of them', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imgplay-newc-'));
      dirs.push(dir);
      const src = join(dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'one'), 'shared data\n');
      await link(join(src, 'one'), join(src, 'two'));
      const members = await readNewc(await archive(src, ['one', 'two'], true));
      const sha256 = checksumData('shared data\n', 'sha256');
      expect(members.get('one')).toMatchObject({ size: 12, sha256 });
      expect(members.get('two')).toMatchObject({ size: 12, sha256 });
    });

    it('refuses bytes that are not a newc archive, naming the file', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imgplay-newc-'));
      dirs.push(dir);
      await writeFile(join(dir, 'junk'), 'this is not an archive at all, not even close to one; '.repeat(4));
      await expect(readNewc(join(dir, 'junk'))).rejects.toThrow(`${join(dir, 'junk')}: not a newc cpio archive (bad header at byte 0)`);
    });
  });
}
