// Copies a controller script into the target and runs it there, as Ansible's script does: its own
// shebang runs it unless `executable` names an interpreter; it is removed afterwards.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { defineModule } from './spec.js';
import { execModuleResult } from './support/exec-result.js';
import { ShlexError, shlexSplit } from './support/shlex.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { type ModuleResult, failed } from './types.js';

export const script = defineModule(
  {
    name: 'script',
    doc: {
      short: 'Copies a controller script into the target and runs it there.',
      description:
        "The script is found in the role's `files/`, then the playbook directory, copied into a private directory under the target's `/tmp` (mode 0700), run there, and removed. The task environment is passed to it.",
      returns: '`rc`, `stdout`, `stderr`, `stdout_lines`, `stderr_lines`, always `changed: true`; a non-zero exit fails with `msg: non-zero return code`.',
      checkMode: '(Ansible 2.14) `changed: true` when `creates`/`removes` are given and do not skip it, otherwise skipped with `Check mode is not supported for this task.`',
      differences: [
        '`stdout`/`stderr` lose their final newline (the connection strips it; Ansible keeps it).',
        '`creates`/`removes` are not globs (as in Ansible\'s script, unlike command).',
      ],
    },
    args: {
      _raw_params: { description: '`path/to/script args…` (free form).', internal: true },
      cmd: {
        description: '`path/to/script args…`: the path is swapped for the copy\'s in the line as written, so the arguments keep their quoting; the line runs through the target\'s `/bin/sh`.',
      },
      creates: { description: 'If this target path exists, skip (`msg: PATH exists, matching creates option`).' },
      removes: { description: 'If this target path does not exist, skip (`msg: PATH does not exist, matching removes option`).' },
      chdir: { description: 'An absolute target directory to run in.' },
      executable: { description: 'An interpreter to run the script with (`/bin/bash`, `python3`); without it the script\'s own shebang decides.' },
      decrypt: { type: 'bool', default: true, description: 'Accepted and ignored: imgplay has no vault, so there is nothing to decrypt.' },
    },
    freeForm: '_raw_params',
    checkMode: 'partial',
  },
  async (ctx) => {
    const { args, conn, check } = ctx;
    const exists = async (p: string): Promise<boolean> => (await statOrUndefined(await hostPathFollow(conn, p))) !== undefined;
    if (args.creates && (await exists(args.creates))) return { changed: false, skipped: true, msg: `${args.creates} exists, matching creates option` };
    if (args.removes && !(await exists(args.removes))) return { changed: false, skipped: true, msg: `${args.removes} does not exist, matching removes option` };
    if (args.chdir && !args.chdir.startsWith('/')) return failed(`chdir ${args.chdir} must be an absolute path for a Unix-aware remote node`);

    const rawParams = (args._raw_params || args.cmd || '').trim();
    let parts: string[];
    try {
      parts = shlexSplit(rawParams);
    } catch (err) {
      if (!(err instanceof ShlexError)) throw err;
      return failed(`cannot split the script line into arguments (${err.message}): ${rawParams}`);
    }
    const first = parts[0];
    if (first === undefined) return failed('script: no script given (write `script: path/to/script args`)');
    let source: string;
    try {
      source = await ctx.findFile('files', first);
    } catch (err) {
      return failed((err as Error).message);
    }
    if (check) {
      // Ansible can only predict a script that creates/removes decided would run.
      if (args.creates || args.removes) return { changed: true };
      return { changed: false, skipped: true, msg: 'Check mode is not supported for this task.' };
    }

    // A private directory in the target's /tmp, as Ansible's remote tmp: the script is not world-readable.
    const dir = `/tmp/.imgplay-script-${process.pid}-${randomBytes(4).toString('hex')}`;
    const remote = posix.join(dir, posix.basename(source));
    const dirHost = await conn.hostPath(dir, { followLast: false });
    await mkdir(dirHost, { mode: 0o700 });
    try {
      const fileHost = await conn.hostPath(remote, { followLast: false });
      await copyFile(source, fileHost);
      await chmod(fileHost, 0o700);
      // Ansible swaps the script's path into the line as written, so the arguments keep their quoting.
      const line = rawParams.replace(first, remote);
      const command = args.executable ? `${args.executable} ${line}` : line;
      const res = await conn.exec(command, { cwd: args.chdir || undefined, env: ctx.environment, signal: ctx.signal });
      const result: ModuleResult = execModuleResult(res);
      if (res.rc !== 0) Object.assign(result, { failed: true, msg: 'non-zero return code' });
      return result;
    } finally {
      await rm(dirHost, { recursive: true, force: true });
    }
  },
);
