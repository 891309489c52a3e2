// The boot server's guards on what clients send: request targets, %-escapes, catalog documents, and the
// limits it is given.
import { describe, expect, it } from 'vitest';
import { CATALOG_DEPTH, catalogProblem } from '../../../src/serve/catalogs.js';
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

describe('catalogProblem', () => {
  const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

  it.each([
    { what: 'an inventory', text: '{"mac":"x","lshw":{"children":[{"id":"pci"}]}}', problem: undefined },
    { what: `${CATALOG_DEPTH} levels`, text: nested(CATALOG_DEPTH), problem: undefined },
    // Brackets inside strings are text, and an escaped quote does not end one.
    { what: 'brackets in a string', text: `{"a":"${'['.repeat(2000)}\\\"${'{'.repeat(2000)}"}`, problem: undefined },
    { what: `${CATALOG_DEPTH + 1} levels`, text: nested(CATALOG_DEPTH + 1), problem: `nests deeper than ${CATALOG_DEPTH} levels` },
    { what: 'an array', text: '[1]', problem: 'must be a JSON object, not an array' },
    { what: 'null', text: 'null', problem: 'must be a JSON object, not null' },
    { what: 'a string', text: '"text"', problem: 'must be a JSON object, not string' },
  ])('finds in $what: $problem', ({ text, problem }) => {
    expect(catalogProblem(Buffer.from(text))).toBe(problem);
  });

  it('names the parse error of what is not JSON', () => {
    expect(catalogProblem(Buffer.from('{"mac": '))).toMatch(/^is not JSON: .*JSON/);
  });

  it('refuses 8 MB of nested brackets at once instead of spending seconds parsing them', () => {
    const started = Date.now();
    expect(catalogProblem(Buffer.from('['.repeat(4e6) + ']'.repeat(4e6)))).toBe(`nests deeper than ${CATALOG_DEPTH} levels`);
    expect(Date.now() - started).toBeLessThan(1000);
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
