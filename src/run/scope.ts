// What a task inherits from the play, blocks, imports, includes and roles around it, and how a keyword
// inherited so reads as a boolean.
import { isTrueWord } from '../jinja/values.js';
import type { SourcePos } from '../errors.js';
import type { Inherited, Play } from '../playbook/model.js';
import { templateValue } from '../jinja/template.js';

/** The keywords whose innermost value wins, typed as a node (playbook/model.ts's Inherited) writes them. */
type Innermost = Pick<
  Inherited,
  'check_mode' | 'ignore_errors' | 'no_log' | 'delegate_to' | 'any_errors_fatal' | 'run_once' | 'ignore_unreachable' | 'throttle' | 'timeout' | 'diff' | 'delegate_facts'
>;

/** What a node inherits from the blocks, imports and roles around it: the innermost keywords as a node has
 *  them, and what accumulates from outer nodes to inner ones (conditions, tags, variables, environments,
 *  module_defaults, become). */
export interface Scope extends Innermost {
  readonly when: ReadonlyArray<{ cond: unknown; pos: SourcePos }>;
  readonly tags: Inherited['tags'];
  readonly vars: ReadonlyArray<Inherited['vars']>;
  readonly includeParams: Readonly<Record<string, unknown>>;
  readonly environment: readonly unknown[];
  readonly handler: boolean;
  /** The include_tasks files and include_role roles this node runs inside, outermost first. */
  readonly includes: readonly string[];
  /** module_defaults entries, outermost first: later entries win. */
  readonly module_defaults?: Inherited['module_defaults'];
  readonly become?: Inherited['become'];
}

/** The scope of nothing: no conditions, tags, variables or keywords. */
export function emptyScope(): Scope {
  return { when: [], tags: [], vars: [], includeParams: {}, environment: [], handler: false, includes: [] };
}

/** The scope a play gives its tasks. */
export function playScope(play: Play): Scope {
  return {
    when: play.when.map((cond) => ({ cond, pos: play.pos })),
    tags: play.tags,
    vars: [],
    includeParams: {},
    environment: play.environment === undefined ? [] : [play.environment],
    check_mode: play.check_mode,
    ignore_errors: play.ignore_errors,
    no_log: play.no_log,
    delegate_to: undefined,
    handler: false,
    includes: [],
    ...innerKeywords(emptyScope(), play),
  };
}

/** The scope inside a node: its conditions, tags, vars and environment added to the outer ones, its keywords winning. */
export function innerScope(scope: Scope, node: Inherited & { readonly pos: SourcePos }): Scope {
  return {
    when: [...scope.when, ...node.when.map((cond) => ({ cond, pos: node.pos }))],
    tags: [...scope.tags, ...node.tags],
    vars: Object.keys(node.vars).length ? [...scope.vars, node.vars] : scope.vars,
    includeParams: scope.includeParams,
    environment: node.environment === undefined ? scope.environment : [...scope.environment, node.environment],
    check_mode: node.check_mode ?? scope.check_mode,
    ignore_errors: node.ignore_errors ?? scope.ignore_errors,
    no_log: node.no_log ?? scope.no_log,
    delegate_to: node.delegate_to ?? scope.delegate_to,
    handler: scope.handler,
    includes: scope.includes,
    ...innerKeywords(scope, node),
  };
}

// The 2.14 keywords a node sets for itself and what it runs: its own value wins, module_defaults accumulate.
function innerKeywords(scope: Scope, node: Inherited): Partial<Scope> {
  return {
    any_errors_fatal: node.any_errors_fatal ?? scope.any_errors_fatal,
    run_once: node.run_once ?? scope.run_once,
    ignore_unreachable: node.ignore_unreachable ?? scope.ignore_unreachable,
    throttle: node.throttle ?? scope.throttle,
    timeout: node.timeout ?? scope.timeout,
    diff: node.diff ?? scope.diff,
    delegate_facts: node.delegate_facts ?? scope.delegate_facts,
    module_defaults: node.module_defaults ? [...(scope.module_defaults ?? []), ...node.module_defaults] : scope.module_defaults,
    become: node.become ? { ...scope.become, ...node.become } : scope.become,
  };
}

/** Whether a container is non-empty or a scalar truthy (Python's bool), for a keyword's templated value. */
export function nonEmpty(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : v && typeof v === 'object' ? Object.keys(v).length > 0 : Boolean(v);
}

/** A yes/no keyword (ignore_errors, no_log, check_mode...) templated with a task's variables; unset is false. */
export function keywordTrue(value: unknown, vars: Record<string, unknown>): boolean {
  if (value === undefined) return false;
  const v = templateValue(value, vars);
  if (typeof v === 'string') return isTrueWord(v);
  return nonEmpty(v);
}
