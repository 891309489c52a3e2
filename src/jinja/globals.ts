// Ansible's Jinja globals besides range, dict and the lookups: now() and undef().
import { TemplateError } from '../errors.js';
import { bindArgs, pyStr, truthy, UndefinedValue } from './values.js';
import { formatTime } from './strftime.js';

/** now(utc=False, fmt=None) and undef(hint=None), with Python's argument binding. */
export function callGlobal(name: 'now' | 'undef', args: unknown[], kwargs: Record<string, unknown>): unknown {
  if (name === 'undef') {
    const [hint] = bindArgs('undef', ['hint'], args, kwargs);
    const text = hint === undefined || hint === null || hint === '' || hint instanceof UndefinedValue ? 'Mandatory variable has not been overridden' : pyStr(hint);
    return new UndefinedValue('undef()', text);
  }
  const [utc = false, fmt] = bindArgs('now', ['utc', 'fmt'], args, kwargs);
  const t = Date.now() / 1000;
  if (fmt !== undefined && fmt !== null && truthy(fmt)) return formatTime(pyStr(fmt), t, truthy(utc), true);
  if (fmt !== undefined && fmt !== null && typeof fmt !== 'string') throw new TemplateError('now(): fmt must be a string');
  // A datetime prints as its isoformat with a space; imgplay returns that text (no datetime objects).
  return formatTime('%Y-%m-%d %H:%M:%S.%f', t, truthy(utc), true);
}
