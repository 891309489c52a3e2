// The arguments file modules share, declared once as spec groups: Ansible's file common arguments, and
// the path of a file edited in place with its aliases.
import type { ArgSpec } from '../spec.js';

const IGNORED_SELINUX = 'Accepted and ignored, as Ansible ignores it on a host without SELinux.';

/** Ansible's file common arguments (what add_file_common_args adds): mode, owner, group, SELinux, attributes, unsafe_writes. */
export const fileAttrArgs = {
  mode: {
    // A string ('0644', 'u=rw,g=r') or the integer YAML 1.1 makes of an unquoted 0644, as Ansible's raw takes it.
    type: 'raw',
    description:
      "Permissions: an octal string (`'0644'`, `'644'`, `'0o644'`), symbolic (`u=rwX,g=rX,o=`, `a+x`), or an integer. YAML 1.1 reads an unquoted `0644` as 420, which is right; an unquoted `644` is decimal 644 (= `01204`), as in Ansible: quote your modes. `preserve` (copy, template) takes the source file's mode.",
  },
  owner: { description: "The owning user: a name (looked up in the target's own `/etc/passwd`) or a numeric id." },
  group: { description: "The owning group: a name (looked up in the target's own `/etc/group`) or a numeric id." },
  seuser: { description: IGNORED_SELINUX },
  serole: { description: IGNORED_SELINUX },
  setype: { description: IGNORED_SELINUX },
  selevel: { description: IGNORED_SELINUX },
  unsafe_writes: { type: 'bool', default: false, description: 'Accepted and ignored: writes are always atomic (a temporary file in the same directory, then a rename).' },
  attributes: {
    aliases: ['attr'],
    description:
      "File attributes as chattr(1) sets them, with the target's own `lsattr`/`chattr` (e2fsprogs): `=` (the default) sets exactly these letters, `+`/`-` adds or removes them, e.g. `+d`. As in Ansible the letters are compared with what `lsattr -d` shows, so `+` reports a change whenever the file has other flags, and `-` always does. The tree's file system must support the letters; when chattr refuses, the task fails with `chattr failed` and chattr's words in `details`, as in Ansible. squashfs and cpio do not keep these flags: they last only while the tree does.",
  },
} as const satisfies Record<string, ArgSpec>;

/** The file lineinfile, blockinfile and replace edit in place, with Ansible's aliases for it. */
export const editedPathArgs = {
  path: { type: 'path', required: true, aliases: ['dest', 'destfile', 'name'], description: 'The file to edit (on the target).' },
} as const satisfies Record<string, ArgSpec>;
