// ansible-playbook -vv opens with the playbook's banner and its count of plays (imports counted), naming the
// playbook as the command line did: scripts count the plays by that line (ansible-core's blocks target does).
import { describe, expect, it } from 'vitest';
import { PlainReporter } from '../../../src/report/plain.js';

function opening(verbosity: number): string {
  let text = '';
  const r = new PlainReporter({ write: (s) => void (text += s), verbosity, color: false, diff: false });
  r.emit({ type: 'playbook_start', file: '/work/site/playbooks/main.yml', given: './main.yml', plays: 3 });
  return text;
}

describe('the start of a playbook', () => {
  it('is its banner and `N plays in PATH` from -vv on', () => {
    expect(opening(2)).toBe(`\nPLAYBOOK: main.yml ${'*'.repeat(61)}\n3 plays in ./main.yml\n`);
    expect(opening(4)).toContain('3 plays in ./main.yml\n');
  });

  it('prints nothing below -vv', () => {
    expect(opening(0)).toBe('');
    expect(opening(1)).toBe('');
  });
});
