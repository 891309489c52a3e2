// imgplay doctor: each need checked for real on this host, and a missing one named with its package.
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { type Check, CHECKS, diagnose, formatFindings } from '../../src/doctor/diagnose.js';

describe('imgplay doctor', () => {
  it('finds everything a build needs on the CI machine, and exits 0', async () => {
    let text = '';
    const code = await main(['node', 'imgplay', 'doctor'], { stdout: (s) => void (text += s) });
    expect(text).toContain('This host can build images.');
    expect(code).toBe(0);
    expect(text.split('\n').filter((l) => l.startsWith('ok ')).length).toBe(CHECKS.length);
  });

  it('names what is missing, why it is needed and the package that brings it, and fails', async () => {
    const missing: Check = { name: 'imgplay-no-such-tool', pkg: 'imgplay-tools', why: 'stands in for a missing tool', check: async () => false };
    const optional: Check = { name: 'nice-to-have', why: 'optional', optional: true, check: async () => 'not today' };
    const report = formatFindings(await diagnose([missing, optional]));
    expect(report.ok).toBe(false);
    expect(report.text).toContain('MISSING  imgplay-no-such-tool  stands in for a missing tool (not found; apt-get install imgplay-tools)');
    expect(report.text).toContain('warning  nice-to-have');
    expect(report.text).toContain('Install with: apt-get install imgplay-tools');
  });
});
