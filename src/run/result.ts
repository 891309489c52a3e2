// Ansible's result contract, applied to what a module returned: the fields every result has, the status
// it shows as, a loop's summary over its items, and what is kept when a result is registered or hidden.
import type { ModuleResult } from '../modules/types.js';
import type { ResultStatus } from '../report/events.js';
import { tuplesAsLists } from '../jinja/values.js';

/** A module's result with the fields Ansible's TaskExecutor adds: stdout_lines/stderr_lines, changed, failed from rc. */
export function normaliseResult(raw: ModuleResult): ModuleResult {
  const result = { ...raw };
  if (result.stdout !== undefined && result.stdout_lines === undefined) result.stdout_lines = linesOf(result.stdout);
  if (result.stderr !== undefined && result.stderr_lines === undefined) result.stderr_lines = linesOf(result.stderr);
  if (result.changed === undefined) result.changed = false;
  // As Ansible's TaskExecutor: a missing `failed` is derived from rc, so registered results always have it.
  if (result.failed === undefined) result.failed = typeof result.rc === 'number' && result.rc !== 0;
  return result;
}

// Python's splitlines() of an output: a trailing newline makes no empty last line.
function linesOf(text: unknown): string[] {
  return String(text).split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
}

/** How a result shows: skipped outweighs failed, failed outweighs changed. */
export function statusOf(result: ModuleResult): ResultStatus {
  return result.skipped ? 'skipped' : result.failed ? 'failed' : result.changed ? 'changed' : 'ok';
}

/** The result of a task skipped by its `when:`. */
export function skippedByCondition(cond: unknown): ModuleResult {
  return { changed: false, skipped: true, skip_reason: 'Conditional result was False', false_condition: cond };
}

/** A looped task's result over its items' results (each with its status and whether its module changed
 *  something), and the status it shows as. */
export function loopSummary(items: ReadonlyArray<{ result: ModuleResult; status: ResultStatus; changed: boolean }>): { summary: ModuleResult; status: ResultStatus } {
  const anyFailed = items.some((i) => i.status === 'failed');
  const anyChanged = items.some((i) => i.changed);
  const summary: ModuleResult = { changed: anyChanged, results: items.map((i) => i.result), msg: anyFailed ? 'One or more items failed' : 'All items completed' };
  if (anyFailed) summary.failed = true;
  if (items.length > 0 && items.every((i) => i.status === 'skipped')) summary.skipped = true;
  if (items.length === 0) {
    summary.skipped = true;
    summary.skipped_reason = 'No items in the list';
  }
  const status: ResultStatus = anyFailed ? 'failed' : summary.skipped ? 'skipped' : anyChanged ? 'changed' : 'ok';
  return { summary, status };
}

/** A result without the fields meant for the display (`_ansible_*`), tuples as lists: what `register` keeps. */
export function stripInternal(result: ModuleResult): ModuleResult {
  const out: ModuleResult = {};
  for (const [k, v] of Object.entries(result)) if (!k.startsWith('_ansible')) out[k] = tuplesAsLists(v);
  return out;
}

/** What is shown of a result under no_log. */
export function censored(result: ModuleResult): ModuleResult {
  return { censored: "the output has been hidden due to the fact that 'no_log: true' was specified for this result", changed: result.changed ?? false, ...(result.failed ? { failed: true } : {}), ...(result.skipped ? { skipped: true } : {}) };
}

/** Variables with a few more on top, the others still read lazily through `vars` (a result under its register name). */
export function lazyOver(vars: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(vars)) {
    if (!(key in extra)) Object.defineProperty(out, key, { enumerable: true, configurable: true, get: () => vars[key] });
  }
  for (const [key, value] of Object.entries(extra)) Object.defineProperty(out, key, { enumerable: true, configurable: true, writable: true, value });
  return out;
}
