import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { aptProxyFromEnv, hostAptMirror } from '../../../src/image/mirror.js';

const dirs: string[] = [];

// An /etc/apt look-alike: `sources.list` text and a map of sources.list.d files.
async function aptDir(list: string | undefined, parts: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-apt-'));
  dirs.push(dir);
  await mkdir(join(dir, 'sources.list.d'));
  if (list !== undefined) await writeFile(join(dir, 'sources.list'), list);
  for (const [name, text] of Object.entries(parts)) await writeFile(join(dir, 'sources.list.d', name), text);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('hostAptMirror', () => {
  it('reads the first deb line of a one-line sources.list', async () => {
    const dir = await aptDir(
      'deb http://mirror.example.invalid/debian bookworm main contrib\n' +
        'deb http://other.example.invalid/debian bookworm main\n',
    );
    expect(await hostAptMirror({ sourcesDir: dir })).toEqual({
      uri: 'http://mirror.example.invalid/debian',
      suite: 'bookworm',
      components: ['main', 'contrib'],
    });
  });

  it('skips commented lines, deb-src, and security and updates suites', async () => {
    const dir = await aptDir(
      [
        '# deb http://commented.example.invalid/debian bookworm main',
        '  #deb http://indented.example.invalid/debian bookworm main',
        'deb-src http://source.example.invalid/debian bookworm main',
        'deb http://security.example.invalid/debian-security bookworm-security main',
        'deb http://security.example.invalid/debian-security/ bookworm main',
        'deb http://updates.example.invalid/debian bookworm-updates main',
        'deb http://old.example.invalid/debian-security buster/updates main',
        'deb http://backports.example.invalid/debian bookworm-backports main',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example.invalid/debian/ bookworm main # trailing comment',
      ].join('\n'),
    );
    expect(await hostAptMirror({ sourcesDir: dir })).toEqual({
      uri: 'http://mirror.example.invalid/debian',
      suite: 'bookworm',
      components: ['main'],
    });
  });

  it('skips a one-line entry disabled with enabled=no', async () => {
    const dir = await aptDir(
      'deb [enabled=no] http://off.example.invalid/debian bookworm main\ndeb http://on.example.invalid/debian bookworm main\n',
    );
    expect((await hostAptMirror({ sourcesDir: dir }))?.uri).toBe('http://on.example.invalid/debian');
  });

  it('reads deb822 stanzas, skipping Enabled: no, deb-src only and security stanzas', async () => {
    const dir = await aptDir(undefined, {
      'debian.sources': [
        '# a comment line',
        'Types: deb',
        'URIs: http://disabled.example.invalid/debian',
        'Suites: bookworm',
        'Components: main',
        'Enabled: no',
        '',
        'Types: deb-src',
        'URIs: http://source.example.invalid/debian',
        'Suites: bookworm',
        'Components: main',
        '',
        'Types: deb',
        'URIs: http://security.example.invalid/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        '',
        'types: deb deb-src',
        'uris: http://mirror.example.invalid/debian',
        'suites: bookworm-updates',
        ' bookworm',
        'components: main',
        '  non-free-firmware',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        '',
      ].join('\n'),
    });
    expect(await hostAptMirror({ sourcesDir: dir })).toEqual({
      uri: 'http://mirror.example.invalid/debian',
      suite: 'bookworm',
      components: ['main', 'non-free-firmware'],
    });
  });

  it('prefers sources.list, then the parts in name order, ignoring other file suffixes', async () => {
    const stanza = (host: string) => `Types: deb\nURIs: http://${host}.example.invalid/debian\nSuites: bookworm\nComponents: main\n`;
    const parts = {
      'a.list.disabled': 'deb http://disabled.example.invalid/debian bookworm main\n',
      'b.sources.save': stanza('saved'),
      'c.sources': stanza('second'),
      'd.list': 'deb http://third.example.invalid/debian bookworm main\n',
    };
    expect((await hostAptMirror({ sourcesDir: await aptDir(undefined, parts) }))?.uri).toBe('http://second.example.invalid/debian');
    const withList = await aptDir('deb http://first.example.invalid/debian bookworm main\n', parts);
    expect((await hostAptMirror({ sourcesDir: withList }))?.uri).toBe('http://first.example.invalid/debian');
  });

  it('passes over repositories that are not Debian releases', async () => {
    const dir = await aptDir('deb http://packages.example.invalid/apt cloud-sdk-bookworm main\n', {
      'nodesource.sources': 'Types: deb\nURIs: https://deb.example.invalid/node_20.x\nSuites: nodistro\nComponents: main\n',
      'ubuntu.list': 'deb http://ubuntu.example.invalid/ubuntu jammy main\n',
      'zz.list': 'deb cdrom:[Debian GNU/Linux 12]/ bookworm main\ndeb http://mirror.example.invalid/debian trixie main\n',
    });
    expect(await hostAptMirror({ sourcesDir: dir })).toEqual({
      uri: 'http://mirror.example.invalid/debian',
      suite: 'trixie',
      components: ['main'],
    });
  });

  it('accepts an unknown suite name on a URI that ends in /debian', async () => {
    const dir = await aptDir('deb https://mirror.example.invalid/debian future main\n');
    expect((await hostAptMirror({ sourcesDir: dir }))?.suite).toBe('future');
  });

  it('returns undefined when there are no sources at all', async () => {
    expect(await hostAptMirror({ sourcesDir: await aptDir(undefined) })).toBeUndefined();
    expect(await hostAptMirror({ sourcesDir: join(tmpdir(), 'imgplay-no-such-apt-dir') })).toBeUndefined();
  });

  it('returns undefined when every entry is disabled or for sources', async () => {
    const dir = await aptDir('#deb http://a.example.invalid/debian bookworm main\ndeb-src http://b.example.invalid/debian bookworm main\n');
    expect(await hostAptMirror({ sourcesDir: dir })).toBeUndefined();
  });
});

describe('aptProxyFromEnv', () => {
  it('prefers http_proxy over HTTP_PROXY', () => {
    expect(aptProxyFromEnv({ http_proxy: 'http://proxy.example.invalid:3128', HTTP_PROXY: 'http://upper.example.invalid:8080' })).toBe(
      'http://proxy.example.invalid:3128',
    );
  });

  it('falls back to HTTP_PROXY', () => {
    expect(aptProxyFromEnv({ HTTP_PROXY: 'http://upper.example.invalid:8080' })).toBe('http://upper.example.invalid:8080');
  });

  it('treats an empty or missing variable as no proxy', () => {
    expect(aptProxyFromEnv({ http_proxy: '' })).toBeUndefined();
    expect(aptProxyFromEnv({})).toBeUndefined();
  });
});
