// Creates a uniquely named temporary file or directory on the target, as Ansible's tempfile does.
import { randomBytes } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { posix } from 'node:path';
import { defineModule } from './spec.js';
import { hostPathFollow } from './support/target-path.js';

// Python's tempfile names: eight characters from lower-case letters, digits and the underscore.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789_';

function randomName(): string {
  return [...randomBytes(8)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

export const tempfile = defineModule(
  {
    name: 'tempfile',
    doc: {
      short: 'Creates a temporary file or directory on the target, with a unique name.',
      description: "Without `path` it is made in the target's `$TMPDIR` or `/tmp` (inside the tree for a chroot). Nothing removes it afterwards: remove it with `file: state=absent`.",
      returns: '`path`: the file or directory made.',
      checkMode: 'The module does not support check mode, as in Ansible: the task is skipped.',
    },
    args: {
      state: { choices: ['file', 'directory'], default: 'file', description: 'Make a file or a directory.' },
      path: { type: 'path', description: 'The directory to make it in.' },
      prefix: { default: 'ansible.', description: 'The start of its name.' },
      suffix: { default: '', description: 'The end of its name.' },
    },
    checkMode: 'none',
  },
  async ({ args, conn, environment }) => {
    const dir = args.path ?? environment.TMPDIR ?? (conn.kind === 'local' ? process.env.TMPDIR : undefined) ?? '/tmp';
    for (let attempt = 0; attempt < 100; attempt++) {
      const path = posix.join(dir, `${args.prefix}${randomName()}${args.suffix}`);
      try {
        const host = await hostPathFollow(conn, path);
        if (args.state === 'directory') await mkdir(host, { mode: 0o700 });
        else await (await open(host, 'wx', 0o600)).close();
        return { changed: true, path };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        return { failed: true, changed: false, msg: `[Errno ${(err as NodeJS.ErrnoException).errno ?? ''}] ${(err as Error).message}` };
      }
    }
    return { failed: true, changed: false, msg: `No usable temporary file name found in ${dir}` };
  },
);
