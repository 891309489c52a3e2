// The stage cache keys a stage that installs packages on its archive's state: a new version published to a local
// repository (made here with apt-ftparchive, served on 127.0.0.1) rebuilds the stage that installs from it, and
// only that one; the stage beside it that never ran apt is put back from the cache.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minbaseCopy, minbaseUnavailable, mountsSnapshot } from '../support/minbase.js';
import { file, lacking, skipWithout } from '../support/needs.js';

const imgplay = fileURLToPath(new URL('../../bin/imgplay.js', import.meta.url));
const unavailable = (await minbaseUnavailable()) ?? (await lacking(file('/usr/bin/apt-ftparchive', 'apt-utils')));

describe.skipIf(skipWithout(unavailable))('the stage cache and a package archive', () => {
  let work: string;
  let repo: string;
  let server: Server;
  let url: string;
  let tree: { root: string; cleanup(): Promise<void> };
  let mountsBefore: string;

  // Builds imgplay-demo at `version` into the repository and rewrites its indexes, as a mirror update does.
  async function publish(version: string): Promise<void> {
    const pkg = join(work, `pkg-${version}`);
    await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
    await mkdir(join(pkg, 'usr/share/imgplay-demo'), { recursive: true });
    await writeFile(join(pkg, 'DEBIAN/control'), `Package: imgplay-demo\nVersion: ${version}\nArchitecture: all\nMaintainer: imgplay tests <t@example.invalid>\nDescription: a package the test publishes\n`);
    await writeFile(join(pkg, 'usr/share/imgplay-demo/version'), `${version}\n`);
    await execa('dpkg-deb', ['--root-owner-group', '--build', pkg, join(repo, `imgplay-demo_${version}_all.deb`)]);
    const packages = await execa('apt-ftparchive', ['packages', '.'], { cwd: repo });
    await writeFile(join(repo, 'Packages'), packages.stdout + '\n');
    const release = await execa('apt-ftparchive', ['release', '.'], { cwd: repo });
    await writeFile(join(repo, 'Release'), release.stdout + '\n');
  }

  beforeAll(async () => {
    mountsBefore = await mountsSnapshot();
    work = await mkdtemp('/var/tmp/imgplay-stage-archive-');
    repo = join(work, 'repo');
    await mkdir(repo);
    await publish('1.0');
    server = createServer((req, res) => {
      const path = normalize(join(repo, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
      if (!path.startsWith(`${repo}/`)) return void res.writeHead(404).end();
      stat(path).then(
        (st) => {
          if (!st.isFile()) return void res.writeHead(404).end();
          res.writeHead(200, { 'content-length': st.size });
          createReadStream(path).pipe(res);
        },
        () => void res.writeHead(404).end(),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tree = await minbaseCopy();
    // The tree's own sources would make apt (and the stage's key) depend on the Debian mirror: only the test's.
    await writeFile(join(tree.root, 'etc/apt/sources.list'), '');
    const project = join(work, 'project');
    await mkdir(project);
    await writeFile(
      join(project, 'hosts.yaml'),
      `all:\n  hosts:\n    tree: { ansible_connection: chroot, ansible_host: ${tree.root}, imgplay_deb_cache: '{{ cache_dir }}/debs' }\n    other: { ansible_connection: local }\n`,
    );
    await writeFile(
      join(project, 'site.yml'),
      `- name: install from the repository
  hosts: tree
  gather_facts: false
  vars: { imgplay_stage: packages }
  tasks:
    - copy: { content: "deb [trusted=yes] ${url}/ ./\\n", dest: /etc/apt/sources.list.d/test.list }
    - apt: { name: imgplay-demo, state: latest, update_cache: true }
- name: a stage that installs nothing
  hosts: other
  gather_facts: false
  vars: { imgplay_stage: other, greeting: hello }
  tasks:
    - debug: { msg: "{{ greeting }}" }
`,
    );
  }, 600_000);

  afterAll(async () => {
    server?.close();
    await tree?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
    expect(await mountsSnapshot()).toBe(mountsBefore);
  });

  async function run() {
    const r = await execa('node', [imgplay, 'site.yml', '-i', 'hosts.yaml', '-e', `artifact_dir=${work}/builds`, '-e', `build_dir=${work}/build`, '--cache-dir', join(work, 'cache'), '-v'], {
      cwd: join(work, 'project'),
      reject: false,
      all: true,
      env: { NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' },
    });
    expect(r.exitCode, r.all).toBe(0);
    return (r.all ?? '').split('\n').filter((l) => l.startsWith('STAGE ['));
  }

  it('reuses both stages while the archive is unchanged, and rebuilds only the installing one after a new version is published', async () => {
    expect(await run()).toEqual([
      'STAGE [packages] building: no earlier build',
      expect.stringMatching(/^STAGE \[packages\] built .* kept in the cache$/),
      'STAGE [other] building: no earlier build',
      expect.stringMatching(/^STAGE \[other\] built .* kept in the cache$/),
    ]);
    expect(await run()).toEqual([expect.stringMatching(/^STAGE \[packages\] cached/), expect.stringMatching(/^STAGE \[other\] cached/)]);
    await publish('1.1');
    expect(await run()).toEqual([
      `STAGE [packages] building: archive ${url} ./ changed`,
      expect.stringMatching(/^STAGE \[packages\] built/),
      expect.stringMatching(/^STAGE \[other\] cached/),
    ]);
    expect(await readFile(join(tree.root, 'usr/share/imgplay-demo/version'), 'utf8')).toBe('1.1\n');
    // --cache-dir is the cache_dir variable too: the .deb cache under it got both versions, the tree none.
    expect((await readdir(join(work, 'cache', 'debs'))).filter((f) => f.endsWith('.deb')).sort()).toEqual(['imgplay-demo_1.0_all.deb', 'imgplay-demo_1.1_all.deb']);
    expect((await readdir(join(tree.root, 'var/cache/apt/archives'))).filter((f) => f.endsWith('.deb'))).toEqual([]);
  }, 600_000);
});
