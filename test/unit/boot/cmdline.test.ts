// The boot command line contract is written once (src/boot/cmdline.ts): the iPXE script is made from it, the
// initrd's shell script reads exactly its keys with its defaults, and docs/netboot.md shows it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOOT_PARAMS, bootArgs, regenerateNetbootDoc } from '../../../src/boot/cmdline.js';
import { bootScript } from '../../../src/serve/ipxe.js';

const script = readFileSync(new URL('../../../roles/initrd/build_initrd/files/imgplay-boot', import.meta.url), 'utf8');
const initrdKeys = BOOT_PARAMS.filter((p) => p.readBy === 'initrd');

/** The body of a shell function of the initrd's script. */
function shellFunction(name: string): string {
  const start = script.indexOf(`\n${name}()\n{`);
  expect(start, `${name}() in imgplay-boot`).toBeGreaterThan(0);
  return script.slice(start, script.indexOf('\n}\n', start));
}

describe('the initrd script', () => {
  const body = shellFunction('imgplay_cmdline');

  it('reads every initrd key of the contract into the variable the contract names', () => {
    const arms = [...body.matchAll(/^\t\t([A-Za-z_.0-9]+)=\*\) (\w+)="\$\{x#\1=\}" ;;$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(arms)).toEqual(Object.fromEntries(initrdKeys.map((p) => [p.key, p.initrdVar])));
  });

  it('starts each of those variables at the contract\'s default', () => {
    const defaults = [...body.matchAll(/^\t(IMGPLAY_\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(defaults)).toEqual(Object.fromEntries(initrdKeys.map((p) => [p.initrdVar, p.default])));
  });

  it('documents every initrd key in its header', () => {
    const header = script.slice(0, script.indexOf('\n\n', script.indexOf('#!')));
    for (const p of initrdKeys) expect(header, p.key).toContain(`${p.key}=`);
  });

  it('refuses a boot without the one required key', () => {
    for (const p of BOOT_PARAMS.filter((q) => q.required)) expect(body).toContain(`[ -n "\${${p.initrdVar}}" ] || imgplay_fail "${p.key}"`);
  });
});

describe('a command line from the contract', () => {
  it('carries the keys in the contract\'s order, leaving absent values out', () => {
    expect(bootArgs({ base: 'http://s/b', overlays: ['http://s/o1', 'http://s/o2'], syslog: '10.0.0.1', extra: ' quiet ' })).toEqual([
      'SYSLOGSERVER=10.0.0.1',
      'BASEFS=http://s/b',
      'OVERLAYFS=http://s/o1,http://s/o2',
      'console=tty0',
      'console=ttyS0,115200n8',
      'quiet',
    ]);
  });

  it('takes imgplay options by their contract key and refuses one the contract lacks', () => {
    expect(bootArgs({ base: 'b', consoles: [], options: { 'imgplay.retries': '2' } })).toEqual(['BASEFS=b', 'imgplay.retries=2']);
    expect(() => bootArgs({ base: 'b', options: { 'imgplay.retry': '2' } })).toThrow(/imgplay.retry is not a key of the boot command line contract/);
  });

  it('is what the boot server\'s iPXE script boots with', () => {
    const profile = { name: 'default', kernel: 'vmlinuz-6', initrd: 'initrd.img-6', base: 'base.img', overlays: ['d.cpio.gz'], args: '', apiCb: true, syslog: true };
    const kernelLine = bootScript(profile, '10.0.0.2:8080').split('\n')[1]!;
    expect(kernelLine).toBe(
      'kernel http://10.0.0.2:8080/common/vmlinuz-6 initrd=initrd.img-6 SYSLOGSERVER=10.0.0.2 API_CB=10.0.0.2:8080 ' +
        'BASEFS=http://10.0.0.2:8080/common/base.img OVERLAYFS=http://10.0.0.2:8080/common/d.cpio.gz BOOTIF=01-${netX/mac:hexhyp} ' +
        'console=tty0 console=ttyS0,115200n8',
    );
  });
});

describe('docs/netboot.md', () => {
  it('shows the contract as the table makes it (run npm run docs after changing it)', () => {
    const doc = readFileSync(new URL('../../../docs/netboot.md', import.meta.url), 'utf8');
    expect(regenerateNetbootDoc(doc)).toBe(doc);
  });
});
