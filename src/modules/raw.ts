// Runs a command line on the target through its /bin/sh (or `executable`), as Ansible's raw does: no
// creates/removes, no chdir, always changed.
import { execModuleResult } from './support/exec-result.js';
import { strArg } from './support/schema.js';
import type { Module, ModuleResult } from './types.js';

/** raw's arguments: the free-form command line and the shell that runs it. */
export interface RawArgs {
  _raw_params?: string;
  executable?: string;
}

export const raw: Module<RawArgs> = {
  name: 'raw',
  aliases: ['ansible.builtin.raw', 'ansible.legacy.raw'],
  freeForm: '_raw_params',
  schema: {
    type: 'object',
    properties: { _raw_params: strArg, executable: strArg },
    additionalProperties: false,
  },
  // Ansible skips raw under --check with a bare skipped result; returning it here keeps its shape.
  checkMode: true,
  async run({ args, conn, check, environment, signal }) {
    const command = args._raw_params ?? '';
    if (command.trim() === '') return { changed: false, failed: true, msg: 'no command given', rc: 256 };
    if (check) return { changed: false, skipped: true };
    const warnings: string[] = [];
    // Ansible runs raw below the module layer, where the environment keyword does not reach.
    if (Object.keys(environment).length > 0) warnings.push('raw module does not support the environment keyword');
    const res = await conn.exec(command, { executable: args.executable, signal });
    const result: ModuleResult = execModuleResult(res);
    if (warnings.length > 0) result.warnings = warnings;
    if (res.rc !== 0) Object.assign(result, { failed: true, msg: 'non-zero return code' });
    return result;
  },
};
