// Python's time.strptime + time.mktime for the file module's modification_time/access_time.

const FIELDS: Record<string, { re: string; key: 'Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'y' }> = {
  Y: { re: '(\\d{4})', key: 'Y' },
  y: { re: '(\\d{2})', key: 'y' },
  m: { re: '(1[0-2]|0[1-9]|[1-9])', key: 'm' },
  d: { re: '(3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])', key: 'd' },
  H: { re: '(2[0-3]|[0-1]\\d|\\d)', key: 'H' },
  M: { re: '([0-5]\\d|\\d)', key: 'M' },
  S: { re: '(6[0-1]|[0-5]\\d|\\d)', key: 'S' },
};

/**
 * Epoch seconds for `value` read with a strftime-style `format`, in local time. Supports %Y %y %m %d
 * %H %M %S and %%, which cover Ansible's default '%Y%m%d%H%M.%S'; anything else is refused by name.
 */
export function parseTime(value: string, format: string): number {
  let pattern = '';
  const keys: (typeof FIELDS)[string]['key'][] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c !== '%') {
      pattern += /\s/.test(c) ? '\\s+' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      continue;
    }
    const d = format[++i];
    if (d === '%') {
      pattern += '%';
      continue;
    }
    const field = d === undefined ? undefined : FIELDS[d];
    if (field === undefined) throw new Error(`imgplay does not support the '%${d ?? ''}' directive in time formats`);
    pattern += field.re;
    keys.push(field.key);
  }
  const m = new RegExp(`^${pattern}`).exec(value);
  if (m === null) throw new Error(`time data '${value}' does not match format '${format}'`);
  if (m[0].length < value.length) throw new Error(`unconverted data remains: ${value.slice(m[0].length)}`);
  const parts = { Y: 1900, m: 1, d: 1, H: 0, M: 0, S: 0 };
  keys.forEach((k, i) => {
    const n = Number(m[i + 1]);
    if (k === 'y') parts.Y = n < 69 ? 2000 + n : 1900 + n;
    else parts[k] = n;
  });
  return new Date(parts.Y, parts.m - 1, parts.d, parts.H, parts.M, parts.S).getTime() / 1000;
}
