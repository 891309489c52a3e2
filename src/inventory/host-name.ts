// Host names as inventories write them: an optional `:port` and `[01:03]` / `[a:c]` ranges, read with the
// same regular expressions as Ansible's parse_address and expand_hostname_range so odd names behave alike.
import { ValidationError, type SourcePos } from '../errors.js';

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const IPV6_PART = String.raw`(?:[0-9a-f]{1,4}|${HEX_RANGE})`;
const IPV4_PART = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
const WORD = String.raw`[\p{L}\p{N}\p{Mn}\p{Pc}]`;
const LABEL = String.raw`(?:${WORD}|${ALNUM_RANGE})(?:${WORD}|-|${ALNUM_RANGE})*(?<![_-])`;

const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/;
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;
const IPV4 = new RegExp(String.raw`^(?:${IPV4_PART}\.){3}${IPV4_PART}$`, 'i');
const H = IPV6_PART;
const V4 = String.raw`(?:${H}\.){3}${H}`;
// Ansible's expression anchors only its last alternative at the end; kept so, so the same strings pass.
const IPV6 = new RegExp(
  '^(?:' +
    [
      `(?:${H}:){7}${H}`,
      `(?:${H}:){1,6}:`,
      `(?:${H}:)(?::${H}){1,6}`,
      `(?:${H}:){2}(?::${H}){1,5}`,
      `(?:${H}:){3}(?::${H}){1,4}`,
      `(?:${H}:){4}(?::${H}){1,3}`,
      `(?:${H}:){5}(?::${H}){1,2}`,
      `(?:${H}:){6}(?::${H})`,
      `:(?::${H}){1,6}`,
      `${H}?::`,
      `(?:0:){6}${V4}`,
      `::(?:ffff:)?${V4}`,
      `(?:0:){5}ffff:${V4}$`,
    ].join('|') +
    ')',
  'i',
);
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'iu');

/** The host and port of an address like `web1:2222` or `[::1]:22`, or undefined if it is not a host address. */
export function parseAddress(address: string, allowRanges: boolean): { host: string; port: number | undefined } | undefined {
  let host = address;
  let port: number | undefined;
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(host);
    if (m) {
      host = m[1]!;
      port = Number(m[2]);
    }
  }
  if (!IPV4.test(host) && !IPV6.test(host) && !HOSTNAME.test(host)) return undefined;
  if (!allowRanges && host.includes('[')) return undefined;
  return { host, port };
}

/** Thrown for a malformed `[x:y]` range; the caller adds where it was written. */
export class HostRangeError extends Error {}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The most hosts one inventory entry may expand to: `h[1:99999999]` would otherwise take minutes and gigabytes. */
export const MAX_RANGE_HOSTS = 100_000;

/** Expands every `[begin:end(:step)]` range in a host name, as Ansible's expand_hostname_range does. */
export function expandHostRange(line: string): string[] {
  return expandRanges(line, line);
}

function expandRanges(line: string, whole: string): string[] {
  const open = line.indexOf('[');
  if (open < 0) return [line];
  const close = line.indexOf(']', open);
  // Ansible swaps the first '[' and first ']' for separators; a ']' before the '[' makes a malformed split.
  const parts = line.replace('[', '|').replace(']', '|').split('|');
  if (close < 0 || parts.length !== 3) throw new HostRangeError(`cannot expand host range in '${line}': expected one [begin:end] after the name`);
  const [head, range, tail] = parts as [string, string, string];
  const bounds = range.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw new HostRangeError(`host range [${range}] in '${line}' must be begin:end or begin:end:step`);
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  if (!end) throw new HostRangeError(`host range [${range}] in '${line}' must specify an end value`);
  const step = bounds.length === 3 ? toInt(bounds[2]!, line, range) : 1;
  if (step <= 0) throw new HostRangeError(`host range [${range}] in '${line}' must have a positive step`);
  let fill = (x: string | number): string => String(x);
  if (beg[0] === '0' && beg.length > 1) {
    if (beg.length !== end.length) {
      throw new HostRangeError(`host range [${range}] in '${line}' must give begin and end with the same number of digits`);
    }
    fill = (x) => String(x).padStart(beg.length, '0');
  }
  let seq: (string | number)[];
  const ib = LETTERS.indexOf(beg);
  const ie = LETTERS.indexOf(end);
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) throw new HostRangeError(`host range [${range}] in '${line}' must have begin <= end`);
    seq = [];
    for (let k = ib; k <= ie; k += step) seq.push(LETTERS[k]!);
  } else {
    const from = toInt(beg, line, range);
    const to = toInt(end, line, range);
    if ((to - from) / step >= MAX_RANGE_HOSTS) throw tooMany(whole);
    seq = [];
    for (let k = from; k <= to; k += step) seq.push(k);
  }
  const out: string[] = [];
  for (const x of seq) {
    for (const host of expandRanges(`${head}${fill(x)}${tail}`, whole)) {
      if (out.push(host) > MAX_RANGE_HOSTS) throw tooMany(whole);
    }
  }
  return out;
}

function tooMany(line: string): HostRangeError {
  return new HostRangeError(`the host ranges in '${line}' name more than ${MAX_RANGE_HOSTS} hosts`);
}

function toInt(text: string, line: string, range: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new HostRangeError(`host range [${range}] in '${line}' is neither numeric nor a single-letter range`);
  return parseInt(text, 10);
}

/** The host names and port of one inventory host entry (`web[01:03]:2222`); raw text when not an address. */
export function expandHostPattern(pattern: string): { hosts: string[]; port: number | undefined } {
  const addr = parseAddress(pattern, true);
  const name = addr ? addr.host : pattern;
  return { hosts: name.includes('[') ? expandHostRange(name) : [name], port: addr?.port };
}

/** Expands a host pattern as an inventory reader needs it: a bad range is a ValidationError at `pos`. */
export function expandHostAt(pattern: string, pos: SourcePos | undefined): ReturnType<typeof expandHostPattern> {
  try {
    return expandHostPattern(pattern);
  } catch (err) {
    if (err instanceof HostRangeError) throw new ValidationError(err.message, { pos });
    throw err;
  }
}
