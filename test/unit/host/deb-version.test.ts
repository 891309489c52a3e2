// Versions of the .deb cache's files are ordered as dpkg orders them: dpkg itself is the oracle.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compareDebVersions } from '../../../src/host/deb-version.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

const versions = [
  '1.0', '1.0-1', '1.0-2', '1.0~rc1', '1.0~rc1-1', '1.0~~', '1.0~', '1.0a', '1.0+b1', '1.0.1', '1.00', '1.0-1+deb12u1',
  '1.0-1~bpo12+1', '2:1.0', '1:2.0', '0:1.0', '10', '9', '1.2.3-0ubuntu1', '1.2.3-0ubuntu1.1', '2.36-9+deb12u9', '2.36-9+deb12u10',
  '252.33-1~deb12u1', '252.31-1~deb12u1', '3.0.15-1~deb12u1', '3.0.11-1~deb12u2', '1:9.2p1-2+deb12u3', '1:9.2p1-2+deb12u10', 'a', 'a.', 'a+', 'a-0',
];

describe('Debian version order', () => {
  // Sorted by imgplay, each neighbour's relation checked by dpkg: as both orders are total, agreeing on every
  // adjacent pair means agreeing on every pair.
  it.skipIf(skipWithout(lacking(file('/usr/bin/dpkg', 'dpkg'))))('sorts a table of tricky versions as dpkg --compare-versions orders them', async () => {
    const sorted = [...versions].sort(compareDebVersions);
    const wrong: string[] = [];
    for (let i = 0; i + 1 < sorted.length; i++) {
      const [a, b] = [sorted[i]!, sorted[i + 1]!];
      const mine = compareDebVersions(a, b) === 0 ? 'eq' : 'lt';
      const dpkg = (await execa('dpkg', ['--compare-versions', a, mine, b], { reject: false })).exitCode === 0;
      if (!dpkg) wrong.push(`${a} ${mine} ${b} says imgplay; dpkg disagrees`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('puts ~ before the end and an epoch before everything', () => {
    expect(compareDebVersions('1.0~rc1', '1.0')).toBeLessThan(0);
    expect(compareDebVersions('1:0.1', '9.9')).toBeGreaterThan(0);
    expect(compareDebVersions('1.01', '1.1')).toBe(0);
  });
});
