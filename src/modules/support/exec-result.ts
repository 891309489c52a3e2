// A command's outcome in Ansible's result shape, for modules that run one command (raw, script).
import type { ExecResult } from '../../connection/types.js';
import type { ModuleResult } from '../types.js';
import { splitLines } from './lines.js';

/** rc, stdout and stderr with their *_lines, changed as Ansible reports for commands. */
export function execModuleResult(res: ExecResult): ModuleResult {
  return {
    changed: true,
    rc: res.rc,
    stdout: res.stdout,
    stdout_lines: splitLines(res.stdout),
    stderr: res.stderr,
    stderr_lines: splitLines(res.stderr),
  };
}
