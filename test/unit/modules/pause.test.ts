import { describe, expect, it } from 'vitest';
import { pause } from '../../../src/modules/pause.js';
import { makeContext, prepare } from '../../support/module-cases.js';

async function run(args: Record<string, unknown>, signal?: AbortSignal) {
  const ctx = makeContext({ args: await prepare(pause, args) });
  return pause.run(signal === undefined ? ctx : { ...ctx, signal });
}

/** The run's warnings emitted while `job` runs. */
async function warningsOf<T>(job: () => Promise<T>): Promise<[T, string[]]> {
  const seen: string[] = [];
  const listen = (w: Error) => seen.push(w.message);
  process.on('warning', listen);
  try {
    const r = await job();
    await new Promise((resolve) => setImmediate(resolve));
    return [r, seen];
  } finally {
    process.off('warning', listen);
  }
}

describe('pause', () => {
  it('waits the seconds asked for and says so as Ansible does', async () => {
    const t = Date.now();
    const r = await run({ seconds: '1' });
    expect(Date.now() - t).toBeGreaterThanOrEqual(990);
    expect(r).toMatchObject({ changed: false, rc: 0, stderr: '', delta: 1, echo: true, user_input: '' });
    expect(r.stdout).toMatch(/^Paused for 1\.\d+ seconds$/);
    expect(String(r.start)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  });

  it('waits at least a second, and takes a float as Python int() does', async () => {
    const t = Date.now();
    expect((await run({ seconds: 0.4 })).delta).toBe(1);
    expect(Date.now() - t).toBeGreaterThanOrEqual(990);
  });

  it('never waits for an answer to a prompt: it goes on at once with the warning Ansible gives without a terminal', async () => {
    const t = Date.now();
    const [r, warnings] = await warningsOf(() => run({ prompt: 'Press enter', echo: false }));
    expect(Date.now() - t).toBeLessThan(900);
    expect(r).toMatchObject({ changed: false, stdout: 'Paused for 0.0 minutes', delta: 0, echo: false, user_input: '' });
    expect(r.warnings).toBeUndefined();
    expect(warnings).toEqual(['Not waiting for response to prompt as stdin is not interactive']);
  });

  it('stops waiting when the run is interrupted', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const t = Date.now();
    const r = await run({ minutes: 5 }, stop.signal);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(r.stdout).toBe('Paused for 0.0 minutes');
  });

  it("refuses minutes with seconds, and what Python's int() refuses", async () => {
    await expect(prepare(pause, { minutes: 1, seconds: 2 })).rejects.toThrow('parameters are mutually exclusive: minutes|seconds');
    const r = await run({ seconds: '1.5' });
    expect(r.failed).toBe(true);
    expect(r.msg).toBe("argument 'seconds' is of type <class 'str'> and we were unable to convert to int: invalid literal for int() with base 10: '1.5'");
  });
});
