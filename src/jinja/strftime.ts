// C's strftime in the C locale, as Python's time.strftime formats: the strftime filter and the now() global.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Broken-down time: local (the TZ of this process) or UTC. */
interface Tm {
  year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: number; yday: number;
  micro: number; offsetMin: number; zone: string;
}

function broken(epochSeconds: number, utc: boolean): Tm {
  const ms = Math.floor(epochSeconds * 1000);
  const d = new Date(ms);
  const get = utc
    ? { y: d.getUTCFullYear(), mo: d.getUTCMonth(), da: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds(), w: d.getUTCDay() }
    : { y: d.getFullYear(), mo: d.getMonth(), da: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds(), w: d.getDay() };
  const yday = Math.round((Date.UTC(get.y, get.mo, get.da) - Date.UTC(get.y, 0, 1)) / 86_400_000);
  const offsetMin = utc ? 0 : -d.getTimezoneOffset();
  let zone = 'GMT';
  if (!utc) {
    const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
    zone = part?.value ?? 'UTC';
  }
  const micro = Math.round((epochSeconds - Math.floor(epochSeconds)) * 1e6) % 1_000_000;
  return { year: get.y, month: get.mo, day: get.da, hour: get.h, minute: get.mi, second: get.s, weekday: get.w, yday, micro, offsetMin, zone };
}

const pad = (n: number, w = 2, c = '0') => String(n).padStart(w, c);

// ISO 8601 week number and week-based year.
function isoWeek(t: Tm): [number, number] {
  const d = new Date(Date.UTC(t.year, t.month, t.day));
  const dow = (t.weekday + 6) % 7;
  d.setUTCDate(d.getUTCDate() - dow + 3);
  const year = d.getUTCFullYear();
  const first = new Date(Date.UTC(year, 0, 4));
  const week = 1 + Math.round((d.getTime() - first.getTime()) / 86_400_000 / 7 - ((first.getUTCDay() + 6) % 7 - 3) / 7);
  return [year, week];
}

/** time.strftime(format, localtime(seconds)) — or gmtime when utc; micro: datetime.strftime's %f too. */
export function formatTime(format: string, epochSeconds: number, utc: boolean, micro = false): string {
  const t = broken(epochSeconds, utc);
  const h12 = t.hour % 12 === 0 ? 12 : t.hour % 12;
  return format.replace(/%([-_0^#]?)([a-zA-Z%+])/g, (m, _flag: string, c: string) => {
    switch (c) {
      case 'a': return DAYS[t.weekday]!.slice(0, 3);
      case 'A': return DAYS[t.weekday]!;
      case 'b': case 'h': return MONTHS[t.month]!.slice(0, 3);
      case 'B': return MONTHS[t.month]!;
      case 'c': return `${DAYS[t.weekday]!.slice(0, 3)} ${MONTHS[t.month]!.slice(0, 3)} ${pad(t.day, 2, ' ')} ${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)} ${t.year}`;
      case 'C': return pad(Math.floor(t.year / 100));
      case 'd': return pad(t.day);
      case 'D': return `${pad(t.month + 1)}/${pad(t.day)}/${pad(t.year % 100)}`;
      case 'e': return pad(t.day, 2, ' ');
      case 'F': return `${t.year}-${pad(t.month + 1)}-${pad(t.day)}`;
      case 'G': return String(isoWeek(t)[0]);
      case 'g': return pad(isoWeek(t)[0] % 100);
      case 'H': return pad(t.hour);
      case 'I': return pad(h12);
      case 'j': return pad(t.yday + 1, 3);
      case 'k': return pad(t.hour, 2, ' ');
      case 'l': return pad(h12, 2, ' ');
      case 'm': return pad(t.month + 1);
      case 'M': return pad(t.minute);
      case 'n': return '\n';
      case 'p': return t.hour < 12 ? 'AM' : 'PM';
      case 'P': return t.hour < 12 ? 'am' : 'pm';
      case 'r': return `${pad(h12)}:${pad(t.minute)}:${pad(t.second)} ${t.hour < 12 ? 'AM' : 'PM'}`;
      case 'R': return `${pad(t.hour)}:${pad(t.minute)}`;
      case 's': return String(Math.floor(epochSeconds));
      case 'S': return pad(t.second);
      case 't': return '\t';
      case 'T': return `${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`;
      case 'u': return String(t.weekday === 0 ? 7 : t.weekday);
      case 'U': return pad(Math.floor((t.yday + 7 - t.weekday) / 7));
      case 'V': return pad(isoWeek(t)[1]);
      case 'w': return String(t.weekday);
      case 'W': return pad(Math.floor((t.yday + 7 - ((t.weekday + 6) % 7)) / 7));
      case 'x': return `${pad(t.month + 1)}/${pad(t.day)}/${pad(t.year % 100)}`;
      case 'X': return `${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`;
      case 'y': return pad(t.year % 100);
      case 'Y': return String(t.year);
      case 'z': {
        const o = Math.abs(t.offsetMin);
        return `${t.offsetMin < 0 ? '-' : '+'}${pad(Math.floor(o / 60))}${pad(o % 60)}`;
      }
      case 'Z': return t.zone;
      case 'f': return micro ? pad(t.micro, 6) : m;
      case '%': return '%';
      default: return m;
    }
  });
}
