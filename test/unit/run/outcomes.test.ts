import { describe, expect, it } from 'vitest';
import { ImgplayError, UndefinedVariableError, UnreachableError } from '../../../src/errors.js';
import type { TaskNode } from '../../../src/playbook/model.js';
import { ArgumentError } from '../../../src/run/args.js';
import { checkFailures, countOutcome, errorOutcome, RescueDepth } from '../../../src/run/outcomes.js';
import { type HostRun, newHostRun, type PlayRun } from '../../../src/run/state.js';
import { Stats } from '../../../src/run/stats.js';

const pos = { file: 'play.yml', line: 4, col: 7 };
const task = { kind: 'task', name: 'copy it', action: 'copy', args: {}, argPos: { dest: { file: 'play.yml', line: 6, col: 15 } }, notify: [], listen: [], when: [], tags: [], vars: {}, pos, baseDir: '.' } as TaskNode;
const host = (name: string) => newHostRun({ name, groups: [], vars: {} });

describe("an outcome in the recap's counters", () => {
  it('counts changed as ok too, and an ignored failure as ok and ignored', () => {
    const stats = new Stats();
    const h = host('a');
    countOutcome(stats, h, { status: 'changed', result: {}, ignored: false }, false, false);
    countOutcome(stats, h, { status: 'failed', result: { changed: true }, ignored: true }, false, false);
    expect(stats.of('a')).toMatchObject({ ok: 2, changed: 2, ignored: 1, failed: 0 });
  });

  it('counts a failure inside a block with a rescue as rescued, not failed', () => {
    const stats = new Stats();
    countOutcome(stats, host('a'), { status: 'failed', result: {}, ignored: false }, true, false);
    expect(stats.of('a')).toMatchObject({ rescued: 1, failed: 0 });
  });

  it('does not count a failure caused by an interruption', () => {
    const stats = new Stats();
    countOutcome(stats, host('a'), { status: 'failed', result: {}, ignored: false }, false, true);
    expect(stats.of('a').failed).toBe(0);
  });
});

describe('how deep in rescuable blocks a host is', () => {
  it('rises and falls with the blocks it enters and leaves', () => {
    const r = new RescueDepth();
    const h = host('a');
    r.enter([h]);
    r.enter([h]);
    r.leave([h]);
    expect(r.rescuable(h)).toBe(true);
    r.leave([h]);
    expect(r.rescuable(h)).toBe(false);
  });
});

describe('an error while running a task', () => {
  it('is an unreachable outcome when the host could not be reached', () => {
    expect(errorOutcome(new UnreachableError('no tree'), task, () => true)).toMatchObject({ status: 'unreachable', ignored: false, result: { unreachable: true, msg: 'no tree' } });
  });

  it('names the undefined variable and the task, at the task, and registers what Ansible says of it', () => {
    const o = errorOutcome(new UndefinedVariableError('nope'), task, () => false);
    expect(o.where?.message).toMatch(/^'nope' is undefined in task 'copy it'/);
    expect(o.result.msg).toMatch(/^The task includes an option with an undefined variable\. The error was: 'nope' is undefined\. 'nope' is undefined\n\nThe error appears to be in /);
    expect(o.where).toMatchObject(pos);
  });

  it("points at the argument's own line for an argument error", () => {
    const o = errorOutcome(new ArgumentError('dest: not a path', 'dest'), task, () => false);
    expect(o.where).toMatchObject({ line: 6, col: 15 });
  });

  it('keeps the position an error brings, with its hint', () => {
    const at = { file: 'other.yml', line: 9, col: 1 };
    const o = errorOutcome(new ImgplayError('bad', { pos: at, hint: 'try this' }), task, () => false);
    expect(o.result.msg).toBe('bad\ntry this');
    expect(o.where).toMatchObject(at);
  });

  it("is a crash of imgplay when it is not a user's error, and is ignored as ignore_errors says (false when that fails)", () => {
    const o = errorOutcome(new TypeError('x is null'), task, () => true);
    expect(o.result.msg).toMatch(/copy crashed/);
    expect(o.ignored).toBe(true);
    expect(errorOutcome(new TypeError('x'), task, () => { throw new Error('no'); }).ignored).toBe(false);
  });
});

describe('failures that end the play', () => {
  const play = (hosts: HostRun[], maxFailPercentage?: number): PlayRun => ({ play: {} as PlayRun['play'], hosts, allHosts: hosts, ended: false, broken: false, handlers: [], forceHandlers: false, free: false, maxFailPercentage });

  it('end it when a host newly failed under any_errors_fatal, failing every host', () => {
    const [a, b] = [host('a'), host('b')];
    a.failed = true;
    const pr = play([a, b]);
    checkFailures(pr, new Set(), true, new RescueDepth());
    expect(pr).toMatchObject({ ended: true, broken: true });
    expect(b.failed).toBe(true);
  });

  it('do not end it for a host that had already failed, or one a rescue will catch', () => {
    const [a, b] = [host('a'), host('b')];
    a.failed = true;
    const pr = play([a, b]);
    checkFailures(pr, new Set([a]), true, new RescueDepth());
    expect(pr.ended).toBe(false);
    const rescues = new RescueDepth();
    rescues.enter([a]);
    checkFailures(pr, new Set(), true, rescues);
    expect(pr.ended).toBe(false);
  });

  it('end it when more than max_fail_percentage of its hosts failed', () => {
    const hosts = [host('a'), host('b'), host('c')];
    hosts[0]!.failed = true;
    const under = play(hosts, 34);
    checkFailures(under, new Set(), false, new RescueDepth());
    expect(under.ended).toBe(false);
    const over = play(hosts, 33);
    checkFailures(over, new Set(), false, new RescueDepth());
    expect(over.ended).toBe(true);
  });
});
