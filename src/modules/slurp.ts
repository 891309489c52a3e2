// Reads a file on the target and returns it base64-encoded, as Ansible's slurp does.
import { readFile } from 'node:fs/promises';
import { defineModule } from './spec.js';
import { hostPathFollow } from './support/target-path.js';

export const slurp = defineModule(
  {
    name: 'slurp',
    doc: {
      short: 'Returns the content of a file on the target, base64-encoded.',
      description: 'Use `b64decode` on the result: `{{ (r.content | b64decode) }}`.',
      returns: '`content` (base64), `encoding` (`base64`), `source`.',
    },
    args: {
      src: { type: 'path', required: true, aliases: ['path'], description: 'The file to read (on the target; inside the tree for a chroot).' },
    },
    checkMode: 'full',
  },
  async ({ args, conn }) => {
    let data: Buffer;
    try {
      data = await readFile(await hostPathFollow(conn, args.src));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const msg =
        code === 'ENOENT'
          ? `file not found: ${args.src}`
          : code === 'EACCES'
            ? `file is not readable: ${args.src}`
            : code === 'EISDIR'
              ? `source is a directory and must be a file: ${args.src}`
              : `unable to slurp file: ${(err as Error).message}`;
      return { failed: true, changed: false, msg };
    }
    return { changed: false, content: data.toString('base64'), source: args.src, encoding: 'base64' };
  },
);
