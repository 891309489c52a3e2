// Waits a number of seconds or minutes, as Ansible's pause does when stdin is not interactive. imgplay
// never prompts: a prompt without a duration goes on at once with Ansible's warning, so no build can hang.
import { setTimeout as sleep } from 'node:timers/promises';
import { defineModule } from './spec.js';
import { failed } from './types.js';

const NOT_WAITING = 'Not waiting for response to prompt as stdin is not interactive';

/** Python's int() of an argument (Ansible's pause uses the `int` callable, so 1.5 is 1 and '1.5' an error). */
function pyInt(name: string, v: unknown): number | string {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number.parseInt(v, 10);
  const type = typeof v === 'string' ? 'str' : v === null ? 'NoneType' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'dict' : typeof v;
  return `argument '${name}' is of type <class '${type}'> and we were unable to convert to int: ${typeof v === 'string' ? `invalid literal for int() with base 10: '${v}'` : `int() argument must be a string, a bytes-like object or a real number, not '${type}'`}`;
}

/** Python's str() of a float: 1.0, not 1. */
function pyFloat(x: number): string {
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** Python's str(datetime.now()): local time with microseconds. */
function pyNow(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
}

export const pause = defineModule(
  {
    name: 'pause',
    doc: {
      short: 'Waits some seconds or minutes; a prompt never waits for input (imgplay never prompts).',
      description:
        "As Ansible's pause with a non-interactive stdin: with `seconds` or `minutes` it waits that long (at least one second) and returns; with only a prompt it goes on at once with Ansible's warning `" +
        NOT_WAITING +
        '`. An interrupted run (Ctrl-C) stops the wait.',
      returns: '`stdout` (`Paused for N seconds|minutes`), `start`, `stop`, `delta` (whole seconds), `echo`, `user_input` (always empty), `rc` 0, `stderr` empty.',
      checkMode: 'Waits as in a normal run, as Ansible does.',
      differences: [
        'Even on a terminal imgplay does not wait for input: a prompt is shown to nobody and the task goes on, as Ansible does when stdin is not interactive.',
        "Ansible runs pause once for all the play's hosts (its action bypasses the host loop); imgplay runs it for each host, at the same time, so a play of several hosts waits as long but counts an ok for each.",
      ],
    },
    args: {
      seconds: { type: 'raw', description: 'How long to wait, in seconds (Python int(): 1.5 is 1); less than 1 waits 1.' },
      minutes: { type: 'raw', description: 'How long to wait, in minutes (Python int()).' },
      prompt: { description: 'The text Ansible shows; imgplay never waits for an answer.' },
      echo: { type: 'bool', default: true, description: 'Whether typed input would be shown; returned as `echo`.' },
    },
    mutuallyExclusive: [['minutes', 'seconds']],
    traits: { controllerOnly: true },
    checkMode: 'full',
  },
  async ({ args, signal }) => {
    let seconds: number | undefined;
    let unit: 'minutes' | 'seconds' = 'minutes';
    for (const name of ['minutes', 'seconds'] as const) {
      if (args[name] === undefined) continue;
      const n = pyInt(name, args[name]);
      if (typeof n === 'string') return failed(n);
      seconds = name === 'minutes' ? n * 60 : n;
      unit = name;
    }
    const start = Date.now();
    const result = { changed: false, rc: 0, stderr: '', stdout: '', start: pyNow(), stop: '', delta: 0, echo: args.echo, user_input: '' };
    if (seconds === undefined) {
      // Ansible's action prints this itself: a warning of the run, not part of the result.
      process.emitWarning(NOT_WAITING, { code: 'IMGPLAY_ARGUMENT' });
    } else {
      await sleep(Math.max(1, seconds) * 1000, undefined, { signal }).catch((err: unknown) => {
        if (!signal.aborted) throw err;
      });
    }
    const took = (Date.now() - start) / 1000;
    result.stop = pyNow();
    result.delta = Math.trunc(took);
    result.stdout = `Paused for ${pyFloat(Math.round((unit === 'minutes' ? took / 60 : took) * 100) / 100)} ${unit}`;
    return result;
  },
);
