// Copies a controller script into the target and runs it there, as Ansible's script does: its own
// shebang runs it unless `executable` names an interpreter; it is removed afterwards.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { execModuleResult } from './support/exec-result.js';
import { boolArg, strArg } from './support/schema.js';
import { ShlexError, shlexSplit } from './support/shlex.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { type Module, type ModuleResult, failed } from './types.js';

/** script's arguments: `path args` free-form (or cmd), creates/removes, chdir, executable; decrypt is accepted. */
export interface ScriptArgs {
  _raw_params?: string;
  cmd?: string;
  creates?: string;
  removes?: string;
  chdir?: string;
  executable?: string;
  decrypt: boolean;
}

export const script: Module<ScriptArgs> = {
  name: 'script',
  aliases: ['ansible.builtin.script', 'ansible.legacy.script'],
  freeForm: '_raw_params',
  schema: {
    type: 'object',
    properties: { _raw_params: strArg, cmd: strArg, creates: strArg, removes: strArg, chdir: strArg, executable: strArg, decrypt: boolArg(true) },
    additionalProperties: false,
  },
  checkMode: true,
  async run(ctx) {
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
};
