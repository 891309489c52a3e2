import { describe, expect, it } from 'vitest';
import type { TaskNode } from '../../../src/playbook/model.js';
import { TaskSelection } from '../../../src/run/task-select.js';

const task = (name: string, tags: string[] = [], role?: string): TaskNode =>
  ({ kind: 'task', name, action: 'debug', args: {}, notify: [], listen: [], when: [], tags, vars: {}, pos: { file: 'p.yml', line: 1, col: 1 }, baseDir: '.', ...(role ? { role: { name: role } } : {}) }) as TaskNode;

describe('the tasks a run selects', () => {
  it('follows --tags and --skip-tags, with the tags a task inherits', () => {
    const s = new TaskSelection({ tags: ['web'], skipTags: ['slow'] });
    expect(s.selects(task('a', ['web']), [], false)).toBe(true);
    expect(s.selects(task('b'), ['web'], false)).toBe(true);
    expect(s.selects(task('c', ['web', 'slow']), [], false)).toBe(false);
    expect(s.selects(task('d'), [], false)).toBe(false);
  });

  it('runs a notified handler whatever the tags say', () => {
    expect(new TaskSelection({ tags: ['web'], skipTags: [] }).selects(task('h'), [], true)).toBe(true);
  });

  it('skips the tasks before --start-at-task, then runs everything after it', () => {
    const s = new TaskSelection({ tags: [], skipTags: [], startAtTask: 'second' });
    expect(s.selects(task('first'), [], false)).toBe(false);
    expect(s.selects(task('second'), [], false)).toBe(true);
    expect(s.selects(task('first'), [], false)).toBe(true);
  });

  it("matches --start-at-task with the role's prefix, or as a shell pattern", () => {
    expect(new TaskSelection({ tags: [], skipTags: [], startAtTask: 'web : start' }).selects(task('start', [], 'web'), [], false)).toBe(true);
    const glob = new TaskSelection({ tags: [], skipTags: [], startAtTask: 'inst*' });
    expect(glob.selects(task('configure'), [], false)).toBe(false);
    expect(glob.selects(task('install nginx'), [], false)).toBe(true);
  });
});
