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
    expect(text.startsWith('--- before: /etc/f (content)\n+++ after: /etc/f (content)\n@@ -1 +1 @@\n-a\n+b\n')).toBe(true);
  });

  it('calls them before and after without headers', () => {
    expect(printed({ before: 'a\n', after: 'b\n' }).startsWith('--- before\n+++ after\n@@ -1 +1 @@\n')).toBe(true);
  });

  it('writes a range of one line as difflib does, without its length', () => {
    expect(printed({ before: 'a\nb\nc\n', after: 'a\nB\nc\nd\n' })).toContain('@@ -1,3 +1,4 @@\n');
    expect(printed({ before: '', after: 'x\n' })).toContain('@@ -0,0 +1 @@\n+x\n');
  });

  it('says why a side is not shown, and prints text a module prepared as it is', () => {
    const shown = (diff: unknown) => printed(diff).split('changed: [h]')[0];
    expect(shown({ dst_binary: 1, src_larger: 104448 })).toBe('diff skipped: destination file appears to be binary\ndiff skipped: source file size is greater than 104448\n');
    expect(shown({ before: '', src_binary: 1 })).toBe('diff skipped: source file appears to be binary\n');
    expect(shown({ prepared: '>> Newly checked out 0123abcd' })).toBe('>> Newly checked out 0123abcd\n');
    expect(shown({ prepared: 'diff --git a/x b/x\n-1\n+2\n' })).toBe('diff --git a/x b/x\n-1\n+2\n');
  });

  it('shows a mapping side as JSON with sorted keys and a missing one as empty', () => {
    expect(printed({ before: { state: 'absent', path: '/x' }, after: null })).toContain('-{\n-    "path": "/x",\n-    "state": "absent"\n-}\n');
  });
});
