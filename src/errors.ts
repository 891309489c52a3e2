// Named error classes: each carries an exit code, an optional source position and a cause.
import { closest, distance } from 'fastest-levenshtein';

/** A place in a source file, 1-based line and column. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** Exit codes, as ansible-playbook uses them. */
export const EXIT = {
  ok: 0,
  error: 1,
  hostFailed: 2,
  // ansible-core's TaskQueueManager.RUN_UNREACHABLE_HOSTS: the same number as a parse error.
  unreachable: 4,
  parse: 4,
  badOptions: 5,
  interrupted: 99,
} as const;

/** The base of every error imgplay reports to a user instead of a stack trace. */
export class ImgplayError extends Error {
  readonly exitCode: number = EXIT.error;
  readonly pos: SourcePos | undefined;
  readonly hint: string | undefined;
  /** Printed as Ansible prints it (`ERROR! <message>`), its place on the lines after: an error of the run that
   *  Ansible words so exactly that scripts grep for it. */
  readonly messageFirst: boolean;
  constructor(message: string, opts: { pos?: SourcePos | undefined; hint?: string | undefined; cause?: unknown; messageFirst?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.pos = opts.pos;
    this.hint = opts.hint;
    this.messageFirst = opts.messageFirst === true;
  }
}

/** YAML that does not parse, or a playbook structure that cannot be understood. */
export class ParseError extends ImgplayError {
  override readonly exitCode = EXIT.parse;
}

/** Input that parses but breaks a schema: unknown keyword, wrong type, bad module argument. */
export class ValidationError extends ImgplayError {
  override readonly exitCode = EXIT.parse;
}

/** A task file an include_tasks loads at run time does not parse or validate: as Ansible's AnsibleParserError
 *  there, it ends the whole run (exit 4), where a missing file only fails the include. */
export class IncludedFileError extends ValidationError {}

/** Every planning error of a run (up to a limit), each located; it reads as the first of them. */
export class PlanningErrors extends ValidationError {
  constructor(readonly errors: readonly ImgplayError[], readonly truncated: boolean) {
    super(errors[0]?.message ?? 'planning failed', { pos: errors[0]?.pos, hint: errors[0]?.hint, cause: errors[0] });
  }
}

/** Command-line options that cannot be honoured. */
export class OptionsError extends ImgplayError {
  override readonly exitCode = EXIT.badOptions;
}

/** A variable used in a template or condition that has no value. */
export class UndefinedVariableError extends ImgplayError {
  /** Jinja's own words for it (`'x' is undefined`, `'dict object' has no attribute 'y'`), which Ansible's msg quotes. */
  readonly jinja: string;
  constructor(
    readonly variable: string,
    opts: { pos?: SourcePos; hint?: string; cause?: unknown; jinja?: string } = {},
  ) {
    super(`'${variable}' is undefined`, opts);
    this.jinja = opts.jinja ?? `'${variable}' is undefined`;
  }
}

/** A template or condition that is malformed or fails while being evaluated. `type`: Python would raise a
 *  TypeError there (or the filter an AnsibleFilterTypeError), which Ansible words as a templating type error. */
export class TemplateError extends ImgplayError {
  readonly type: boolean;
  constructor(message: string, opts: { pos?: SourcePos | undefined; hint?: string | undefined; cause?: unknown; type?: boolean } = {}) {
    super(message, opts);
    this.type = opts.type ?? false;
  }
}

/** A connection that cannot be opened (Ansible's "unreachable"). */
export class UnreachableError extends ImgplayError {
  override readonly exitCode = EXIT.unreachable;
}

/** A bug in imgplay itself: it says so and asks to be reported. */
export class InternalError extends ImgplayError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(`internal error: ${message} (this is a bug in imgplay; please report it with the command you ran)`, opts);
  }
}

/** Suggests the closest known word when it is near enough to be a likely misspelling. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(word, known as string[]);
  const limit = Math.max(2, Math.floor(word.length / 3));
  return distance(word, best) <= limit ? best : undefined;
}
