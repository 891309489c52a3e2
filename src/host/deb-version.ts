// Debian package versions ordered as dpkg orders them (deb-version(7)): epoch, then the upstream version, then the
// revision, each of the last two compared in alternating runs of non-digits (letters before other characters, '~'
// before everything, even the end) and digits (as numbers).

/** A version split into epoch, upstream version and revision ('' when it has none). */
interface Parts {
  epoch: number;
  upstream: string;
  revision: string;
}

function split(version: string): Parts {
  const colon = version.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(version.slice(0, colon)) ? Number(version.slice(0, colon)) : 0;
  const rest = colon > 0 ? version.slice(colon + 1) : version;
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

// The weight of one character in a non-digit run: '~' below the end of the run, letters below everything else.
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareRuns(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // A run of non-digits, character by character.
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ca = i < a.length && !/\d/.test(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j]!) ? b[j] : undefined;
      const d = order(ca) - order(cb);
      if (d !== 0) return Math.sign(d);
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    // Then a run of digits, as a number (leading zeros do not count).
    let na = '';
    let nb = '';
    while (i < a.length && /\d/.test(a[i]!)) na += a[i++];
    while (j < b.length && /\d/.test(b[j]!)) nb += b[j++];
    na = na.replace(/^0+/, '');
    nb = nb.replace(/^0+/, '');
    if (na.length !== nb.length) return Math.sign(na.length - nb.length);
    if (na !== nb) return na < nb ? -1 : 1;
  }
  return 0;
}

/** Compares two Debian package versions as `dpkg --compare-versions` does: negative, zero or positive. */
export function compareDebVersions(a: string, b: string): number {
  const x = split(a);
  const y = split(b);
  if (x.epoch !== y.epoch) return Math.sign(x.epoch - y.epoch);
  return compareRuns(x.upstream, y.upstream) || compareRuns(x.revision, y.revision);
}
