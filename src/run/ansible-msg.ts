// A failed task's `msg` in ansible-core 2.14's words, for what registers it, rescue sections and assertions
// (`result.msg.startswith('The task includes an option with an undefined variable')`). The terminal shows
// imgplay's own readable block instead (the expression, the place, a caret): see outcomes.ts.
import { readFileSync } from 'node:fs';
import { ImgplayError, type SourcePos, TemplateError, UndefinedVariableError } from '../errors.js';
import { expressionOf } from '../jinja/expr.js';

/** Where in a task a template failed: its arguments (and other keywords), its loop, or a condition. */
export type FailedIn = { kind: 'args' } | { kind: 'loop' } | { kind: 'condition'; cond: string };

const failedIn = new WeakMap<Error, FailedIn>();

/** Notes where in a task an error was raised (a condition, the loop) and returns it, to be thrown on. */
export function raisedIn<E>(err: E, where: FailedIn): E {
  if (err instanceof Error && !failedIn.has(err)) failedIn.set(err, where);
  return err;
}

/** Ansible's msg for a task that failed on a template error, or undefined for any other error (its own text stands). */
export function ansibleMsg(err: unknown, pos: SourcePos): string | undefined {
  if (!(err instanceof UndefinedVariableError) && !(err instanceof TemplateError)) return undefined;
  const where = (err instanceof Error && failedIn.get(err)) || { kind: 'args' };
  const core = coreText(err);
  const doubled = `${core}. ${core}`;
  if (where.kind === 'condition') {
    const inner = isTypeError(err)
      ? `Unexpected templating type error occurred on ({% if ${where.cond} %} True {% else %} False {% endif %}): ${doubled}`
      : `error while evaluating conditional (${where.cond}): ${err instanceof UndefinedVariableError ? doubled : core}`;
    return `The conditional check '${where.cond}' failed. The error was: ${inner}${errorAppears(pos)}`;
  }
  if (err instanceof UndefinedVariableError) {
    return where.kind === 'loop' ? doubled : `The task includes an option with an undefined variable. The error was: ${doubled}${errorAppears(pos)}`;
  }
  if (isTypeError(err)) {
    const expr = expressionOf(err) ?? '';
    return `Unexpected templating type error occurred on (${/\{\{|\{%/.test(expr) ? expr : `{{ ${expr} }}`}): ${doubled}`;
  }
  return core;
}

/** Ansible's words for an undefined variable met while templating (`'x' is undefined. 'x' is undefined`), or undefined for another error. */
export function undefinedText(err: unknown): string | undefined {
  if (!(err instanceof UndefinedVariableError)) return undefined;
  return `${err.jinja}. ${err.jinja}`;
}

// What the error itself says, without what imgplay adds around it (the filter's name, the expression).
function coreText(err: ImgplayError): string {
  if (err instanceof UndefinedVariableError) return err.jinja;
  let inner: ImgplayError = err;
  while (inner.cause instanceof TemplateError) inner = inner.cause;
  return inner.message;
}

function isTypeError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof TemplateError && e.type) return true;
  return false;
}

// Ansible's pointer into the playbook that follows a message about a place in it: the position, the line before
// and the line itself, a caret under the column (the task's first key). Ansible's paragraphs of YAML quoting
// advice that can follow are left out.
function errorAppears(pos: SourcePos): string {
  let lines: string[];
  try {
    lines = readFileSync(pos.file, 'utf8').split(/(?<=\n)/);
  } catch {
    return `\n\nThe error appears to be in '${pos.file}': line ${pos.line}, column ${pos.col}, but may\nbe elsewhere in the file depending on the exact syntax problem.\n\n(could not open file to display line)`;
  }
  let line = pos.line;
  let col = pos.col;
  let at = Math.min(line - 1, lines.length - 1);
  while (at > 0 && (lines[at] ?? '').trim() === '') at--;
  const target = (lines[at] ?? '').trimEnd();
  const prev = at > 0 ? (lines[at - 1] ?? '').trimEnd() : '';
  let shown: string;
  // A k=v line before it: Ansible points at its `=` instead.
  if (/\w+(\s+)?=(\s+)?[\w/-]+/u.test(prev)) {
    const eq = prev.indexOf('=');
    line -= 1;
    col = eq + 1;
    shown = `${prev}\n${' '.repeat(eq)}^ here\n\n`;
  } else shown = `${prev}\n${target}\n${' '.repeat(Math.max(0, col - 1))}^ here\n`;
  return `\n\nThe error appears to be in '${pos.file}': line ${line}, column ${col}, but may\nbe elsewhere in the file depending on the exact syntax problem.\n\nThe offending line appears to be:\n\n${shown}`;
}
