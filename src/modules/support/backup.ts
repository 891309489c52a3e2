// Backups before a file is overwritten, named as Ansible names them so existing cleanup jobs still match.
import { chmod, chown, copyFile, lstat, utimes } from 'node:fs/promises';

/**
 * Copies a file to Ansible's backup name (`file.PID.YYYY-MM-DD@HH:MM:SS~`) keeping its mode, owner and
 * times, and returns the backup's host path.
 */
export async function backupFile(host: string, now = new Date()): Promise<string> {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}@${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}~`;
  const backup = `${host}.${process.pid}.${stamp}`;
  const st = await lstat(host);
  await copyFile(host, backup);
  await chmod(backup, st.mode & 0o7777);
  // Only root may give a file away; Ansible shrugs off EPERM here too.
  await chown(backup, st.uid, st.gid).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPERM') throw err;
  });
  await utimes(backup, st.atime, st.mtime);
  return backup;
}
