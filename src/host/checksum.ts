// File digests as Ansible reports them: sha1 for `checksum`, md5 for `md5sum`, any of stat's algorithms.
import { createHash } from 'node:crypto';
import { lstat, open } from 'node:fs/promises';
import { resolve } from 'node:path';

/** The digests stat's checksum_algorithm accepts. */
export const CHECKSUM_ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;

/** One of stat's checksum algorithms. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** The hex digest of a file's bytes, read in pieces so large files are not held in memory. */
export async function checksumFile(hostPath: string | Buffer, algorithm: ChecksumAlgorithm = 'sha1'): Promise<string> {
  const hash = createHash(algorithm);
  const fd = await open(hostPath, 'r');
  try {
    // Two buffers: the next piece is read (in libuv's threads) while this one is hashed. A put-back stage's
    // images (100+ MiB) hash three to five times faster so than through a read stream.
    const buffers = [Buffer.allocUnsafe(PIECE), Buffer.allocUnsafe(PIECE)];
    let which = 0;
    let reading = fd.read(buffers[0]!, 0, PIECE, null);
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      which ^= 1;
      reading = fd.read(buffers[which]!, 0, PIECE, null);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await fd.close();
  }
  return hash.digest('hex');
}

const PIECE = 1 << 20;

/** The hex digest of bytes already in memory. */
export function checksumData(data: Buffer | string, algorithm: ChecksumAlgorithm = 'sha1'): string {
  return createHash(algorithm).update(data).digest('hex');
}

// A file's sha256 as its writer verified it, with what identified those bytes then: inode, size, mode, times.
const verified = new Map<string, { stamp: string; sha256: string }>();

// File times come from a coarse clock (a few ms): a file written within that tick of another write can keep
// its mtime. One whose mtime is this far in the past gets a new mtime from any write that changes its bytes.
const SETTLED_MS = 1000;

async function stampOf(path: string): Promise<{ stamp: string; mtimeMs: number } | undefined> {
  const st = await lstat(path, { bigint: true }).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  return { stamp: `${st.dev}:${st.ino}:${st.size}:${st.mode}:${st.mtimeNs}:${st.ctimeNs}`, mtimeMs: Number(st.mtimeNs / 1_000_000n) };
}

/**
 * Notes that the file at `path`, as it is now, was just checked to hold bytes of this sha256 (a stage put
 * back from the cache), so verifiedSha256 can answer without reading it. A file written in the last second is
 * not noted: a write in the same clock tick could leave its stamp as it was.
 */
export async function noteVerified(path: string, sha256: string): Promise<void> {
  const now = await stampOf(path);
  if (now !== undefined && Date.now() - now.mtimeMs >= SETTLED_MS) verified.set(resolve(path), { stamp: now.stamp, sha256 });
}

/** The sha256 noted for the file at `path` by noteVerified in this process, while the file is unchanged since. */
export async function verifiedSha256(path: string): Promise<string | undefined> {
  const noted = verified.get(resolve(path));
  if (noted === undefined) return undefined;
  if ((await stampOf(path))?.stamp === noted.stamp) return noted.sha256;
  verified.delete(resolve(path));
  return undefined;
}
