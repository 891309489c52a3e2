import { describe, expect, it } from 'vitest';
import { hostname, mapLoopback } from '../../../src/modules/hostname.js';
import { cases } from '../../support/module-cases.js';
import { rooted, rootedRows } from '../../support/rooted-module.js';

const debianHosts = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n';

describe('hostname', () => {
  cases(
    rooted(hostname),
    rootedRows([
      {
        name: 'names a fresh tree, creating /etc/hostname and /etc/hosts',
        args: { name: 'micro' },
        changed: true,
        after: { 'etc/hostname': 'micro\n', 'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\tmicro\n' },
        result: {
          name: 'micro',
          ansible_facts: { ansible_hostname: 'micro', ansible_nodename: 'micro', ansible_fqdn: 'micro' },
          diff: { before: 'hostname = \n', after: 'hostname = micro\n' },
        },
      },
      {
        name: 'adds 127.0.1.1 after the 127.0.0.1 line',
        args: { name: 'micro' },
        before: { 'etc/hostname': 'debian\n', 'etc/hosts': debianHosts },
        changed: true,
        after: { 'etc/hostname': 'micro\n', 'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\tmicro\n::1\tlocalhost ip6-localhost\n' },
        result: { diff: { before: 'hostname = debian\n', after: 'hostname = micro\n' } },
      },
      {
        name: 'replaces an existing 127.0.1.1 line, keeping the rest',
        args: { name: 'micro', use: 'debian' },
        before: { 'etc/hostname': 'old\n', 'etc/hosts': '# comment\n127.0.0.1 localhost\n127.0.1.1 old\n10.0.0.1 gw\n' },
        changed: true,
        after: { 'etc/hostname': 'micro\n', 'etc/hosts': '# comment\n127.0.0.1 localhost\n127.0.1.1\tmicro\n10.0.0.1 gw\n' },
      },
      {
        name: 'maps a fully qualified name and its short form; facts split it',
        args: { name: 'micro.example.org' },
        before: { 'etc/hosts': debianHosts },
        changed: true,
        after: { 'etc/hostname': 'micro.example.org\n', 'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\tmicro.example.org micro\n::1\tlocalhost ip6-localhost\n' },
        result: { ansible_facts: { ansible_hostname: 'micro', ansible_nodename: 'micro.example.org', ansible_domain: 'example.org' } },
      },
      {
        name: 'leaves a tree that already has the name alone (spacing in /etc/hosts kept)',
        args: { name: 'micro' },
        before: { 'etc/hostname': 'micro\n', 'etc/hosts': '127.0.0.1 localhost\n127.0.1.1   micro # mine\n' },
        changed: false,
        result: { name: 'micro', ansible_facts: { ansible_hostname: 'micro' } },
      },
      {
        name: 'fixes only /etc/hosts when /etc/hostname is right',
        args: { name: 'micro' },
        before: { 'etc/hostname': 'micro\n', 'etc/hosts': '127.0.0.1 localhost' },
        changed: true,
        after: { 'etc/hostname': 'micro\n', 'etc/hosts': '127.0.0.1 localhost\n127.0.1.1\tmicro\n' },
      },
      {
        name: 'writes through a /etc/hostname symlink inside the tree',
        args: { name: 'micro' },
        before: { 'etc/hostname': { link: '/data/hostname' }, 'data/hostname': 'old\n', 'etc/hosts': debianHosts },
        changed: true,
        after: {
          'etc/hostname': { link: '/data/hostname' },
          'data/hostname': 'micro\n',
          'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\tmicro\n::1\tlocalhost ip6-localhost\n',
        },
      },
      { name: 'refuses a name with blanks', args: { name: 'two words' }, error: "invalid hostname 'two words'" },
      { name: 'refuses an unknown strategy', args: { name: 'micro', use: 'windows' }, invalid: 'use' },
      { name: 'requires a name', args: {}, invalid: 'name' },
    ]),
  );

  it('appends 127.0.1.1 when there is no 127.0.0.1 line', () => {
    expect(mapLoopback('::1 localhost\n', 'micro')).toBe('::1 localhost\n127.0.1.1\tmicro\n');
    expect(mapLoopback('', 'micro')).toBe('127.0.1.1\tmicro\n');
  });
});
