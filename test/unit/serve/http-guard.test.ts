// The boot server's guards on what clients send: request targets, %-escapes, and the limits it is given.
import { describe, expect, it } from 'vitest';
import { decodeSegment, HttpError, printable, requestTarget } from '../../../src/serve/http-guard.js';
import { checkingInterval, resolveLimits, SERVE_LIMITS } from '../../../src/serve/limits.js';

function refusal(f: () => unknown): HttpError | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  return undefined;
}

describe('requestTarget', () => {
  it.each([
    ['/boot.ipxe?mac=52:54:00:12:34:56', '/boot.ipxe', '?mac=52:54:00:12:34:56'],
    ['//etc/passwd', '//etc/passwd', ''],
    ['/common/../vmlinuz', '/vmlinuz', ''],
    ['http://elsewhere/boot.ipxe?mac=1', '/boot.ipxe', '?mac=1'],
  ])('reads %s as the path %s and the query %s', (raw, path, search) => {
    const url = requestTarget(raw);
    expect([url.pathname, url.search]).toEqual([path, search]);
  });

  it.each([['http://[/'], ['*'], ['example.com:443'], ['/api/catalog/%zz'], ['/%'], ['/boot.ipxe?mac=%g0'], ['ftp://x/y']])('refuses %s with 400', (raw) => {
    expect(refusal(() => requestTarget(raw))?.status).toBe(400);
  });
});

describe('decodeSegment', () => {
  it('decodes UTF-8 escapes', () => {
    expect(decodeSegment('52%3A54%3A00')).toBe('52:54:00');
  });

  it.each([['%ff'], ['%E0%A4%A'], ['%C3']])('refuses %s, which is not UTF-8, with 400', (text) => {
    expect(refusal(() => decodeSegment(text))?.status).toBe(400);
  });
});

describe('printable', () => {
  it('escapes what could forge or colour a log line', () => {
    expect(printable('a b\n\x1b[31mc\u00e9')).toBe('a%20b%0A%1B[31mc%C3%A9');
  });
});

describe('resolveLimits', () => {
  it('keeps the defaults for what is not given', () => {
    expect(resolveLimits({ maxConnections: 10 })).toEqual({ ...SERVE_LIMITS, maxConnections: 10 });
  });

  it.each([
    [{ maxConnections: 0 }, 'maxConnections must be a positive whole number, not 0'],
    [{ idleTimeout: 1.5 }, 'idleTimeout must be a positive whole number, not 1.5'],
    [{ headersTimeout: 5000, requestTimeout: 1000 }, 'headersTimeout (5000) must not be longer than requestTimeout (1000)'],
  ])('refuses %j', (given, message) => {
    expect(() => resolveLimits(given)).toThrow(message);
  });

  it('checks timeouts a few times within the header timeout, and not more often than every 10 ms', () => {
    expect(checkingInterval(SERVE_LIMITS)).toBe(5_000);
    expect(checkingInterval({ ...SERVE_LIMITS, headersTimeout: 1000 })).toBe(250);
    expect(checkingInterval({ ...SERVE_LIMITS, headersTimeout: 8 })).toBe(10);
  });
});
