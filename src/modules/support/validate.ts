// The `validate` argument of copy, template and lineinfile: a command that must accept the new file before it replaces the old.
import type { Connection, ExecResult } from '../../connection/types.js';
import { ShlexError, shlexSplit } from './shlex.js';

/** Why a validate command could not even be run: the message says what to fix. */
export class ValidateError extends Error {}

/**
 * Runs `validate` with `%s` replaced by the candidate file's target path. As in Ansible the command is
 * split into argv and run without a shell, so pipes and redirections are not available.
 */
export async function runValidate(conn: Connection, validate: string, candidate: string): Promise<ExecResult> {
  if (!validate.includes('%s')) throw new ValidateError(`validate must contain %s: ${validate}`);
  // Python's `validate % path`: %s is the path, %% a literal percent.
  const line = validate.replace(/%%|%s/g, (m) => (m === '%%' ? '%' : candidate));
  let argv: string[];
  try {
    argv = shlexSplit(line);
  } catch (err) {
    if (err instanceof ShlexError) throw new ValidateError(`cannot split validate into arguments (${err.message}): ${validate}`);
    throw err;
  }
  return conn.exec(argv);
}
