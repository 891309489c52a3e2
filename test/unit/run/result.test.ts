import { describe, expect, it } from 'vitest';
import { censored, lazyOver, loopSummary, normaliseResult, statusOf, stripInternal } from '../../../src/run/result.js';

describe("a module's result, normalised as Ansible's TaskExecutor does", () => {
  it('gains stdout_lines and stderr_lines without an empty last line', () => {
    const r = normaliseResult({ stdout: 'a\nb\n', stderr: '' });
    expect(r.stdout_lines).toEqual(['a', 'b']);
    expect(r.stderr_lines).toEqual([]);
  });

  it('keeps lines a module gave itself', () => {
    expect(normaliseResult({ stdout: 'a\nb', stdout_lines: ['x'] }).stdout_lines).toEqual(['x']);
  });

  it('is unchanged unless it says so, and failed when its rc is not 0', () => {
    expect(normaliseResult({ rc: 2 })).toMatchObject({ changed: false, failed: true });
    expect(normaliseResult({ rc: 0 })).toMatchObject({ changed: false, failed: false });
    expect(normaliseResult({ rc: 2, failed: false }).failed).toBe(false);
  });

  it('is a copy: the module keeps its own object', () => {
    const raw = { changed: true };
    normaliseResult(raw).msg = 'x';
    expect(raw).toEqual({ changed: true });
  });
});

describe('the status a result shows as', () => {
  it('puts skipped over failed over changed over ok', () => {
    expect(statusOf({ skipped: true, failed: true })).toBe('skipped');
    expect(statusOf({ failed: true, changed: true })).toBe('failed');
    expect(statusOf({ changed: true })).toBe('changed');
    expect(statusOf({})).toBe('ok');
  });
});

describe("a loop's summary", () => {
  it('fails when one item failed and is changed when one changed', () => {
    const { summary, status } = loopSummary([
      { result: { changed: true }, status: 'changed', changed: true },
      { result: { failed: true }, status: 'failed', changed: false },
    ]);
    expect(status).toBe('failed');
    expect(summary).toMatchObject({ changed: true, failed: true, msg: 'One or more items failed' });
    expect(summary.results).toHaveLength(2);
  });

  it('is skipped when every item was, and says so when there were no items', () => {
    expect(loopSummary([{ result: { skipped: true }, status: 'skipped', changed: false }]).status).toBe('skipped');
    const empty = loopSummary([]);
    expect(empty.status).toBe('skipped');
    expect(empty.summary).toMatchObject({ skipped: true, skipped_reason: 'No items in the list', msg: 'All items completed' });
  });

  it("counts an item changed by what its module said, not by a loop variable's name", () => {
    expect(loopSummary([{ result: { changed: true, item: 'x' }, status: 'ok', changed: false }]).status).toBe('ok');
  });
});

describe('what register keeps and no_log shows', () => {
  it('drops the fields meant for the display and turns tuples into lists', () => {
    expect(stripInternal({ changed: false, _ansible_item_label: 'x', _ansible_verbose_always: true, msg: 'm' })).toEqual({ changed: false, msg: 'm' });
  });

  it('hides everything under no_log but whether it changed, failed or skipped', () => {
    const c = censored({ changed: true, failed: true, msg: 'secret' });
    expect(c).toMatchObject({ changed: true, failed: true });
    expect(JSON.stringify(c)).not.toContain('secret');
  });

  it('reads variables through, with the registered result on top', () => {
    let reads = 0;
    const vars = Object.defineProperty({ r: 'old' } as Record<string, unknown>, 'lazy', { enumerable: true, get: () => ++reads });
    const over = lazyOver(vars, { r: 'new' });
    expect(reads).toBe(0);
    expect(over.r).toBe('new');
    expect(over.lazy).toBe(1);
  });
});
