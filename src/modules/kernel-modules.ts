// imgplay's own module: lists kernel modules for the image to load at boot in a modules-load.d file.
// Ansible's modprobe loads into the running kernel, which during a build is the build host's.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defineModule } from './spec.js';
import { atomicWrite } from '../host/atomic-write.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { hostPathFollow } from './support/target-path.js';
import { type ModuleResult, failed } from './types.js';

export const kernelModules = defineModule(
  {
    name: 'kernel_modules',
    collection: 'imgplay',
    doc: {
      short: 'Lists kernel modules for the image to load at boot (imgplay only).',
      description:
        'Keeps one module per line in `file` for `systemd-modules-load` to load when the image boots; other lines and comments are kept; `absent` leaves a missing file missing. The file (and its directory) is created when needed.',
      returns: '`names`, `file`, `state`; `--diff` shows the file before and after.',
      checkMode: 'Predicts the change and writes nothing.',
      differences: [
        "There is no Ansible equivalent: Ansible's `modprobe` loads a module into the running kernel, which during a build is the build host's; imgplay's `modprobe` writes only the image's `/etc/modules-load.d` and `/etc/modprobe.d` files, and `kernel_modules` records what the image loads.",
      ],
    },
    args: {
      names: { type: 'list', elements: 'str', required: true, description: 'Kernel module names (a list).' },
      file: { type: 'path', default: '/etc/modules-load.d/imgplay.conf', description: 'The modules-load.d file in the target.' },
      state: {
        default: 'present',
        choices: ['present', 'absent'],
        description: '`present` adds the missing names at the end in the order given, without duplicates; `absent` removes them.',
      },
    },
    checkMode: 'full',
    diff: true,
  },
  async ({ conn, args, check }) => {
    // systemd-modules-load reads one name per line; a blank or '#' would silently change what loads.
    const bad = args.names.find((n) => !/^[A-Za-z0-9_.-]+$/.test(n));
    if (bad !== undefined) return failed(`invalid kernel module name '${bad}'`);
    try {
      const host = await hostPathFollow(conn, args.file);
      const before = await readFile(host, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      const after = editModules(before, args.names, args.state);
      const result: ModuleResult = { changed: after !== null && after !== before, names: args.names, file: args.file, state: args.state };
      if (!result.changed) return result;
      result.diff = { before: before ?? '', after: after as string, before_header: args.file, after_header: args.file };
      if (!check) {
        await mkdir(dirname(host), { recursive: true });
        await atomicWrite(host, { data: after as string });
      }
      return result;
    } catch (err) {
      if (isFsError(err)) return failed(describeFsError(err, args.file));
      throw err;
    }
  },
);

/**
 * The file's text with `names` added at the end in the order given (skipping ones listed already) or
 * removed; other lines and comments stay. null means nothing to write (absent from a missing file).
 */
export function editModules(text: string | null, names: string[], state: 'present' | 'absent'): string | null {
  if (text === null && state === 'absent') return null;
  const lines = (text ?? '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const listed = (line: string): string => line.trim();
  if (state === 'present') {
    const have = new Set(lines.map(listed));
    for (const n of names) {
      if (have.has(n)) continue;
      have.add(n);
      lines.push(n);
    }
  } else {
    const drop = new Set(names);
    const kept = lines.filter((l) => !drop.has(listed(l)));
    if (kept.length === lines.length) return text;
    lines.splice(0, lines.length, ...kept);
  }
  const out = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  // An unterminated last line with nothing added is already right.
  return text !== null && out === `${text}\n` ? text : out;
}
