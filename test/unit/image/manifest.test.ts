import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { inputsDigest } from '../../../src/image/inputs-digest.js';
import {
  type ArtifactEntry,
  gitStateOf,
  imgplayVersion,
  readManifest,
  recordArtifact,
  validateManifest,
} from '../../../src/image/manifest.js';

const dirs: string[] = [];
const MANIFEST_MODULE = fileURLToPath(new URL('../../../src/image/manifest.ts', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(prefix = 'imgplay-builds-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

// Writes an artifact file and returns its entry, size and sha256 taken by the real sha256sum.
async function artifact(dir: string, name: string, extra: Partial<ArtifactEntry> = {}): Promise<ArtifactEntry> {
  await writeFile(join(dir, name), `contents of ${name}\n`.repeat(1000));
  const sum = (await execa('sha256sum', ['--', join(dir, name)])).stdout.split(' ')[0] ?? '';
  return {
    name,
    kind: 'overlay',
    size: (await readFile(join(dir, name))).length,
    sha256: sum,
    inputsDigest: await inputsDigest({ vars: { name } }),
    base: { name: 'base.bookworm.6.1.0-28-amd64.squashfs.img', sha256: 'a'.repeat(64) },
    builtAt: new Date().toISOString(),
    imgplayVersion: '0.1.0',
    ...extra,
  };
}

async function manifestJson(dir: string): Promise<{ artifacts: ArtifactEntry[] }> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { artifacts: ArtifactEntry[] };
}

describe('the recorded sha256', () => {
  it('is the hex digest sha256sum gives', async () => {
    const dir = await tempDir();
    const entry = await artifact(dir, 'discovery.overlay.cpio.gz');
    const { stdout } = await execa('sha256sum', [join(dir, entry.name)]);
    expect(stdout.split(' ')[0]).toBe(entry.sha256);
  });
});

describe('imgplayVersion', () => {
  it("is package.json's version", async () => {
    const pkg = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version: string };
    expect(await imgplayVersion()).toBe(pkg.version);
  });
});

describe('recordArtifact', () => {
  it('writes a valid manifest.json and a SHA256SUMS that sha256sum -c accepts', async () => {
    const dir = await tempDir();
    const base = await artifact(dir, 'base.bookworm.6.1.0-28-amd64.squashfs.img', {
      kind: 'base',
      base: undefined,
      release: 'bookworm',
      arch: 'amd64',
      kernelVersion: '6.1.0-28-amd64',
      packages: [{ name: 'apt', version: '2.6.1', arch: 'amd64' }],
      buildSeconds: 183.4,
    });
    const overlay = await artifact(dir, 'discovery.overlay.cpio.gz', {
      base: { name: base.name, sha256: base.sha256 },
      packageDelta: { added: [{ name: 'lldpd', version: '1.0.16-1', arch: 'amd64' }], removed: [], changed: [] },
    });
    await recordArtifact(dir, overlay);
    await recordArtifact(dir, base);
    const json = await manifestJson(dir);
    expect(validateManifest(json)).toEqual([]);
    expect(json.artifacts.map((a) => a.name)).toEqual([base.name, overlay.name]);
    expect(json.artifacts[0]).toEqual(base);
    expect(await readFile(join(dir, 'SHA256SUMS'), 'utf8')).toBe(`${base.sha256}  ${base.name}\n${overlay.sha256}  ${overlay.name}\n`);
    const check = await execa('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: dir, reject: false });
    expect(check.stdout).toBe(`${base.name}: OK\n${overlay.name}: OK`);
    expect(check.exitCode).toBe(0);
  });

  it('replaces the entry of the same name', async () => {
    const dir = await tempDir();
    await recordArtifact(dir, await artifact(dir, 'discovery.overlay.cpio.gz'));
    await writeFile(join(dir, 'discovery.overlay.cpio.gz'), 'rebuilt\n');
    const rebuilt = await artifact(dir, 'discovery.overlay.cpio.gz');
    await recordArtifact(dir, rebuilt);
    expect((await manifestJson(dir)).artifacts).toEqual([rebuilt]);
    expect((await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, reject: false })).exitCode).toBe(0);
  });

  it('keeps every entry when overlays finish at the same time in one process', async () => {
    const dir = await tempDir();
    const entries = await Promise.all(Array.from({ length: 12 }, (_, i) => artifact(dir, `o${String(i).padStart(2, '0')}.overlay.cpio.gz`)));
    await Promise.all(entries.map((e) => recordArtifact(dir, e)));
    expect((await manifestJson(dir)).artifacts.map((a) => a.name)).toEqual(entries.map((e) => e.name));
    expect((await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, reject: false })).exitCode).toBe(0);
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('keeps every entry when two processes record at the same time', async () => {
    const dir = await tempDir();
    const work = await tempDir('imgplay-manifest-work-');
    const script = join(work, 'record.mts');
    await writeFile(
      script,
      `import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordArtifact } from ${JSON.stringify(pathToFileURL(MANIFEST_MODULE).href)};
const [dir, entriesFile, go] = process.argv.slice(2);
const entries = JSON.parse(readFileSync(entriesFile, 'utf8'));
while (!existsSync(go)) await sleep(5);
for (const e of entries) await recordArtifact(dir, e);
`,
    );
    const go = join(work, 'go');
    const children = [];
    for (const who of ['a', 'b']) {
      const entries = await Promise.all(Array.from({ length: 15 }, (_, i) => artifact(dir, `${who}${String(i).padStart(2, '0')}.overlay.cpio.gz`)));
      await writeFile(join(work, `${who}.json`), JSON.stringify(entries));
      children.push(execa('node', ['--import', 'tsx', script, dir, join(work, `${who}.json`), go], { cwd: join(MANIFEST_MODULE, '../../..'), reject: false, all: true }));
    }
    // Both children are loaded and polling before either starts writing.
    await sleep(2500);
    await writeFile(go, '');
    const results = await Promise.all(children);
    for (const r of results) expect(r.all ?? '', `child exited ${r.exitCode}`).toBe('');
    const names = (await manifestJson(dir)).artifacts.map((a) => a.name);
    expect(names).toHaveLength(30);
    expect(names.filter((n) => n.startsWith('a'))).toHaveLength(15);
    expect((await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, reject: false })).exitCode).toBe(0);
    expect(existsSync(join(dir, '.manifest.lock'))).toBe(false);
  });

  it('takes over a lock left empty by a holder that died before writing its pid', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '.manifest.lock'), '');
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, '.manifest.lock'), old, old);
    await recordArtifact(dir, await artifact(dir, 'discovery.overlay.cpio.gz'));
    expect((await manifestJson(dir)).artifacts).toHaveLength(1);
  });

  it('waits for a lock held by a live process', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '.manifest.lock'), `${process.ppid}\n`);
    let done = false;
    const recording = recordArtifact(dir, await artifact(dir, 'discovery.overlay.cpio.gz')).then(() => {
      done = true;
    });
    await sleep(400);
    expect(done).toBe(false);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
    await unlink(join(dir, '.manifest.lock'));
    await recording;
    expect((await manifestJson(dir)).artifacts).toHaveLength(1);
  });

  it('takes over a lock whose holder has exited', async () => {
    const dir = await tempDir();
    const gone = execa('true');
    await gone;
    expect(gone.pid).toBeGreaterThan(0);
    await writeFile(join(dir, '.manifest.lock'), `${gone.pid}\n`);
    await recordArtifact(dir, await artifact(dir, 'discovery.overlay.cpio.gz'));
    expect((await manifestJson(dir)).artifacts).toHaveLength(1);
    expect(existsSync(join(dir, '.manifest.lock'))).toBe(false);
  });

  it.each(['../escape.img', 'sub/dir.img', 'manifest.json', 'SHA256SUMS', 'new\nline.img', 'back\\slash.img', '..', ''])(
    'refuses %j as an artifact name',
    async (name) => {
      const dir = await tempDir();
      const entry = await artifact(dir, 'ok.img');
      await expect(recordArtifact(dir, { ...entry, name })).rejects.toThrow('not a plain file name in the builds folder');
      expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
    },
  );

  it('refuses an entry whose sha256 or size is not that of the file', async () => {
    const dir = await tempDir();
    const entry = await artifact(dir, 'discovery.overlay.cpio.gz');
    await expect(recordArtifact(dir, { ...entry, sha256: 'b'.repeat(64) })).rejects.toThrow(/sha256 b{64} is not that of/);
    await expect(recordArtifact(dir, { ...entry, size: entry.size + 1 })).rejects.toThrow(`has ${entry.size}`);
    await expect(recordArtifact(dir, await artifact(dir, 'missing.img').then(async (e) => (await rm(join(dir, e.name)), e)))).rejects.toThrow('does not exist');
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
  });

  it('refuses an entry that breaks the schema, naming the field', async () => {
    const dir = await tempDir();
    const entry = await artifact(dir, 'vmlinuz-6.1.0-28-amd64', { kind: 'kernel', base: undefined });
    await expect(recordArtifact(dir, entry)).rejects.toThrow("/artifacts/0 must have required property 'kernelVersion'");
  });

  it('refuses to overwrite a manifest.json it cannot read', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'manifest.json'), '{"schemaVersion": 1, "artifacts": [');
    await expect(recordArtifact(dir, await artifact(dir, 'discovery.overlay.cpio.gz'))).rejects.toThrow('is not JSON');
    expect(await readFile(join(dir, 'manifest.json'), 'utf8')).toBe('{"schemaVersion": 1, "artifacts": [');
  });
});

describe('readManifest', () => {
  it('reads a folder without a manifest as an empty one', async () => {
    expect(await readManifest(await tempDir())).toEqual({ schemaVersion: 1, artifacts: [] });
  });
});

describe('validateManifest', () => {
  it('names the instance path of each problem', async () => {
    const dir = await tempDir();
    const entry = await artifact(dir, 'discovery.overlay.cpio.gz');
    const broken = { schemaVersion: 1, artifacts: [entry, { ...entry, sha256: 'XYZ', kind: 'tarball', extra: 1 }] };
    const errors = validateManifest(broken);
    expect(errors).toContain('/artifacts/1/sha256 must match pattern "^[0-9a-f]{64}$"');
    expect(errors).toContain("/artifacts/1/kind must be one of \"base\", \"overlay\", \"kernel\", \"initrd\"");
    expect(errors).toContain("/artifacts/1 has unknown property 'extra'");
  });

  it('rejects two entries of one name, a base on a non-overlay and a missing version', async () => {
    const dir = await tempDir();
    const entry = await artifact(dir, 'discovery.overlay.cpio.gz');
    expect(validateManifest({ schemaVersion: 1, artifacts: [entry, entry] })).toEqual(["/artifacts/1/name 'discovery.overlay.cpio.gz' appears more than once"]);
    expect(validateManifest({ schemaVersion: 1, artifacts: [{ ...entry, kind: 'base' }] })).toEqual(['/artifacts/0/base is not allowed here']);
    expect(validateManifest({ artifacts: [] })).toEqual(["/ must have required property 'schemaVersion'"]);
  });
});

describe('gitStateOf', () => {
  const git = (dir: string, ...args: string[]) => execa('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args]);

  it('gives HEAD, and dirty only when there are changes outside the excluded paths', async () => {
    const dir = await tempDir('imgplay-git-');
    await git(dir, 'init', '-q');
    await writeFile(join(dir, 'all.yml'), '- hosts: all\n');
    await git(dir, 'add', 'all.yml');
    await git(dir, 'commit', '-q', '-m', 'playbooks');
    const head = (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
    expect(await gitStateOf(dir)).toEqual({ gitCommit: head });
    await mkdir(join(dir, 'builds'));
    await writeFile(join(dir, 'builds/base.img'), 'x');
    expect(await gitStateOf(dir)).toEqual({ gitCommit: head, dirty: true });
    expect(await gitStateOf(dir, { exclude: ['builds'] })).toEqual({ gitCommit: head });
    await writeFile(join(dir, 'all.yml'), '- hosts: micro\n');
    expect(await gitStateOf(dir, { exclude: ['builds'] })).toEqual({ gitCommit: head, dirty: true });
  });

  it('is undefined outside a git repository', async () => {
    expect(await gitStateOf(await tempDir('imgplay-nogit-'))).toBeUndefined();
  });
});
