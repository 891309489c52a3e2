// The archive state the stage cache keys on: a suite's InRelease (else Release) digest, read from a local archive.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suiteDigest } from '../../../src/image/archive-state.js';

let archive: string;
beforeAll(async () => {
  archive = await mkdtemp(join(tmpdir(), 'imgplay-archive-'));
  await mkdir(join(archive, 'dists', 'bookworm'), { recursive: true });
  await mkdir(join(archive, 'dists', 'trixie'), { recursive: true });
  await mkdir(join(archive, 'flat'), { recursive: true });
});
afterAll(async () => {
  await rm(archive, { recursive: true, force: true });
});

describe('a suite\'s state', () => {
  it('is the sha256 of its InRelease, and changes when the archive publishes a new one', async () => {
    await writeFile(join(archive, 'dists', 'bookworm', 'InRelease'), 'Suite: bookworm\nDate: one\n');
    const before = await suiteDigest(`file://${archive}`, 'bookworm');
    expect(before).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await suiteDigest(`file://${archive}/`, 'bookworm')).toBe(before);
    await writeFile(join(archive, 'dists', 'bookworm', 'InRelease'), 'Suite: bookworm\nDate: two\n');
    expect(await suiteDigest(`file://${archive}`, 'bookworm')).not.toBe(before);
  });

  it('falls back to Release for an archive without InRelease, and reads a flat repository under its own path', async () => {
    await writeFile(join(archive, 'dists', 'trixie', 'Release'), 'Suite: trixie\n');
    expect(await suiteDigest(`file://${archive}`, 'trixie')).toMatch(/^sha256:/);
    await writeFile(join(archive, 'flat', 'Release'), 'Origin: local\n');
    expect(await suiteDigest(`file://${archive}/flat`, './')).toMatch(/^sha256:/);
  });

  it('cannot be read from a suite the archive does not have, and says which', async () => {
    await expect(suiteDigest(`file://${archive}`, 'sid')).rejects.toThrow(`cannot read the state of file://${archive}/dists/sid`);
  });
});
