import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateError, UndefinedVariableError } from '../../../src/errors.js';
import { evaluate } from '../../../src/jinja/expr.js';
import { ansibleMsg, raisedIn } from '../../../src/run/ansible-msg.js';

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgplay-ansible-msg-'));
  file = join(dir, 'play.yml');
  await writeFile(file, ['- hosts: all', '  tasks:', '    - debug: msg=hello', '', '    - copy:', '        dest: /x', ''].join('\n'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function raised(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('nothing was thrown');
}

describe("a failed task's msg in Ansible's words", () => {
  it('quotes the line before the task, the task and a caret under its column', () => {
    const msg = ansibleMsg(new UndefinedVariableError('nope'), { file, line: 5, col: 7 });
    expect(msg).toBe(
      `The task includes an option with an undefined variable. The error was: 'nope' is undefined. 'nope' is undefined\n\nThe error appears to be in '${file}': line 5, column 7, but may\nbe elsewhere in the file depending on the exact syntax problem.\n\nThe offending line appears to be:\n\n\n    - copy:\n      ^ here\n`,
    );
  });

  it("points at the '=' of a k=v line before the task, a line up, as Ansible does", async () => {
    const kv = join(dir, 'kv.yml');
    await writeFile(kv, ['- hosts: all', '  tasks:', '    - debug: msg=hello', '    - copy:', '        dest: /x', ''].join('\n'));
    const msg = ansibleMsg(new UndefinedVariableError('nope'), { file: kv, line: 4, col: 7 });
    expect(msg).toContain(`line 3, column 17, but may`);
    expect(msg).toMatch(/appears to be:\n\n    - debug: msg=hello\n {16}\^ here\n\n$/);
  });

  it('takes the nearest line above that holds something when the position is on a blank line', () => {
    const msg = ansibleMsg(new UndefinedVariableError('nope'), { file, line: 4, col: 7 });
    expect(msg).toMatch(/appears to be:\n\n  tasks:\n    - debug: msg=hello\n {6}\^ here\n$/);
  });

  it("is Jinja's own words for a missing attribute, and the bare text in a loop", () => {
    const err = raised(() => evaluate('x.b', { x: { a: 1 } }));
    expect(ansibleMsg(raisedIn(err, { kind: 'loop' }), { file, line: 3, col: 7 })).toBe("'dict object' has no attribute 'b'. 'dict object' has no attribute 'b'");
  });

  it('names the template of a type error, and gives a filter error its own text alone', () => {
    expect(ansibleMsg(raised(() => evaluate("1 + 'a'", {})), { file, line: 3, col: 7 })).toBe(
      "Unexpected templating type error occurred on ({{ 1 + 'a' }}): unsupported operand type(s) for +: 'int' and 'str'. unsupported operand type(s) for +: 'int' and 'str'",
    );
    expect(ansibleMsg(raised(() => evaluate("{} | combine({}, foo=1)", {})), { file, line: 3, col: 7 })).toBe("'recursive' and 'list_merge' are the only valid keyword arguments");
  });

  it('wraps an error in a condition with the condition', () => {
    const err = raisedIn(raised(() => evaluate('nope == 1', {})), { kind: 'condition', cond: 'nope == 1' });
    expect(ansibleMsg(err, { file, line: 5, col: 7 })).toMatch(/^The conditional check 'nope == 1' failed\. The error was: error while evaluating conditional \(nope == 1\): 'nope' is undefined\. 'nope' is undefined\n\nThe error appears/);
  });

  it('leaves any other error to its own text', () => {
    expect(ansibleMsg(new Error('disk full'), { file, line: 5, col: 7 })).toBeUndefined();
    expect(ansibleMsg(new TemplateError('plain'), { file, line: 5, col: 7 })).toBe('plain');
  });
});
