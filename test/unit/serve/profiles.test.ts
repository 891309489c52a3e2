// Profiles files: what they may say, where their mistakes are reported, and which profile a MAC gets.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { parseYaml } from '../../../src/yaml/load.js';
import type { BuildsFolder } from '../../../src/serve/artifacts.js';
import { parseProfiles, profileFor, profileProblems, resolveProfiles } from '../../../src/serve/profiles.js';

function folder(names: Record<string, string | undefined>): BuildsFolder {
  const artifacts: BuildsFolder['artifacts'] = new Map();
  let t = 0;
  for (const [name, kernelVersion] of Object.entries(names)) {
    const kind = name.startsWith('vmlinuz-') ? 'kernel' : name.startsWith('initrd.img-') ? 'initrd' : name.startsWith('base.') ? 'base' : 'overlay';
    artifacts.set(name, { name, kind, kernelVersion, versionFrom: kernelVersion === undefined ? undefined : 'name', mtimeMs: t++ });
  }
  return { dir: '/srv/builds', artifacts };
}

const two = folder({
  'vmlinuz-6.1.0-9-amd64': '6.1.0-9-amd64',
  'vmlinuz-6.1.0-28-amd64': '6.1.0-28-amd64',
  'initrd.img-6.1.0-9-amd64': '6.1.0-9-amd64',
  'initrd.img-6.1.0-28-amd64': '6.1.0-28-amd64',
  'base.bookworm.6.1.0-9-amd64.squashfs.img': '6.1.0-9-amd64',
  'base.bookworm.6.1.0-28-amd64.squashfs.img': '6.1.0-28-amd64',
  'discovery.overlay.cpio.gz': undefined,
  'oem.overlay.cpio.gz': undefined,
});

function load(text: string) {
  return parseProfiles(parseYaml(text, 'profiles.yaml'), 'profiles.yaml');
}

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('the default profile without a profiles file', () => {
  const set = resolveProfiles({}, two);

  it('boots the newest kernel version (by number, not text) with its initrd and base', () => {
    expect(set.default).toMatchObject({
      kernel: 'vmlinuz-6.1.0-28-amd64',
      initrd: 'initrd.img-6.1.0-28-amd64',
      base: 'base.bookworm.6.1.0-28-amd64.squashfs.img',
    });
  });

  it('stacks only the discovery overlay, and sends the catalog back (API_CB)', () => {
    expect(set.default.overlays).toEqual(['discovery.overlay.cpio.gz']);
    expect(set.default.apiCb).toBe(true);
    expect(set.default.syslog).toBe(false);
  });

  it('has no overlays when the folder has no discovery overlay', () => {
    expect(resolveProfiles({}, folder({ 'vmlinuz-1': '1', 'initrd.img-1': '1', 'base.x.1.squashfs.img': '1', 'oem.overlay.cpio.gz': undefined })).default.overlays).toEqual([]);
  });

  it('skips a newer kernel that has no base of its own', () => {
    const f = folder({ 'vmlinuz-6.1.0-9-amd64': '6.1.0-9-amd64', 'vmlinuz-6.1.0-30-amd64': '6.1.0-30-amd64', 'initrd.img-6.1.0-9-amd64': '6.1.0-9-amd64', 'base.b.6.1.0-9-amd64.squashfs.img': '6.1.0-9-amd64' });
    expect(resolveProfiles({}, f).default.kernel).toBe('vmlinuz-6.1.0-9-amd64');
  });

  it('is consistent', () => {
    expect(profileProblems(set, two)).toEqual([]);
  });
});

describe('a profiles file', () => {
  const file = load(`
default:
  args: quiet
  syslog: 10.0.0.1
groups:
  rack-a: ["52:54:00:00:00:01", 52-54-00-00-00-02]
profiles:
  old:
    kernel: vmlinuz-6.1.0-9-amd64
    initrd: initrd.img-6.1.0-9-amd64
    base: base.bookworm.6.1.0-9-amd64.squashfs.img
    macs: ["525400000002"]
  oem:
    groups: [rack-a]
    overlays: [discovery, oem.overlay.cpio.gz]
    api_cb: false
`);
  const set = resolveProfiles(file, two);

  it('gives a MAC listed by a profile that profile, even when a group also holds it', () => {
    expect(profileFor(set, '52:54:00:00:00:02').name).toBe('old');
  });

  it('gives a MAC in a group the profile naming that group', () => {
    expect(profileFor(set, '52:54:00:00:00:01').name).toBe('oem');
  });

  it('gives any other MAC the default', () => {
    expect(profileFor(set, '52:54:00:00:00:09').name).toBe('default');
  });

  it('fills what a profile leaves out from the default, and accepts short overlay names', () => {
    expect(profileFor(set, '52:54:00:00:00:01')).toMatchObject({
      kernel: 'vmlinuz-6.1.0-28-amd64',
      overlays: ['discovery.overlay.cpio.gz', 'oem.overlay.cpio.gz'],
      args: 'quiet',
      syslog: '10.0.0.1',
      apiCb: false,
    });
  });

  it('is consistent with the folder', () => {
    expect(profileProblems(set, two)).toEqual([]);
  });
});

describe('profile mistakes', () => {
  it('names an unknown key at its line and column, with the likely key', () => {
    const e = thrown(() => load('profiles:\n  oem:\n    overlay: [x]\n'));
    expect(e.pos).toEqual({ file: 'profiles.yaml', line: 3, col: 5 });
    expect(e.message).toContain("profiles.oem: unknown key 'overlay'");
    expect(e.hint).toBe("did you mean 'overlays'?");
  });

  it('names a value of the wrong type', () => {
    const e = thrown(() => load('default:\n  api_cb: maybe\n'));
    expect(e.pos?.line).toBe(2);
    expect(e.message).toContain('default.api_cb must be boolean');
  });

  it('asks for quotes around a MAC that YAML read as a number', () => {
    const e = thrown(() => load('groups:\n  rack-a:\n    - 52:54:00:00:00:01\n'));
    expect(e.message).toContain('groups.rack-a.0 must be a MAC address in quotes');
    expect(e.hint).toContain('"52:54:00:00:00:01"');
  });

  it('refuses a MAC that is not one', () => {
    const e = thrown(() => load('profiles:\n  a:\n    macs: [52:54:00:zz:00:01]\n'));
    expect(e.message).toContain("'52:54:00:zz:00:01' is not a MAC address");
    expect(e.pos?.line).toBe(3);
  });

  it('refuses a MAC listed by two profiles', () => {
    const e = thrown(() => load('profiles:\n  a:\n    macs: ["52:54:00:00:00:01"]\n  b:\n    macs: [52-54-00-00-00-01]\n'));
    expect(e.message).toContain('52:54:00:00:00:01 is already listed by profile a');
  });

  it('refuses a group nobody defined', () => {
    const e = thrown(() => load('groups:\n  rack-a: []\nprofiles:\n  a:\n    groups: [rack-b]\n'));
    expect(e.message).toContain("no group named 'rack-b'");
    expect(e.hint).toBe("did you mean 'rack-a'?");
  });
});

describe('kernel and base consistency', () => {
  it('names the kernel, the base and both versions when they differ', () => {
    const set = resolveProfiles(load('default:\n  base: base.bookworm.6.1.0-9-amd64.squashfs.img\n'), two);
    expect(profileProblems(set, two)).toEqual([
      'profile default: the kernel vmlinuz-6.1.0-28-amd64 is 6.1.0-28-amd64 but the base base.bookworm.6.1.0-9-amd64.squashfs.img has modules for 6.1.0-9-amd64',
    ]);
  });

  it('names the initrd when it is for another kernel', () => {
    const set = resolveProfiles(load('profiles:\n  x:\n    initrd: initrd.img-6.1.0-9-amd64\n'), two);
    expect(profileProblems(set, two)).toEqual(['profile x: the kernel vmlinuz-6.1.0-28-amd64 is 6.1.0-28-amd64 but the initrd initrd.img-6.1.0-9-amd64 is built for 6.1.0-9-amd64']);
  });

  it('names files a profile wants that the folder does not have', () => {
    const set = resolveProfiles(load('default:\n  overlays: [gone]\n  kernel: vmlinuz-7\n'), two);
    expect(profileProblems(set, two)).toEqual(['profile default: the kernel vmlinuz-7 is not in /srv/builds', 'profile default: the overlay gone.overlay.cpio.gz is not in /srv/builds']);
  });

  it('says so when the folder has no base at all', () => {
    const f = folder({ 'vmlinuz-1': '1', 'initrd.img-1': '1' });
    expect(profileProblems(resolveProfiles({}, f), f)).toEqual(['profile default: /srv/builds has no base (base.<release>.<kver>.squashfs.img)']);
  });
});
