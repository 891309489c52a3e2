// The fields Python's os.stat gives Ansible's stat and find modules, named as those modules name them.
import type { Stats } from 'node:fs';

/** Type, mode bits, ids, size and times of a file, as both stat and find report them. */
export function statFields(st: Stats): Record<string, unknown> {
  const m = st.mode;
  const bit = (b: number) => (m & b) !== 0;
  return {
    mode: (m & 0o7777).toString(8).padStart(4, '0'),
    isdir: st.isDirectory(),
    ischr: st.isCharacterDevice(),
    isblk: st.isBlockDevice(),
    isreg: st.isFile(),
    isfifo: st.isFIFO(),
    islnk: st.isSymbolicLink(),
    issock: st.isSocket(),
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    inode: st.ino,
    dev: st.dev,
    nlink: st.nlink,
    atime: st.atimeMs / 1000,
    mtime: st.mtimeMs / 1000,
    ctime: st.ctimeMs / 1000,
    wusr: bit(0o200),
    rusr: bit(0o400),
    xusr: bit(0o100),
    wgrp: bit(0o020),
    rgrp: bit(0o040),
    xgrp: bit(0o010),
    woth: bit(0o002),
    roth: bit(0o004),
    xoth: bit(0o001),
    isuid: bit(0o4000),
    isgid: bit(0o2000),
  };
}
