import { chmod, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { checksumFile, noteVerified, verifiedSha256 } from '../../../src/host/checksum.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

// A file as the stage cache's objects are: written a while ago (an hour back, by its mtime).
async function fileWith(text: string, mtime = new Date(Date.now() - 3_600_000)): Promise<{ path: string; sha256: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-checksum-'));
  dirs.push(dir);
  const path = join(dir, 'artifact.img');
  await writeFile(path, text);
  await utimes(path, mtime, mtime);
  return { path, sha256: (await execa('sha256sum', [path])).stdout.split(' ')[0]! };
}

describe('checksumFile', () => {
  it.each([0, 1, (1 << 20) - 1, 1 << 20, (5 << 20) + 7])('gives the digest sha256sum gives for %i bytes', async (size) => {
    const f = await fileWith(Array.from({ length: size }, (_, i) => String.fromCharCode(97 + (i % 23))).join(''));
    expect(await checksumFile(f.path, 'sha256')).toBe(f.sha256);
  });

  it('fails for a file that is not there, and for a directory', async () => {
    await expect(checksumFile('/nonexistent/imgplay-checksum', 'sha256')).rejects.toThrow(/ENOENT/);
    await expect(checksumFile(tmpdir(), 'sha256')).rejects.toThrow(/EISDIR/);
  });
});

describe('a verified sha256', () => {
  it('is known for the file as it was when noted', async () => {
    const f = await fileWith('contents\n');
    await noteVerified(f.path, f.sha256);
    expect(await verifiedSha256(f.path)).toBe(f.sha256);
  });

  it('is forgotten once the file is rewritten with bytes of the same size', async () => {
    const f = await fileWith('contents\n');
    await noteVerified(f.path, f.sha256);
    await writeFile(f.path, 'CONTENTS\n');
    expect(await verifiedSha256(f.path)).toBeUndefined();
  });

  it('is forgotten once another file is renamed over it, or its mode changes', async () => {
    const f = await fileWith('contents\n');
    await noteVerified(f.path, f.sha256);
    await writeFile(`${f.path}.new`, 'contents\n');
    await rename(`${f.path}.new`, f.path);
    expect(await verifiedSha256(f.path)).toBeUndefined();
    await noteVerified(f.path, f.sha256);
    await chmod(f.path, 0o600);
    expect(await verifiedSha256(f.path)).toBeUndefined();
  });

  it('is not noted for a file written this very second, whose next write could keep its mtime', async () => {
    const f = await fileWith('contents\n', new Date());
    await noteVerified(f.path, f.sha256);
    expect(await verifiedSha256(f.path)).toBeUndefined();
  });

  it('is not known for a file nobody noted', async () => {
    const f = await fileWith('contents\n');
    expect(await verifiedSha256(f.path)).toBeUndefined();
  });
});
