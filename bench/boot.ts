// Issue 5's boot benchmark, over a builds folder made by `imgplay all.yml` (default ./builds):
// 1. qemu start to the discovery catalog's POST under TCG, through iPXE and `imgplay serve`, twice, with
//    the time of each phase read from the serial console (iPXE, kernel, root ready, hooks, catalog);
// 2. the initrd's size against Debian's stock initrd (initramfs-tools' default MODULES=most) for the same
//    kernel package, made in the same run by installing the kernel with initramfs-tools into a minbase tree.
// Prints tables and writes bench/results/boot.json. Run: npx tsx bench/boot.ts [BUILDS]
import { mkdir, mkdtemp, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { bootVm } from '../src/boot/vm.js';
import { aptProxyFromEnv, hostAptMirror } from '../src/image/mirror.js';
import { readManifest } from '../src/image/manifest.js';
import { withMountGuard } from '../src/host/mount-guard.js';
import { removeTree } from '../src/host/mount-table.js';
import { startBootServer } from '../src/serve/server.js';

const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const repo = fileURLToPath(new URL('..', import.meta.url));
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

// Serial lines that mark the phases of a boot, in the order they happen.
const PHASES: ReadonlyArray<[string, RegExp]> = [
  ['iPXE running', /iPXE initialising devices/],
  ['boot script fetched', /imgplay: chaining to/],
  ['kernel started', /Linux version \d/],
  ['root ready (base + overlays downloaded, verified, mounted)', /imgplay-boot: root ready/],
  ['boot hooks started', /imgplay-boot-hooks: running/],
];

interface BootRun {
  seconds: number;
  phases: Record<string, number>;
}

async function bootOnce(builds: string, n: number): Promise<BootRun> {
  const catalogs = await mkdtemp(join(tmpdir(), 'imgplay-bench-catalogs-'));
  const server = await startBootServer({ dir: builds, listen: '127.0.0.1', port: 0, catalogs, log: () => undefined });
  const started = performance.now();
  const seen: Record<string, number> = {};
  try {
    const mac = `52:54:00:be:0${n}:01`;
    const result = await bootVm({
      server: server.url,
      mac,
      goal: { kind: 'catalog' },
      timeoutSeconds: 900,
      onLine: (line) => {
        for (const [name, re] of PHASES) if (seen[name] === undefined && re.test(line)) seen[name] = (performance.now() - started) / 1000;
      },
    });
    if (result.outcome !== 'reached') throw new Error(`boot ${n} ${result.outcome}: ${result.detail}\n${result.lines.slice(-30).join('\n')}`);
    return { seconds: result.seconds, phases: { ...seen, 'catalog received': result.seconds } };
  } finally {
    await server.close();
    await removeTree(catalogs);
  }
}

// Debian's stock initrd for the kernel package: what installing it with initramfs-tools makes.
async function stockInitrd(kernelPackage: string, release: string): Promise<{ bytes: number; kver: string }> {
  const mirror = (await hostAptMirror())?.uri;
  if (mirror === undefined) throw new Error('no Debian mirror in the apt sources');
  const proxy = aptProxyFromEnv();
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-bench-stock-')));
  try {
    return await withMountGuard('bench stock initrd', async (guard) => {
      const root = join(dir, 'root');
      await mkdir(root);
      await guard.mount({ source: 'imgplay-bench', target: root, fstype: 'tmpfs', options: ['size=3G', 'mode=0755'] });
      const argv = ['--variant=minbase', '--mode=unshare', `--include=${kernelPackage},initramfs-tools,zstd`, ...(proxy ? [`--aptopt=Acquire::http::Proxy "${proxy}"`] : []), release, root, mirror];
      await execa('mmdebstrap', argv, { all: true });
      const boot = await readdir(join(root, 'boot'));
      const initrd = boot.find((f) => f.startsWith('initrd.img-'));
      if (initrd === undefined) throw new Error(`installing ${kernelPackage} with initramfs-tools made no initrd (boot/ holds ${boot.join(', ')})`);
      return { bytes: (await stat(join(root, 'boot', initrd))).size, kver: initrd.slice('initrd.img-'.length) };
    });
  } finally {
    await removeTree(dir);
  }
}

const builds = resolve(process.argv[2] ?? join(repo, 'builds'));
const manifest = await readManifest(builds);
const initrd = manifest.artifacts.find((a) => a.kind === 'initrd');
const base = manifest.artifacts.find((a) => a.kind === 'base');
if (!initrd || !base) throw new Error(`${builds} has no initrd or base in manifest.json: run imgplay all.yml first`);

const boots: BootRun[] = [];
for (let i = 1; i <= REPEAT; i++) boots.push(await bootOnce(builds, i));
const stock = await stockInitrd('linux-image-amd64', base.release ?? 'bookworm');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
console.log(`\nqemu (TCG) start to catalog POST, ${REPEAT} boots, base ${base.name} ${mb(base.size)} MB:`);
const names = [...new Set(boots.flatMap((b) => Object.keys(b.phases)))];
for (const name of names) console.log(`  ${name.padEnd(60)} ${boots.map((b) => (b.phases[name] ?? NaN).toFixed(1).padStart(6)).join(' ')} s`);
console.log(`\ninitrd ${initrd.name}: ${mb(initrd.size)} MB; Debian's stock MODULES=most initrd for ${stock.kver}: ${mb(stock.bytes)} MB (${(initrd.size / stock.bytes).toFixed(2)}x)`);
if (stock.kver !== initrd.kernelVersion) console.log(`  note: the stock initrd's kernel ${stock.kver} is not the build's ${initrd.kernelVersion} (the mirror moved on)`);

await mkdir(join(repo, 'bench', 'results'), { recursive: true });
await writeFile(
  join(repo, 'bench', 'results', 'boot.json'),
  `${JSON.stringify({ date: new Date().toISOString(), builds, boots, medianSeconds: median(boots.map((b) => b.seconds)), initrd: { name: initrd.name, bytes: initrd.size }, stockInitrd: stock }, null, 2)}\n`,
);
