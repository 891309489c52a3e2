// How an error reaches the user: an imgplay error as Ansible prints one (ERROR!, file:line:col, the source line with a
// caret, the hint), several planning errors one after another, anything else as an internal error with its stack.
import { EXIT, ImgplayError, InternalError, PlanningErrors } from '../errors.js';
import { excerpt, printable } from '../yaml/load.js';

/** Prints an error the way users should see it and returns its exit code. */
export function reportError(e: unknown, err: (s: string) => void): number {
  if (e instanceof PlanningErrors && e.errors.length > 1) {
    for (const one of e.errors) reportError(one, err);
    err(`${e.errors.length}${e.truncated ? ' (or more: planning stopped there)' : ''} errors in the playbook; nothing ran\n`);
    return e.exitCode;
  }
  if (e instanceof ImgplayError) {
    const at = e.pos ? `${e.pos.file}:${e.pos.line}:${e.pos.col}` : '';
    // Messages quote keys and names from the input, which may hold escape sequences.
    let text = e.messageFirst && at ? `ERROR! ${printable(e.message, { newlines: true })}\n  at ${printable(at)}\n` : `ERROR! ${printable(at ? `${at}: ${e.message}` : e.message, { newlines: true })}\n`;
    if (e.pos) text += `${excerpt(e.pos)}\n`;
    if (e.hint) text += `${printable(e.hint, { newlines: true })}\n`;
    err(text);
    return e.exitCode;
  }
  const internal = new InternalError((e as Error)?.message ?? String(e), { cause: e });
  err(printable(`ERROR! ${internal.message}\n${(e as Error)?.stack ?? ''}\n`, { newlines: true }));
  return EXIT.error;
}
