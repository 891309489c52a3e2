// Two builds folders compared artifact by artifact, and two differing artifacts file by file: what a
// reproducibility failure must name (the artifact, then the first files that differ).
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/** One file of an unpacked artifact: everything an image carries of it, times included. */
export interface FileFacts {
  type: string;
  mode: string;
  owner: string;
  mtime: number;
  size: number;
  /** sha256 of a file's contents, a symlink's target, or a device's number. */
  content: string;
}

/** Lines of SHA256SUMS as name -> sha256. */
export async function sums(builds: string): Promise<Map<string, string>> {
  const text = await readFile(join(builds, 'SHA256SUMS'), 'utf8');
  return new Map(text.split('\n').filter(Boolean).map((l) => [l.slice(66), l.slice(0, 64)]));
}

/** Every file of the builds folder (artifacts, SHA256SUMS, manifest.json) whose bytes differ, or that only one has. */
export async function differingArtifacts(a: string, b: string): Promise<string[]> {
  const names = [...new Set([...(await readdir(a)), ...(await readdir(b))])].filter((n) => !n.startsWith('.')).sort();
  const out: string[] = [];
  for (const n of names) {
    const [x, y] = await Promise.all([readFile(join(a, n)).catch(() => undefined), readFile(join(b, n)).catch(() => undefined)]);
    if (x === undefined || y === undefined || !x.equals(y)) out.push(n);
  }
  return out;
}

/** The files of a squashfs image or a cpio archive (plain, gzip'd or zstd'd), unpacked into a scratch directory under `scratch` and read. */
export async function artifactFiles(path: string, scratch: string): Promise<Map<string, FileFacts>> {
  const dir = await mkdtemp(join(scratch, 'unpack-'));
  const root = join(dir, 'root');
  try {
    const magic = (await readFile(path)).subarray(0, 4).toString('hex');
    if (magic === '68737173') {
      await execa('unsquashfs', ['-no-progress', '-q', '-d', root, path]);
    } else {
      // An overlay (gzip) or an initrd (zstd, as the playbooks make it) or a plain cpio.
      await execa('mkdir', [root]);
      const cat = magic.startsWith('1f8b') ? 'zcat' : magic === '28b52ffd' ? 'zstd -q -d -c' : 'cat';
      await execa('sh', ['-c', `${cat} -- "$1" | cpio -idm --quiet --no-absolute-filenames`, 'sh', path], { cwd: root });
    }
    const files = new Map<string, FileFacts>();
    await walk(root, '', files);
    return files;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The paths whose facts differ between two unpacked artifacts, each with what differs, in path order. */
export function differingFiles(a: Map<string, FileFacts>, b: Map<string, FileFacts>): string[] {
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: string[] = [];
  for (const p of paths) {
    const x = a.get(p);
    const y = b.get(p);
    if (x === undefined || y === undefined) {
      out.push(`${p}: only in ${x === undefined ? 'the second' : 'the first'}`);
      continue;
    }
    const keys = (Object.keys(x) as Array<keyof FileFacts>).filter((k) => x[k] !== y[k]);
    if (keys.length > 0) out.push(`${p}: ${keys.map((k) => `${k} ${String(x[k])} -> ${String(y[k])}`).join(', ')}`);
  }
  return out;
}

async function walk(root: string, rel: string, out: Map<string, FileFacts>): Promise<void> {
  const here = join(root, rel);
  const st = await lstat(here);
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other';
  const content =
    type === 'file' ? createHash('sha256').update(await readFile(here)).digest('hex') : type === 'link' ? await readlink(here) : type === 'char' || type === 'block' ? String(st.rdev) : '';
  out.set(rel === '' ? '.' : rel, { type, mode: (st.mode & 0o7777).toString(8), owner: `${st.uid}:${st.gid}`, mtime: Math.trunc(st.mtimeMs / 1000), size: type === 'dir' ? 0 : st.size, content });
  if (type === 'dir') for (const name of (await readdir(here)).sort()) await walk(root, rel === '' ? name : `${rel}/${name}`, out);
}
