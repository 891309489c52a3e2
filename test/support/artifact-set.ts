// One set of real artifacts (base, kernel, initrd, the discovery and oem-example overlays) built by the
// real all.yml and shared by the boot tests: building takes minutes, booting it takes one. The set lives
// in a fixed folder and is reused while its complete-marker holds the digest of what the artifacts are
// made of (every file of playbooks/, roles/, hosts.yaml and src/, and the test inventory); otherwise it is
// built again. A digest, not mtimes: clones of different commits share the folder. A lock file keeps
// test files running in parallel from building it twice at once. The apt proxy (IMGPLAY_TEST_APT_PROXY)
// is left out of the digest: it changes where the .debs come from, not the artifacts.
import { type Hash, createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { hostAptMirror } from '../../src/image/mirror.js';
import { removeTree } from '../../src/host/mount-table.js';
import { allYmlInventory } from './all-yml-inventory.js';
import { aptProxyVars, testAptProxy } from './apt-proxy.js';
import { lockFile } from './lock-file.js';
import { file, lacking, root } from './needs.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const home = '/var/tmp/imgplay-test-artifacts/all-yml';
const marker = join(home, 'complete');
const lock = join(home, 'build.lock');
// all.yml takes 2.5 min here; a cold mirror and a slow link, many times that.
const BUILD_TIMEOUT_MS = 60 * 60_000;
// src/ too: imgplay's own code makes the artifacts' bytes (the reproducibility test compares a new build with this set).
const sources = [join(repo, 'playbooks'), join(repo, 'roles'), join(repo, 'hosts.yaml'), join(repo, 'src')];

/** The shared artifacts: the builds folder and the names of what is in it. */
export interface ArtifactSet {
  /** The folder holding the set: builds/, build/ (all.yml's build_dir), hosts.yaml and build.log. */
  home: string;
  builds: string;
  /** all.yml's output when it built the set. */
  log: string;
  base: string;
  kernel: string;
  initrd: string;
  kernelVersion: string;
  overlays: { discovery: string; 'oem-example': string };
}

/** What this host lacks to build the set (root, mmdebstrap, an apt mirror to bootstrap from), or undefined. */
export const artifactSetUnavailable = lacking(root, file('/usr/bin/mmdebstrap', 'mmdebstrap'), [(await hostAptMirror()) !== undefined, 'a Debian mirror in the host\'s apt sources']);

export { allYmlInventory } from './all-yml-inventory.js';

const inventory = allYmlInventory({ discovery: 'overlay/provision_discovery_overlay', 'oem-example': 'oem/provision_oem_example' });

/**
 * Runs the repo's all.yml (or `opts.playbook`, a copy's) with `dir`/hosts.yaml, building in `dir`/build and
 * writing to `dir`/builds (through the test apt proxy, if any), with the stage cache in `dir`/cache unless
 * `extra` says otherwise (--no-cache, --cache-dir): tests never use the machine's own /var/cache/imgplay.
 */
export async function runAllYml(dir: string, extra: string[] = [], opts: { playbook?: string } = {}) {
  const cache = extra.includes('--no-cache') || extra.includes('--cache-dir') ? [] : ['--cache-dir', join(dir, 'cache')];
  return execa('node', [join(repo, 'bin', 'imgplay.js'), opts.playbook ?? 'all.yml', '-i', join(dir, 'hosts.yaml'), '-e', `build_dir=${dir}/build`, '-e', `artifact_dir=${dir}/builds`, '-f', '2', ...aptProxyVars(), ...cache, ...extra], {
    cwd: repo,
    reject: false,
    all: true,
    env: { NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' },
  });
}

// Feeds each file's path (relative to the repo), mode and content into the hash, in name order.
async function hashTree(hash: Hash, path: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (s === undefined) return;
  hash.update(`${relative(repo, path)}\0${s.mode.toString(8)}\0`);
  if (s.isDirectory()) {
    for (const entry of (await readdir(path)).sort()) await hashTree(hash, join(path, entry));
  } else {
    hash.update(await readFile(path));
  }
}

async function sourcesDigest(): Promise<string> {
  const hash = createHash('sha256').update(inventory);
  for (const source of sources) await hashTree(hash, source);
  return hash.digest('hex');
}

async function isFresh(): Promise<boolean> {
  const done = await readFile(marker, 'utf8').catch(() => undefined);
  return done !== undefined && done.trim() === (await sourcesDigest());
}

async function describeSet(): Promise<ArtifactSet> {
  const builds = join(home, 'builds');
  const files = await readdir(builds);
  const one = (re: RegExp, what: string): string => {
    const found = files.filter((f) => re.test(f));
    if (found.length !== 1) throw new Error(`${builds} should hold exactly one ${what}, has: ${found.join(', ') || 'none'}`);
    return found[0] as string;
  };
  const kernel = one(/^vmlinuz-/, 'kernel');
  return {
    home,
    builds,
    log: await readFile(join(home, 'build.log'), 'utf8'),
    base: one(/^base\..*\.squashfs\.img$/, 'base'),
    kernel,
    initrd: one(/^initrd\.img-/, 'initrd'),
    kernelVersion: kernel.slice('vmlinuz-'.length),
    overlays: { discovery: one(/^discovery\.overlay\.cpio\.gz$/, 'discovery overlay'), 'oem-example': one(/^oem-example\.overlay\.cpio\.gz$/, 'oem-example overlay') },
  };
}

async function build(): Promise<void> {
  // Taken before the build: an edit made while it runs makes the next test build again.
  const digest = await sourcesDigest();
  await rm(marker, { force: true });
  await removeTree(join(home, 'build'));
  await rm(join(home, 'builds'), { recursive: true, force: true });
  await writeFile(join(home, 'hosts.yaml'), inventory);
  const run = await runAllYml(home);
  await writeFile(join(home, 'build.log'), run.all ?? '');
  const proxy = testAptProxy();
  const via = proxy === undefined ? '' : ` (downloading through the apt proxy ${proxy}, IMGPLAY_TEST_APT_PROXY)`;
  if (run.exitCode !== 0) throw new Error(`building the shared artifacts failed (exit ${run.exitCode})${via}; full log in ${home}/build.log:\n${(run.all ?? '').split('\n').slice(-25).join('\n')}`);
  await writeFile(marker, `${digest}\n`);
}

/** The shared artifact set, built by all.yml when missing or made from other playbooks, roles or inventory. */
export async function sharedArtifacts(): Promise<ArtifactSet> {
  await mkdir(home, { recursive: true });
  if (await isFresh()) return describeSet();
  // Another test file may be building it: wait for it, or take over when its process is gone.
  const release = await lockFile(lock, 'the shared artifact set', BUILD_TIMEOUT_MS, isFresh, 5_000);
  try {
    if (!(await isFresh())) await build();
    return await describeSet();
  } finally {
    await release();
  }
}
