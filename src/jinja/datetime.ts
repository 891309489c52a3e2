// Python's naive datetime and timedelta, as the to_datetime filter makes them: compared, subtracted, added,
// their fields read (`.days`, `.seconds`, `.year`) and total_seconds()/strftime() called.

/** A naive datetime: microseconds since 1970-01-01 00:00 (no time zone, as Python's naive datetimes). */
export class PyDateTime {
  constructor(readonly us: number) {}
}

/** A timedelta: a signed number of microseconds. */
export class PyTimeDelta {
  constructor(readonly us: number) {}
}

const US_DAY = 86_400_000_000;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

/** The broken-down fields of a datetime. */
export function fieldsOf(d: PyDateTime): { year: number; month: number; day: number; hour: number; minute: number; second: number; microsecond: number } {
  const ms = Math.floor(d.us / 1000);
  const t = new Date(ms);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate(), hour: t.getUTCHours(), minute: t.getUTCMinutes(), second: t.getUTCSeconds(), microsecond: ((d.us % 1_000_000) + 1_000_000) % 1_000_000 };
}

/** The epoch seconds of a naive datetime read as UTC (for strftime). */
export function epochSecondsOf(d: PyDateTime): number {
  return d.us / 1_000_000;
}

/** A timedelta as Python keeps it: whole days (negative for a negative delta), then seconds and microseconds below a day. */
export function deltaParts(d: PyTimeDelta): { days: number; seconds: number; microseconds: number } {
  const days = Math.floor(d.us / US_DAY);
  const rest = d.us - days * US_DAY;
  return { days, seconds: Math.floor(rest / 1_000_000), microseconds: rest % 1_000_000 };
}

/** A field of a datetime or timedelta by Python's attribute name, or undefined if it has none. */
export function timeAttr(v: PyDateTime | PyTimeDelta, name: string): number | undefined {
  const f = v instanceof PyTimeDelta ? deltaParts(v) : fieldsOf(v);
  return Object.hasOwn(f, name) ? f[name as keyof typeof f] : undefined;
}
/** str() of a datetime (`2016-08-14 20:00:12`) or a timedelta (`233 days, 2:00:12`). */
export function timeStr(v: PyDateTime | PyTimeDelta): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  if (v instanceof PyTimeDelta) {
    const { days, seconds: s, microseconds: micro } = deltaParts(v);
    const clock = `${Math.floor(s / 3600)}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}${micro ? `.${p(micro, 6)}` : ''}`;
    return days === 0 ? clock : `${days} day${Math.abs(days) === 1 ? '' : 's'}, ${clock}`;
  }
  const f = fieldsOf(v);
  return `${p(f.year, 4)}-${p(f.month)}-${p(f.day)} ${p(f.hour)}:${p(f.minute)}:${p(f.second)}${f.microsecond ? `.${p(f.microsecond, 6)}` : ''}`;
}

/** Python's datetime.strptime for the directives roles use (%Y %y %m %d %H %I %p %M %S %f %b %B %a %A %j %%). */
export function strptime(text: string, format: string): PyDateTime {
  const fail = (): never => {
    throw new Error(`time data ${JSON.stringify(text).replace(/^"|"$/g, "'")} does not match format ${JSON.stringify(format).replace(/^"|"$/g, "'")}`);
  };
  let i = 0;
  const f = { year: 1900, month: 1, day: 1, hour: 0, minute: 0, second: 0, micro: 0, pm: undefined as boolean | undefined, yday: undefined as number | undefined };
  const digits = (min: number, max: number): number => {
    const m = new RegExp(`^\\d{${min},${max}}`).exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
    return Number(m![0]);
  };
  const word = (names: string[], short: boolean): number => {
    const rest = text.slice(i).toLowerCase();
    const idx = names.findIndex((n) => rest.startsWith(short ? n.slice(0, 3) : n));
    if (idx < 0) fail();
    i += short ? 3 : names[idx]!.length;
    return idx;
  };
  for (let k = 0; k < format.length; k++) {
    const c = format[k]!;
    if (c !== '%') {
      // Whitespace in the format matches any run of whitespace, as in Python.
      if (/\s/.test(c)) {
        while (i < text.length && /\s/.test(text[i]!)) i++;
      } else if (text[i++] !== c) fail();
      continue;
    }
    const d = format[++k];
    switch (d) {
      case 'Y': f.year = digits(4, 4); break;
      case 'y': { const y = digits(2, 2); f.year = y < 69 ? 2000 + y : 1900 + y; break; }
      case 'm': f.month = digits(1, 2); break;
      case 'd': f.day = digits(1, 2); break;
      case 'H': f.hour = digits(1, 2); break;
      case 'I': f.hour = digits(1, 2); if (f.hour < 1 || f.hour > 12) fail(); break;
      case 'M': f.minute = digits(1, 2); break;
      case 'S': f.second = digits(1, 2); break;
      case 'f': { const s = /^\d{1,6}/.exec(text.slice(i)) ?? fail(); i += s[0].length; f.micro = Number(s[0].padEnd(6, '0')); break; }
      case 'j': f.yday = digits(1, 3); break;
      case 'b': f.month = word(MONTHS, true) + 1; break;
      case 'B': f.month = word(MONTH_NAMES, false) + 1; break;
      case 'a': word(DAY_NAMES, true); break;
      case 'A': word(DAY_NAMES, false); break;
      case 'p': { const ap = text.slice(i, i + 2).toLowerCase(); if (ap !== 'am' && ap !== 'pm') fail(); f.pm = ap === 'pm'; i += 2; break; }
      case '%': if (text[i++] !== '%') fail(); break;
      default: throw new Error(`'${d ?? ''}' is a bad directive in format '%${d ?? ''}'`);
    }
  }
  if (i !== text.length) throw new Error(`unconverted data remains: ${text.slice(i)}`);
  if (f.pm !== undefined) f.hour = (f.hour % 12) + (f.pm ? 12 : 0);
  if (f.month < 1 || f.month > 12 || f.hour > 23 || f.minute > 59 || f.second > 61) fail();
  let ms = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  if (f.yday !== undefined) ms = Date.UTC(f.year, 0, f.yday, f.hour, f.minute, f.second);
  // Date.UTC maps years 0-99 to 1900-1999.
  const t = new Date(ms);
  if (f.year < 100) t.setUTCFullYear(f.year);
  if (f.yday === undefined && t.getUTCDate() !== f.day) throw new Error('day is out of range for month');
  return new PyDateTime(t.getTime() * 1000 + f.micro);
}
