// The small pieces of the boot server's protocol: MAC spellings, byte ranges, and the iPXE scripts.
import { describe, expect, it } from 'vitest';
import { bootScript, chainScript, hostOf } from '../../../src/serve/ipxe.js';
import { normalizeMac } from '../../../src/serve/mac.js';
import type { Profile } from '../../../src/serve/profiles.js';
import { parseRange } from '../../../src/serve/static.js';

describe('normalizeMac', () => {
  it.each([
    ['52:54:00:AB:cd:01', '52:54:00:ab:cd:01'],
    ['52-54-00-ab-cd-01', '52:54:00:ab:cd:01'],
    ['525400ABCD01', '52:54:00:ab:cd:01'],
    ['01-52-54-00-ab-cd-01', '52:54:00:ab:cd:01'],
  ])('reads %s as %s', (text, mac) => {
    expect(normalizeMac(text)).toBe(mac);
  });

  it.each([['52:54:00:ab:cd'], ['52:54-00:ab:cd:01'], ['zz:54:00:ab:cd:01'], ['../../etc'], ['']])('refuses %s', (text) => {
    expect(normalizeMac(text)).toBeUndefined();
  });
});

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=10-', { start: 10, end: 99 }],
    ['bytes=-5', { start: 95, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
    ['bytes=90-1000', { start: 90, end: 99 }],
  ])('reads %s of a 100-byte file', (header, range) => {
    expect(parseRange(header, 100)).toEqual(range);
  });

  it('finds a range that starts past the end unsatisfiable', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
  });

  it('answers several ranges, other units and nonsense with the whole file', () => {
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
    expect(parseRange('bytes=9-3', 100)).toBeUndefined();
  });
});

describe('iPXE scripts', () => {
  const profile: Profile = {
    name: 'default',
    kernel: 'vmlinuz-6.1.0-28-amd64',
    initrd: 'initrd.img-6.1.0-28-amd64',
    base: 'base.bookworm.6.1.0-28-amd64.squashfs.img',
    overlays: ['discovery.overlay.cpio.gz', 'oem.overlay.cpio.gz'],
    args: 'quiet',
    apiCb: true,
    syslog: true,
  };

  it('chains to itself with the MAC iPXE sees', () => {
    expect(chainScript('10.0.2.2:8080')).toBe('#!ipxe\nchain http://10.0.2.2:8080/boot.ipxe?mac=${netX/mac}\n');
  });

  it("writes RackHD's kernel command line, overlays in order", () => {
    expect(bootScript(profile, '10.0.2.2:8080').split('\n')).toEqual([
      '#!ipxe',
      'kernel http://10.0.2.2:8080/common/vmlinuz-6.1.0-28-amd64 initrd=initrd.img-6.1.0-28-amd64 SYSLOGSERVER=10.0.2.2 API_CB=10.0.2.2:8080 ' +
        'BASEFS=http://10.0.2.2:8080/common/base.bookworm.6.1.0-28-amd64.squashfs.img ' +
        'OVERLAYFS=http://10.0.2.2:8080/common/discovery.overlay.cpio.gz,http://10.0.2.2:8080/common/oem.overlay.cpio.gz ' +
        'BOOTIF=01-${netX/mac:hexhyp} console=tty0 console=ttyS0,115200n8 quiet',
      'initrd http://10.0.2.2:8080/common/initrd.img-6.1.0-28-amd64',
      'boot',
      '',
    ]);
  });

  it('leaves out API_CB, SYSLOGSERVER and OVERLAYFS when the profile has none', () => {
    const script = bootScript({ ...profile, apiCb: false, syslog: false, overlays: [], args: '' }, 'boot:80');
    expect(script).not.toMatch(/API_CB|SYSLOGSERVER|OVERLAYFS/);
    expect(script).toContain('console=ttyS0,115200n8\n');
  });

  it('sends syslog to a named host when the profile gives one', () => {
    expect(bootScript({ ...profile, syslog: '192.0.2.9' }, 'boot:80')).toContain(' SYSLOGSERVER=192.0.2.9 ');
  });

  it('takes the host out of host:port, IPv6 too', () => {
    expect(hostOf('10.0.2.2:8080')).toBe('10.0.2.2');
    expect(hostOf('[fd00::1]:8080')).toBe('fd00::1');
    expect(hostOf('boot.lan')).toBe('boot.lan');
  });
});
