// --diff output as Ansible's default callback prints it: a module's headers become `before: HEADER` and
// `after: HEADER`, without them the sides are `before` and `after`.
import { createTwoFilesPatch } from 'diff';
import { describe, expect, it } from 'vitest';
import { PlainReporter } from '../../../src/report/plain.js';

function printed(diff: unknown): string {
  let text = '';
  const r = new PlainReporter({ write: (s) => void (text += s), verbosity: 0, color: false, diff: true, patch: (a, b, x, y) => createTwoFilesPatch(a, b, x, y, undefined, undefined, { context: 3 }) });
  r.emit({ type: 'task_result', taskId: 1, task: 't', action: 'lineinfile', host: 'h', status: 'changed', ignored: false, loop: false, result: { changed: true, diff }, durationMs: 1 });
  return text;
}

describe('diffs under --diff', () => {
  it("names the sides after the module's headers, as Ansible does", () => {
    const text = printed([{ before: 'a\n', after: 'b\n', before_header: '/etc/f (content)', after_header: '/etc/f (content)' }]);
    expect(text.startsWith('--- before: /etc/f (content)\n+++ after: /etc/f (content)\n@@ -1,1 +1,1 @@\n-a\n+b\n')).toBe(true);
  });

  it('calls them before and after without headers', () => {
    expect(printed({ before: 'a\n', after: 'b\n' }).startsWith('--- before\n+++ after\n@@ -1,1 +1,1 @@\n')).toBe(true);
  });
});
