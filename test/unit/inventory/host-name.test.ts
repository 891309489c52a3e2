import { describe, expect, it } from 'vitest';
import { HostRangeError, expandHostPattern, expandHostRange, parseAddress } from '../../../src/inventory/host-name.js';

describe('expandHostRange', () => {
  it('keeps the leading zeros of a numeric range', () => {
    expect(expandHostRange('web[01:03].lab')).toEqual(['web01.lab', 'web02.lab', 'web03.lab']);
  });

  it('expands letter ranges and steps', () => {
    expect(expandHostRange('db-[a:c]')).toEqual(['db-a', 'db-b', 'db-c']);
    expect(expandHostRange('n[1:7:3]')).toEqual(['n1', 'n4', 'n7']);
  });

  it('expands several ranges in one name', () => {
    expect(expandHostRange('r[1:2]-[a:b]')).toEqual(['r1-a', 'r1-b', 'r2-a', 'r2-b']);
  });

  it('starts an empty beginning at 0', () => {
    expect(expandHostRange('h[:2]')).toEqual(['h0', 'h1', 'h2']);
  });

  it('rejects malformed ranges with a reason', () => {
    expect(() => expandHostRange('web[01:3]')).toThrow(HostRangeError);
    expect(() => expandHostRange('web[1]')).toThrow(/must be begin:end or begin:end:step/);
    expect(() => expandHostRange('web[1:]')).toThrow(/must specify an end value/);
    expect(() => expandHostRange('web[c:a]')).toThrow(/begin <= end/);
  });
});

describe('parseAddress', () => {
  it('splits a port from a host name or IPv4 address', () => {
    expect(parseAddress('web1:2222', false)).toEqual({ host: 'web1', port: 2222 });
    expect(parseAddress('10.0.0.1:22', false)).toEqual({ host: '10.0.0.1', port: 22 });
  });

  it('needs brackets to give an IPv6 address a port', () => {
    expect(parseAddress('[fe80::1]:22', false)).toEqual({ host: 'fe80::1', port: 22 });
    expect(parseAddress('fe80::1', false)).toEqual({ host: 'fe80::1', port: undefined });
  });

  it('refuses text that is not an address, such as a templated path', () => {
    expect(parseAddress('{{ root }}/rootfs', true)).toBeUndefined();
    expect(parseAddress('web[1:3]', false)).toBeUndefined();
  });
});

describe('expandHostPattern', () => {
  it('applies one port to every host of a range', () => {
    expect(expandHostPattern('web[1:2]:2222')).toEqual({ hosts: ['web1', 'web2'], port: 2222 });
  });

  it('keeps a name that is not an address as written', () => {
    expect(expandHostPattern('{{ build_root }}/rootfs')).toEqual({ hosts: ['{{ build_root }}/rootfs'], port: undefined });
  });
});
