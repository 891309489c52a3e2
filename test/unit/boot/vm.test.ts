import { describe, expect, it } from 'vitest';
import { parseGoal } from '../../../src/boot/command.js';
import { chainScript, guestServerUrl, normalizeMac, qemuArgs, randomMac } from '../../../src/boot/vm.js';

describe('imgplay boot, without a VM', () => {
  it('points the guest at 10.0.2.2 when the server listens on the loopback, and elsewhere leaves it alone', () => {
    expect(guestServerUrl('http://127.0.0.1:8080/').href).toBe('http://10.0.2.2:8080/');
    expect(guestServerUrl('http://localhost:9000').href).toBe('http://10.0.2.2:9000/');
    expect(guestServerUrl('http://192.0.2.7:8080/').href).toBe('http://192.0.2.7:8080/');
  });

  it('chains from the TFTP script to /boot.ipxe with the MAC, and prints a failure line iPXE cannot skip', () => {
    const script = chainScript('http://127.0.0.1:8080');
    expect(script.startsWith('#!ipxe\n')).toBe(true);
    expect(script).toContain('chain --autofree http://10.0.2.2:8080/boot.ipxe?mac=${net0/mac} || goto failed');
    expect(script).toMatch(/imgplay-ipxe: could not boot from http:\/\/10\.0\.2\.2:8080\/boot\.ipxe/);
  });

  it('accepts MACs in colon, hyphen and bare forms and refuses anything else', () => {
    expect(normalizeMac('52:54:00:AB:cd:01')).toBe('52:54:00:ab:cd:01');
    expect(normalizeMac('52-54-00-ab-cd-01')).toBe('52:54:00:ab:cd:01');
    expect(normalizeMac('525400abcd01')).toBe('52:54:00:ab:cd:01');
    expect(normalizeMac('52:54:00:ab:cd')).toBeUndefined();
    expect(normalizeMac('52:54:00:ab:cd:0g')).toBeUndefined();
    expect(randomMac()).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  it('reads --until goals and names the choices when one is wrong', () => {
    expect(parseGoal('catalog')).toEqual({ kind: 'catalog' });
    expect(parseGoal('/hooks done/i')).toEqual({ kind: 'marker', pattern: /hooks done/i });
    expect(() => parseGoal('forever')).toThrow(/not one of catalog, ready, login, exit or \/regex\//);
    expect(() => parseGoal('/(/')).toThrow(/not a regular expression/);
  });

  it('never asks for KVM unless told to, and keeps the VM from rebooting into a loop', () => {
    const args = qemuArgs({ tftpDir: '/t', mac: '52:54:00:00:00:01', memoryMiB: 2048, cpus: 2, nic: 'e1000', accel: 'tcg', serconFile: '/t/s' });
    expect(args.join(' ')).toContain('-accel tcg');
    expect(args.join(' ')).not.toContain('kvm');
    expect(args).toContain('-no-reboot');
    expect(args).toContain('e1000,netdev=net0,mac=52:54:00:00:00:01');
    expect(args).toContain('user,id=net0,tftp=/t,bootfile=imgplay.ipxe');
  });
});
