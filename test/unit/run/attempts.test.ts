import { describe, expect, it } from 'vitest';
import type { ModuleResult } from '../../../src/modules/types.js';
import { attemptsOf, judgeResult, runAttempts } from '../../../src/run/attempts.js';

// A module's answers, one per attempt: the input the retry rules judge.
function answers(...results: ModuleResult[]): { run: () => Promise<ModuleResult | undefined>; calls: () => number } {
  let i = 0;
  return { run: async () => results[Math.min(i++, results.length - 1)], calls: () => i };
}

const hooks = (retries: number[]) => ({ signal: new AbortController().signal, onRetry: (_r: ModuleResult, left: number) => retries.push(left) });

describe("a task's attempts", () => {
  it('run once without until, whatever retries says', async () => {
    const a = answers({ rc: 1 });
    const r = await runAttempts(a.run, {}, attemptsOf({ retries: 5 }, (v) => v), {}, hooks([]));
    expect(a.calls()).toBe(1);
    expect(r).toMatchObject({ failed: true, changed: false });
    expect(r).not.toHaveProperty('attempts');
  });

  it('retry until the condition holds, counting attempts and retries left', async () => {
    const a = answers({ stdout: 'no' }, { stdout: 'no' }, { stdout: 'yes' });
    const retries: number[] = [];
    const r = await runAttempts(a.run, { register: 'out' }, { until: "out.stdout == 'yes'", count: 4, delaySeconds: 0 }, {}, hooks(retries));
    expect(a.calls()).toBe(3);
    expect(retries).toEqual([3, 2]);
    expect(r).toMatchObject({ attempts: 3, failed: false });
  });

  it('fail when the attempts are spent', async () => {
    const a = answers({ stdout: 'no' });
    const r = await runAttempts(a.run, { register: 'out' }, { until: "out.stdout == 'yes'", count: 2, delaySeconds: 0 }, {}, hooks([]));
    expect(a.calls()).toBe(2);
    expect(r).toMatchObject({ attempts: 2, failed: true });
  });

  it('answer undefined when an attempt ran out of time, without judging it', async () => {
    const a = answers(undefined as unknown as ModuleResult);
    expect(await runAttempts(a.run, { failed_when: 'true' }, { count: 1, delaySeconds: 0 }, {}, hooks([]))).toBeUndefined();
  });

  it('template retries and delay, three retries and five seconds by default', () => {
    expect(attemptsOf({ until: 'x' }, (v) => v)).toEqual({ until: 'x', count: 4, delaySeconds: 5 });
    expect(attemptsOf({ until: 'x', retries: '0', delay: 1 }, (v) => v)).toEqual({ until: 'x', count: 1, delaySeconds: 1 });
  });
});

describe('changed_when and failed_when', () => {
  it('see the result under its register name and decide changed and failed', () => {
    const r: ModuleResult = { changed: false, failed: false, rc: 3 };
    judgeResult(r, { register: 'res', changed_when: 'res.rc == 3', failed_when: 'res.rc > 5' }, { other: 1 });
    expect(r).toMatchObject({ changed: true, failed: false, failed_when_result: false });
  });
});
