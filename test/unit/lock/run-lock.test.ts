// After a locked build: each stage's packages against the lock, a warning, or under --locked an error.
import { describe, expect, it } from 'vitest';
import type { Lock } from '../../../src/image/lock-file.js';
import { activeLock } from '../../../src/image/lock-honour.js';
import type { RunEvent } from '../../../src/report/events.js';
import { endLockedRun } from '../../../src/run/lock.js';

const H = (c: string) => c.repeat(64);
const lock: Lock = {
  lock: 1,
  playbook: 'playbooks/all.yml',
  suites: [{ id: 'bookworm', uri: 'http://mirror.invalid/debian', suite: 'bookworm', release: `sha256:${H('a')}`, indexes: [] }],
  stages: {
    'overlay/x': [
      { name: 'jq', version: '1.6-2.1', arch: 'amd64', sha256: H('4'), suite: 'bookworm', filename: 'pool/j.deb' },
      { name: 'lshw', version: '02.19', arch: 'amd64', sha256: H('5'), suite: 'bookworm', filename: 'pool/l.deb' },
    ],
  },
};
const overlay = (added: Array<{ name: string; version: string }>) => ({
  name: 'x.overlay.cpio.gz',
  kind: 'overlay',
  packageDelta: { added: added.map((p) => ({ ...p, arch: 'amd64' })), removed: [], changed: [] },
});
const summaries = (added: Array<{ name: string; version: string }>, stage = 'overlay/x') => [{ stage, archives: [], artifacts: [overlay(added)], cached: false }] as never;

function collect() {
  const events: RunEvent[] = [];
  return { events, reporter: { emit: (e: RunEvent) => void events.push(e) } };
}

describe('a locked build that ended', () => {
  it('is quiet when every stage installed what the lock has, and leaves no lock in force', () => {
    const { events, reporter } = collect();
    const code = endLockedRun({ path: 'imgplay.lock', lock }, summaries([{ name: 'jq', version: '1.6-2.1' }, { name: 'lshw', version: '02.19' }]), { locked: true, mode: 'strict' }, reporter);
    expect(code).toBeUndefined();
    expect(events).toEqual([]);
    expect(activeLock()).toBeUndefined();
  });

  it('names each difference: a warning, or under --locked an error with exit 1', () => {
    const built = summaries([{ name: 'jq', version: '1.7' }, { name: 'curl', version: '7.88' }]);
    const warned = collect();
    expect(endLockedRun({ path: 'imgplay.lock', lock }, built, { locked: false, mode: 'strict' }, warned.reporter)).toBeUndefined();
    const message = [
      'the build differs from imgplay.lock:',
      '  stage overlay/x installed jq 1.7, the lock has 1.6-2.1',
      '  stage overlay/x installed curl 7.88, which the lock does not have',
      '  stage overlay/x did not install lshw 02.19, which the lock has',
      'run imgplay lock to lock what the playbook installs now',
    ].join('\n');
    expect(warned.events).toEqual([{ type: 'warning', message }]);
    const refused = collect();
    expect(endLockedRun({ path: 'imgplay.lock', lock }, built, { locked: true, mode: 'strict' }, refused.reporter)).toBe(1);
    expect(refused.events).toEqual([{ type: 'error', message: `--locked: ${message}` }]);
  });

  it('names a stage the lock does not have', () => {
    const { events, reporter } = collect();
    endLockedRun({ path: 'imgplay.lock', lock }, summaries([], 'overlay/new'), { locked: false, mode: 'strict' }, reporter);
    expect(events[0]).toMatchObject({ type: 'warning', message: expect.stringContaining('stage overlay/new is not in the lock') });
  });
});
