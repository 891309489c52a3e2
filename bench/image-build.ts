// Issue 4's build benchmark, all in one run on one machine, each measurement twice:
// 1. the floor of a base build: mmdebstrap of the base's packages into a tmpfs, then mksquashfs;
// 2. imgplay's cold base build (all.yml, no overlays), and its ratio to the floor (goal: at most 1.3);
// 3. the discovery overlay alone over that base, its .debs served by apt-cacher-ng (goal: under 30 s;
//    left out, saying so, when no apt-cacher-ng answers: .ci/apt-cacher-ng starts one);
// 4. the artifacts' sizes beside on-imagebuilder's.
// Prints a table and writes bench/results/image-build.json. Run: npx tsx bench/image-build.ts
import { mkdir, mkdtemp, readdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { aptProxyFromEnv, hostAptMirror } from '../src/image/mirror.js';
import { withMountGuard } from '../src/host/mount-guard.js';
import { removeTree } from '../src/host/mount-table.js';
import { mountsSnapshot } from '../test/support/minbase.js';
import { type DebTraffic, debTrafficSince, findAptCacherNg, logMark } from './apt-cacher-ng.js';

const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const repo = fileURLToPath(new URL('..', import.meta.url));
const imgplay = join(repo, 'bin', 'imgplay.js');
// on-imagebuilder's artifacts, for scale (reference/on-imagebuilder.md).
const REFERENCE_MB = { base: 50, overlayAtMost: 10 };

// The same dpkg and apt options imgplay_bootstrap passes by default (no_docs, no_recommends), so the
// floor bootstraps the same tree imgplay starts from.
const NO_DOCS = ['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/lintian/*', '/usr/share/linda/*'];

interface GroupVars {
  debootstrap_release: string;
  debootstrap_variant: string;
  debootstrap_arch: string;
  basefs_packages: string[];
  kernel_package: string;
  basefs_kernel_modules: string[] | 'all' | 'none';
  basefs_tmpfs_size: string;
  squashfs_compression: string;
  squashfs_level?: number | null;
}

interface FloorRun {
  bootstrapSeconds: number;
  squashSeconds: number;
  seconds: number;
  bytes: number;
}

interface ImgplayRun {
  seconds: number;
  artifacts: Record<string, number>;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
const secs = (s: number): string => s.toFixed(1);

// A failed tool is reported as the reason, the command, then its last relevant lines.
function failure(what: string, argv: readonly string[], output: string): Error {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const relevant = lines.filter((l) => /fatal|error|failed|^E:/i.test(l)).slice(-10);
  return new Error(`${what}\n  ${argv.join(' ')}\n${(relevant.length > 0 ? relevant : lines.slice(-10)).join('\n')}`);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t) / 1000, value };
}

// The floor: the two tools a base build cannot avoid, with the playbooks' packages and compression.
async function floorRun(dir: string, v: GroupVars, mirror: string, proxy: string | undefined): Promise<FloorRun> {
  const mnt = join(dir, 'tmpfs');
  await mkdir(mnt, { recursive: true });
  const image = join(dir, 'floor.squashfs.img');
  const result = await withMountGuard('bench floor', async (guard) => {
    await guard.mount({ source: 'imgplay-bench', target: mnt, fstype: 'tmpfs', options: [`size=${v.basefs_tmpfs_size}`, 'mode=0755'] });
    const root = join(mnt, 'root');
    const debstrap = [
      '--mode=unshare',
      `--variant=${v.debootstrap_variant}`,
      `--architectures=${v.debootstrap_arch}`,
      `--include=${[...v.basefs_packages, v.kernel_package].join(',')}`,
      ...NO_DOCS.map((p) => `--dpkgopt=path-exclude=${p}`),
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      '--aptopt=APT::Install-Recommends "false"',
      '--aptopt=APT::Install-Suggests "false"',
      ...trimHooks(v),
      v.debootstrap_release,
      root,
      mirror,
    ];
    // INITRD=No as the basefs role sets it: without it the kernel's postinst builds an initramfs the base never ships.
    const env = { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', INITRD: 'No', ...(proxy ? { http_proxy: proxy } : {}) };
    const boot = await timed(() => execa('mmdebstrap', debstrap, { reject: false, all: true, env, stdin: 'ignore' }));
    if (boot.value.exitCode !== 0) throw failure(`mmdebstrap exited ${boot.value.exitCode}`, ['mmdebstrap', ...debstrap], boot.value.all ?? '');
    const level = v.squashfs_level === undefined || v.squashfs_level === null ? [] : ['-Xcompression-level', String(v.squashfs_level)];
    const squash = [root, image, '-noappend', '-no-progress', '-quiet', '-comp', v.squashfs_compression, ...level, '-e', 'proc', 'sys', 'dev', 'run', 'tmp'];
    const sq = await timed(() => execa('mksquashfs', squash, { reject: false, all: true, stdin: 'ignore' }));
    if (sq.value.exitCode !== 0) throw failure(`mksquashfs exited ${sq.value.exitCode}`, ['mksquashfs', ...squash], sq.value.all ?? '');
    return { bootstrapSeconds: boot.seconds, squashSeconds: sq.seconds };
  });
  const bytes = (await stat(image)).size;
  await removeTree(dir);
  return { ...result, seconds: result.bootstrapSeconds + result.squashSeconds, bytes };
}

// The content the basefs role removes (modules outside the chosen subsystems, kernel images), so the
// floor squashes the same tree imgplay does rather than 400 MB of modules the base never carries.
function trimHooks(v: GroupVars): string[] {
  const hooks = ['chroot "$1" sh -c \'rm -f /boot/vmlinuz-* /boot/initrd.img-* /boot/System.map-* /vmlinuz /vmlinuz.old /initrd.img /initrd.img.old\''];
  if (Array.isArray(v.basefs_kernel_modules)) {
    const keep = `^\\./(${v.basefs_kernel_modules.join('|')})`;
    hooks.push(
      `chroot "$1" sh -ec 'for kver in $(ls /lib/modules); do cd /lib/modules/$kver/kernel; find . -name "*.ko*" | grep -Ev "${keep}" | xargs -r rm -f; find . -type d -empty -delete; depmod -a $kver; done'`,
    );
  }
  return hooks.map((h) => `--customize-hook=${h}`);
}

// hosts.yaml's structure, with the overlays group holding only the hosts asked for.
function inventory(hostsText: string, overlays: readonly string[]): string {
  const hostsYaml = parse(hostsText) as {
    all: { children: { overlays: { vars?: unknown; hosts?: Record<string, unknown> } } & Record<string, unknown> };
  };
  const group = hostsYaml.all.children.overlays;
  const hosts = group.hosts ?? {};
  group.hosts = Object.fromEntries(overlays.map((name) => {
    if (!(name in hosts)) throw new Error(`hosts.yaml has no overlay host '${name}'`);
    return [name, hosts[name]];
  }));
  return stringify(hostsYaml);
}

async function imgplayRun(dir: string, inv: string, extra: readonly string[]): Promise<ImgplayRun> {
  const buildDir = join(dir, 'build');
  const artifactDir = join(dir, 'artifacts');
  await mkdir(buildDir, { recursive: true });
  await mkdir(artifactDir, { recursive: true });
  const argv = [imgplay, 'all.yml', '-i', inv, '-e', `build_dir=${buildDir}`, '-e', `artifact_dir=${artifactDir}`, ...extra];
  const run = await timed(() => execa('node', argv, { cwd: repo, reject: false, all: true, stdin: 'ignore' }));
  if (run.value.exitCode !== 0) throw failure(`imgplay exited ${run.value.exitCode}`, ['node', ...argv], run.value.all ?? '');
  const artifacts: Record<string, number> = {};
  for (const name of await readdir(artifactDir)) {
    if (/\.(squashfs\.img|cpio\.gz)$/.test(name)) artifacts[name] = (await stat(join(artifactDir, name))).size;
  }
  return { seconds: run.seconds, artifacts };
}

function artifact(run: ImgplayRun, pattern: RegExp): [string, number] {
  const found = Object.entries(run.artifacts).find(([name]) => pattern.test(name));
  if (found === undefined) throw new Error(`no artifact matching ${pattern} among ${Object.keys(run.artifacts).join(', ') || 'none'}`);
  return found;
}

async function main(): Promise<void> {
  const mountsBefore = await mountsSnapshot();
  const v = parse(await readFile(join(repo, 'playbooks', 'group_vars', 'all.yml'), 'utf8')) as GroupVars;
  const hostsText = await readFile(join(repo, 'hosts.yaml'), 'utf8');
  const mirror = (await hostAptMirror())?.uri;
  if (mirror === undefined) throw new Error('the build host has no Debian mirror in its apt sources');
  const proxy = aptProxyFromEnv();
  // apt_proxy is host:port; the playbooks add the scheme.
  const proxyVar = proxy ? ['-e', `apt_proxy=${proxy.replace(/^https?:\/\//, '').replace(/\/+$/, '')}`] : [];
  // realpath: the mount guard refuses targets reached through a symlink.
  const scratch = await realpath(await mkdtemp(join(tmpdir(), 'imgplay-bench-build-')));
  const load = [loadavg()[0]];
  const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  // Said at the start, not after the base builds: the overlay rows need it.
  const acng = await findAptCacherNg();
  if ('missing' in acng) log(`apt-cacher-ng: ${acng.missing}; the discovery overlay rows will be left out`);
  try {
    const baseInv = join(scratch, 'base.hosts.yaml');
    const overlayInv = join(scratch, 'discovery.hosts.yaml');
    await writeFile(baseInv, inventory(hostsText, []));
    await writeFile(overlayInv, inventory(hostsText, ['discovery']));

    const floors: FloorRun[] = [];
    const bases: ImgplayRun[] = [];
    // Interleaved, so a burst of load from the machine's other work hits both sides alike.
    for (let i = 0; i < REPEAT; i++) {
      floors.push(await floorRun(join(scratch, `floor-${i}`), v, mirror, proxy));
      log(`floor ${i + 1}: ${secs(floors[i]!.seconds)} s (mmdebstrap ${secs(floors[i]!.bootstrapSeconds)} s, mksquashfs ${secs(floors[i]!.squashSeconds)} s)`);
      bases.push(await imgplayRun(join(scratch, `base-${i}`), baseInv, proxyVar));
      log(`imgplay base ${i + 1}: ${secs(bases[i]!.seconds)} s`);
    }
    const baseImagePath = join(scratch, `base-${REPEAT - 1}`, 'artifacts', artifact(bases[REPEAT - 1]!, /\.squashfs\.img$/)[0]);

    // The overlay alone: start-at-task skips the prerequisites and the base plays; the base comes from -e.
    const overlays: ImgplayRun[] = [];
    const traffic: Array<DebTraffic | undefined> = [];
    if ('missing' in acng) {
      log(`discovery overlay rows left out: ${acng.missing}. Start one as root with .ci/apt-cacher-ng, or name one with IMGPLAY_TEST_APT_PROXY=host:port`);
    } else {
      const overlayExtra = ['--start-at-task', 'mount an overlay over the base', '-e', `imgplay_base_image=${baseImagePath}`, '-e', `apt_proxy=${acng.hostPort}`];
      // Run 0 fetches what apt-cacher-ng does not hold yet; the rest find every .deb there.
      for (let i = 0; i <= REPEAT; i++) {
        const mark = await logMark();
        overlays.push(await imgplayRun(join(scratch, `overlay-${i}`), overlayInv, overlayExtra));
        traffic.push(await debTrafficSince(mark));
        const t = traffic[i];
        const debs = t === undefined ? 'its log is not readable here' : `.debs from its cache ${t.fromCache}, fetched ${t.fetched}`;
        log(`imgplay discovery overlay ${i === 0 ? '(first, through apt-cacher-ng)' : `${i} (warm)`}: ${secs(overlays[i]!.seconds)} s; ${debs}`);
      }
    }
    load.push(loadavg()[0]);

    const floorMedian = median(floors.map((f) => f.seconds));
    const baseMedian = median(bases.map((b) => b.seconds));
    const warm = overlays.slice(1).map((o) => o.seconds);
    const haveOverlays = overlays.length > 0;
    const ratio = baseMedian / floorMedian;
    const [baseName, baseBytes] = artifact(bases[REPEAT - 1]!, /\.squashfs\.img$/);
    const [overlayName, overlayBytes] = haveOverlays ? artifact(overlays[REPEAT]!, /\.overlay\.cpio\.gz$/) : ['not built', 0];
    const floorBytes = floors[REPEAT - 1]!.bytes;

    console.log(`\nimage builds on ${cpus().length} cores, each run ${REPEAT} times (median; every run listed); load average ${load.map((l) => l!.toFixed(2)).join(' -> ')}\n`);
    const rows: Array<[string, string, string, string]> = [
      ['measurement', 'median s', 'runs s', 'goal'],
      ['floor: mmdebstrap + mksquashfs', secs(floorMedian), floors.map((f) => secs(f.seconds)).join(', '), ''],
      ['  of which mmdebstrap', secs(median(floors.map((f) => f.bootstrapSeconds))), floors.map((f) => secs(f.bootstrapSeconds)).join(', '), ''],
      ['  of which mksquashfs', secs(median(floors.map((f) => f.squashSeconds))), floors.map((f) => secs(f.squashSeconds)).join(', '), ''],
      ['imgplay cold base build', secs(baseMedian), bases.map((b) => secs(b.seconds)).join(', '), ''],
      ['imgplay / floor', ratio.toFixed(2), bases.map((b, i) => (b.seconds / floors[i]!.seconds).toFixed(2)).join(', '), `<= 1.3: ${ratio <= 1.3 ? 'met' : 'MISSED'}`],
      ...(haveOverlays
        ? ([
            ['discovery overlay, .debs cached', secs(median(warm)), warm.map(secs).join(', '), `< 30 s: ${median(warm) < 30 ? 'met' : 'MISSED'}`],
            ['discovery overlay, first run', secs(overlays[0]!.seconds), '', ''],
          ] as Array<[string, string, string, string]>)
        : ([['discovery overlay, .debs cached', '-', '', 'left out: no apt-cacher-ng']] as Array<[string, string, string, string]>)),
    ];
    for (const r of rows) console.log(`${r[0].padEnd(38)}${r[1].padStart(9)}  ${r[2].padEnd(14)}  ${r[3]}`);
    console.log(`\nartifact                               size MB   on-imagebuilder`);
    console.log(`${`base (${baseName})`.padEnd(38)}${mb(baseBytes).padStart(8)}   about ${REFERENCE_MB.base} MB`);
    console.log(`${'floor image (modules trimmed; no cleanup)'.padEnd(38)}${mb(floorBytes).padStart(8)}`);
    if (haveOverlays) console.log(`${`overlay (${overlayName})`.padEnd(38)}${mb(overlayBytes).padStart(8)}   under ${REFERENCE_MB.overlayAtMost} MB`);

    const results = {
      date: new Date().toISOString(),
      cores: cpus().length,
      loadAverage: load,
      repeat: REPEAT,
      mirror,
      proxy: proxy ?? null,
      config: { release: v.debootstrap_release, packages: [...v.basefs_packages, v.kernel_package], compression: v.squashfs_compression, level: v.squashfs_level ?? null },
      floor: { runs: floors, medianSeconds: floorMedian },
      base: { runs: bases, medianSeconds: baseMedian, ratioToFloor: ratio, goalRatioAtMost1_3: ratio <= 1.3 },
      overlay: haveOverlays
        ? {
            method: "all.yml with --start-at-task 'mount an overlay over the base' and -e imgplay_base_image; apt through apt-cacher-ng, filled by the first run (debs: counted in /var/log/apt-cacher-ng/apt-cacher.log)",
            aptCacherNg: 'hostPort' in acng ? acng.hostPort : null,
            firstRun: { ...overlays[0]!, debs: traffic[0] ?? null },
            warmRuns: overlays.slice(1).map((o, i) => ({ ...o, debs: traffic[i + 1] ?? null })),
            warmMedianSeconds: median(warm),
            goalUnder30s: median(warm) < 30,
          }
        : { leftOut: 'missing' in acng ? acng.missing : 'no apt-cacher-ng' },
      sizes: { baseBytes, floorBytes, overlayBytes: haveOverlays ? overlayBytes : null, reference: { baseMB: REFERENCE_MB.base, overlayAtMostMB: REFERENCE_MB.overlayAtMost } },
    };
    await mkdir(join(repo, 'bench', 'results'), { recursive: true });
    await writeFile(join(repo, 'bench', 'results', 'image-build.json'), JSON.stringify(results, null, 2) + '\n');
  } finally {
    // removeTree refuses a tree with anything still mounted inside, rather than reach through it.
    await removeTree(scratch);
  }
  const mountsAfter = await mountsSnapshot();
  if (mountsAfter !== mountsBefore) {
    throw new Error(`the benchmark left /proc/mounts changed:\n--- before\n${mountsBefore}--- after\n${mountsAfter}`);
  }
  console.log('\n/proc/mounts unchanged; scratch removed');
}

try {
  await main();
} catch (err) {
  console.error(`image-build bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
