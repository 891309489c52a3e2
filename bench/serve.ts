// Download throughput of `imgplay serve` against nginx (sendfile on, 2 workers, Debian's defaults) on
// loopback, both serving the same 75 MB base image, in the same run: one client fetching it N times
// over one kept-alive connection, and 100 clients fetching it at once. The client is curl (C, one
// process, --parallel for the concurrent case) so it costs both servers the same. Goal: imgplay at
// least 80% of nginx's MB/s in both. Run: npm run bench:serve. Writes bench/results/serve.json.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? 75);
const SERIAL = Number(process.env.BENCH_SERIAL ?? 20);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KV = '6.1.0-28-amd64';
const BASE = `base.bookworm.${KV}.squashfs.img`;
const self = fileURLToPath(import.meta.url);
const results = fileURLToPath(new URL('results/serve.json', import.meta.url));

// Child mode: the server alone in its own process, as `imgplay serve` runs, so the client's work
// does not share its event loop.
if (process.argv[2] === '--child') {
  const { startBootServer } = await import('../src/serve/server.js');
  const server = await startBootServer({ dir: process.argv[3]!, catalogs: `${process.argv[3]!}.catalogs`, port: Number(process.argv[4]), log: () => undefined });
  process.stdout.write(`${server.url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
} else {
  await main();
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url, { method: 'HEAD' }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within 10 s`);
}

interface Sample {
  seconds: number;
  mbps: number;
}

// Downloads `url` `count` times with curl and returns MB/s (10^6 bytes) over the wall-clock time.
async function download(url: string, count: number, parallel: boolean): Promise<Sample> {
  const args = ['-s', '--fail', '-o', '/dev/null', '-w', '%{size_download}\n'];
  if (parallel) args.push('--parallel', '--parallel-max', String(count), '--parallel-immediate');
  for (let i = 0; i < count; i++) args.push(url);
  // Every URL after the first needs its own -o.
  for (let i = 1; i < count; i++) args.push('-o', '/dev/null');
  const t = performance.now();
  const r = await execa('curl', args);
  const seconds = (performance.now() - t) / 1000;
  const bytes = r.stdout.split('\n').filter(Boolean).reduce((sum, n) => sum + Number(n), 0);
  if (bytes !== count * SIZE_MB * 1024 * 1024) throw new Error(`curl fetched ${bytes} bytes, not ${count} x ${SIZE_MB} MiB, from ${url}`);
  return { seconds, mbps: bytes / 1e6 / seconds };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  // The baseline and the client are host tools the tests do not need: say which package brings them.
  for (const [tool, pkg] of [['nginx', 'nginx'], ['curl', 'curl']] as const) {
    if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode !== 0) {
      console.error(`bench:serve needs ${tool}: apt-get install ${pkg} (with a policy-rc.d exiting 101 if its service should not start)`);
      process.exit(1);
    }
  }
  const work = await mkdtemp(join(tmpdir(), 'imgplay-bench-serve-'));
  const builds = join(work, 'builds');
  await mkdir(builds);
  let nginx: ResultPromise | undefined;
  let imgplay: ResultPromise | undefined;
  try {
    await writeFile(join(builds, BASE), randomBytes(SIZE_MB * 1024 * 1024));
    await writeFile(join(builds, `vmlinuz-${KV}`), randomBytes(1024));
    await writeFile(join(builds, `initrd.img-${KV}`), randomBytes(1024));

    const nginxPort = await freePort();
    await writeFile(
      join(work, 'nginx.conf'),
      `user root;
worker_processes 2;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/error.log;
events { worker_connections 1024; }
http {
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  default_type application/octet-stream;
  access_log ${work}/access.log;
  client_body_temp_path ${work}/body;
  proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi;
  uwsgi_temp_path ${work}/uwsgi;
  scgi_temp_path ${work}/scgi;
  server {
    listen 127.0.0.1:${nginxPort};
    root ${builds};
    location /common/ { alias ${builds}/; }
  }
}
`,
    );
    nginx = execa('nginx', ['-c', join(work, 'nginx.conf'), '-p', work], { stdio: 'ignore' });
    nginx.catch(() => undefined);
    const nginxUrl = `http://127.0.0.1:${nginxPort}/common/${BASE}`;
    await waitFor(nginxUrl);

    const imgplayPort = await freePort();
    imgplay = execa(process.execPath, [...process.execArgv, self, '--child', builds, String(imgplayPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    imgplay.catch(() => undefined);
    const imgplayUrl = `http://127.0.0.1:${imgplayPort}/common/${BASE}`;
    await waitFor(imgplayUrl);

    // One warm-up each: the file is in the page cache for both, as on a server that has served it once.
    await download(nginxUrl, 1, false);
    await download(imgplayUrl, 1, false);

    const table: Record<string, { nginx: Sample[]; imgplay: Sample[] }> = {
      [`1 client x ${SERIAL} downloads`]: { nginx: [], imgplay: [] },
      [`${CONCURRENT} concurrent clients`]: { nginx: [], imgplay: [] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternating servers within each round keeps a noisy neighbour from favouring one of them.
      for (const [name, url] of [['nginx', nginxUrl], ['imgplay', imgplayUrl]] as const) {
        table[`1 client x ${SERIAL} downloads`]![name].push(await download(url, SERIAL, false));
        table[`${CONCURRENT} concurrent clients`]![name].push(await download(url, CONCURRENT, true));
      }
    }

    const summary = Object.entries(table).map(([load, s]) => {
      const n = median(s.nginx.map((x) => x.mbps));
      const i = median(s.imgplay.map((x) => x.mbps));
      return { load, nginxMBps: Math.round(n), imgplayMBps: Math.round(i), ratio: Number((i / n).toFixed(2)), goal: 0.8, met: i / n >= 0.8, samples: s };
    });
    console.log(`${SIZE_MB} MiB file on loopback, median of ${ROUNDS} rounds (MB/s)`);
    console.log(['load', 'nginx', 'imgplay', 'imgplay/nginx'].map((h, k) => h.padEnd(k === 0 ? 28 : 14)).join(''));
    for (const r of summary) {
      console.log([r.load.padEnd(28), String(r.nginxMBps).padEnd(14), String(r.imgplayMBps).padEnd(14), `${r.ratio}${r.met ? '' : '  (goal 0.8 missed)'}`].join(''));
    }
    // The price of buffering in user space: the server's peak memory after 100 downloads at once.
    const status = await readFile(`/proc/${imgplay.pid}/status`, 'utf8').catch(() => '');
    const peakRssMiB = Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024);
    console.log(`imgplay serve peak RSS: ${peakRssMiB} MiB`);
    const nginxVersion = (await execa('nginx', ['-v'], { reject: false })).stderr.trim();
    await mkdir(join(results, '..'), { recursive: true });
    await writeFile(
      results,
      `${JSON.stringify({ date: new Date().toISOString(), sizeMiB: SIZE_MB, serial: SERIAL, concurrent: CONCURRENT, rounds: ROUNDS, node: process.version, nginx: nginxVersion, imgplayPeakRssMiB: peakRssMiB, results: summary }, null, 2)}\n`,
    );
    console.log(`written to ${results}`);
    const errors = await readFile(join(work, 'error.log'), 'utf8').catch(() => '');
    if (/\[(?:error|crit|alert|emerg)\]/.test(errors)) console.log(`nginx error.log:\n${errors}`);
  } finally {
    imgplay?.kill('SIGTERM');
    nginx?.kill('SIGQUIT');
    await Promise.allSettled([imgplay, nginx]);
    await rm(work, { recursive: true, force: true });
  }
}
