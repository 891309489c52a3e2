// A task's attempts: its module runs, then changed_when and failed_when decide the result, and `until`
// runs it again (retries, delay) until the condition holds or the attempts are spent.
import { type ImgplayError, TemplateError, UndefinedVariableError } from '../errors.js';
import type { ModuleResult } from '../modules/types.js';
import { evaluateCondition } from '../jinja/expr.js';
import { lazyOver, normaliseResult } from './result.js';
import { sleep } from './timing.js';

/** The task keywords that judge a result. */
export interface ResultRules {
  readonly register?: string | undefined;
  readonly changed_when?: unknown;
  readonly failed_when?: unknown;
}

/** Applies changed_when and failed_when (which see the result under its register name) to a normalised result. */
export function judgeResult(result: ModuleResult, rules: ResultRules, vars: Record<string, unknown>): Record<string, unknown> {
  const withResult = rules.register ? lazyOver(vars, { [rules.register]: result }) : vars;
  let judging: 'changed' | 'failed' = 'changed';
  try {
    if (rules.changed_when !== undefined) result.changed = evaluateCondition(rules.changed_when, withResult);
    judging = 'failed';
    if (rules.failed_when !== undefined) {
      const f = evaluateCondition(rules.failed_when, withResult);
      result.failed_when_result = f;
      result.failed = f;
    }
  } catch (err) {
    // As 2.14's TaskExecutor: a condition that cannot be evaluated fails the task, which keeps its module's
    // result (stdout...) and says why under changed_when_result / failed_when_result.
    if (!(err instanceof UndefinedVariableError || err instanceof TemplateError)) throw err;
    const cond = judging === 'changed' ? rules.changed_when : rules.failed_when;
    result.failed = true;
    result[`${judging}_when_result`] = conditionFailure(cond, err);
  }
  return withResult;
}

// Ansible's words for a condition that failed to evaluate (an undefined name is said twice, as 2.14 says it).
function conditionFailure(cond: unknown, err: ImgplayError): string {
  const text = Array.isArray(cond) ? cond.map(String).join(', ') : String(cond);
  const why = err instanceof UndefinedVariableError ? `${err.message}. ${err.message}` : err.message;
  return `The conditional check '${text}' failed. The error was: error while evaluating conditional (${text}): ${why}`;
}

/** How often and how far apart a task runs, from until/retries/delay (already templated). */
export interface Attempts {
  readonly until?: unknown;
  /** 1 without `until`, else retries + 1. */
  readonly count: number;
  readonly delaySeconds: number;
}

/** The attempts a task's until/retries/delay keywords ask for; `template` renders retries and delay. */
export function attemptsOf(task: { until?: unknown; retries?: unknown; delay?: unknown }, template: (v: unknown) => unknown): Attempts {
  const count = task.until === undefined ? 1 : Math.max(1, Number(template(task.retries ?? 3)) + 1);
  return { until: task.until, count, delaySeconds: Number(template(task.delay ?? 5)) };
}

/** Runs a module attempt by attempt; undefined when an attempt ran out of time (`run` answered undefined). */
export async function runAttempts(
  run: () => Promise<ModuleResult | undefined>,
  rules: ResultRules,
  attempts: Attempts,
  vars: Record<string, unknown>,
  hooks: { signal: AbortSignal; onRetry(result: ModuleResult, retriesLeft: number): void },
): Promise<ModuleResult | undefined> {
  let result: ModuleResult = {};
  for (let attempt = 1; attempt <= attempts.count; attempt++) {
    const raw = await run();
    // As 2.14: a task out of time fails at once, without its failed_when, changed_when or until.
    if (raw === undefined) return undefined;
    result = normaliseResult(raw);
    const withResult = judgeResult(result, rules, vars);
    if (attempts.until === undefined) continue;
    result.attempts = attempt;
    if (evaluateCondition(attempts.until, withResult)) break;
    if (attempt < attempts.count) {
      hooks.onRetry(result, attempts.count - attempt);
      await sleep(attempts.delaySeconds * 1000, hooks.signal);
      continue;
    }
    result.failed = true;
  }
  return result;
}
