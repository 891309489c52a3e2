// The apt-cacher-ng the image benchmark builds through (.ci/apt-cacher-ng starts one on 127.0.0.1:3142;
// IMGPLAY_TEST_APT_PROXY names another), and what it served, read from its transfer log.
import { readFile, stat } from 'node:fs/promises';
import { testAptProxy } from '../test/support/apt-proxy.js';

const LOG = '/var/log/apt-cacher-ng/apt-cacher.log';

/** .deb transfers in apt-cacher-ng's log: sent to a client, and of those fetched from upstream first. */
export interface DebTraffic {
  served: number;
  fetched: number;
  fromCache: number;
}

/** The apt-cacher-ng to use as host:port, or why there is none (it must answer its report page). */
export async function findAptCacherNg(): Promise<{ hostPort: string } | { missing: string }> {
  const hostPort = testAptProxy() ?? '127.0.0.1:3142';
  try {
    const res = await fetch(`http://${hostPort}/acng-report.html`, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    if (res.ok) return { hostPort };
    return { missing: `${hostPort} answers HTTP ${res.status}, not as apt-cacher-ng` };
  } catch (err) {
    return { missing: `no apt-cacher-ng answers on ${hostPort} (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** Where apt-cacher-ng's log ends now, to count what a run adds after it (undefined: no readable log here). */
export async function logMark(): Promise<number | undefined> {
  return (await stat(LOG).catch(() => undefined))?.size;
}

/** The .deb transfers logged since `mark`: each line is time|I or O|bytes|client|path; I is a download from upstream. */
export async function debTrafficSince(mark: number | undefined): Promise<DebTraffic | undefined> {
  if (mark === undefined) return undefined;
  // apt-cacher-ng writes its log lines as transfers end; give the last one a moment.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const text = await readFile(LOG).then((b) => b.subarray(mark).toString('utf8'), () => undefined);
  if (text === undefined) return undefined;
  const debs = text.split('\n').map((l) => l.split('|')).filter((f) => f.length >= 5 && f[4]!.endsWith('.deb'));
  const served = debs.filter((f) => f[1] === 'O').length;
  const fetched = debs.filter((f) => f[1] === 'I').length;
  return { served, fetched, fromCache: Math.max(0, served - fetched) };
}
