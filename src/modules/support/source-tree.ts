// Lists a controller directory for copy, as Ansible's _walk_dirs does: files, directories and the symlinks to recreate.
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** What a directory copy has to recreate: [absolute source, path relative to dest]. */
export interface SourceTree {
  files: [string, string][];
  directories: [string, string][];
  /** [link text, path relative to dest]. */
  symlinks: [string, string][];
}

/**
 * Walks `top`. Without a trailing slash the directory itself is copied (relative paths start with its
 * name), with one only its contents, as rsync does. With `localFollow` links are copied as what they
 * point at, except one that leads back into a directory being copied, which stays a link.
 */
export async function walkSource(top: string, localFollow: boolean): Promise<SourceTree> {
  const tree: SourceTree = { files: [], directories: [], symlinks: [] };
  const prefix = top.endsWith('/') ? '' : basename(top);
  if ((await lstat(top)).isSymbolicLink() && !localFollow) {
    tree.symlinks.push([await readlink(top), basename(top)]);
    return tree;
  }
  const id = async (p: string) => {
    const st = await stat(p);
    return `${st.dev}:${st.ino}`;
  };
  const walk = async (dir: string, rel: string, parents: Set<string>): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const abs = join(dir, e.name);
      const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        tree.directories.push([abs, relPath]);
        await walk(abs, relPath, new Set([...parents, await id(abs)]));
        continue;
      }
      if (!e.isSymbolicLink()) {
        tree.files.push([abs, relPath]);
        continue;
      }
      const target = await stat(abs).catch(() => undefined);
      if (target?.isDirectory()) {
        const real = await realpath(abs);
        const realId = await id(real);
        if (!localFollow || parents.has(realId)) {
          tree.symlinks.push([await readlink(abs), relPath]);
        } else {
          tree.directories.push([real, relPath]);
          await walk(real, relPath, new Set([...parents, realId]));
        }
      } else if (localFollow && target?.isFile()) {
        tree.files.push([await realpath(abs), relPath]);
      } else {
        tree.symlinks.push([await readlink(abs), relPath]);
      }
    }
  };
  const root = top.endsWith('/') ? top.slice(0, -1) || '/' : top;
  await walk(root, prefix, new Set([await id(root)]));
  return tree;
}
