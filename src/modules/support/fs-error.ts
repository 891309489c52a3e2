// Turns node's fs errors into the messages Ansible's Python modules print, naming target paths, not host paths.

/** True for the errors node's fs raises (they carry an errno code), as opposed to bugs. */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err;
}

/** The system's words for an error, as Python's e.strerror: 'Permission denied'. */
export function strerror(err: NodeJS.ErrnoException): string {
  // node's message reads "ENOENT: no such file or directory, open '/host/path'"; keep the middle.
  const text = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message)?.[1] ?? err.message;
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/** Python's str(OSError): "[Errno 2] No such file or directory: '/etc/x'", with the target path given. */
export function describeFsError(err: NodeJS.ErrnoException, targetPath?: string): string {
  const errno = err.errno === undefined ? '' : `[Errno ${Math.abs(err.errno)}] `;
  const where = targetPath === undefined ? '' : `: '${targetPath}'`;
  return `${errno}${strerror(err)}${where}`;
}
