// Which tasks a run selects: by --tags/--skip-tags, and none before --start-at-task's first match.
import { roleLabel, type IncludeNode, type TaskNode } from '../playbook/model.js';
import { selectedByTags } from '../playbook/tags.js';
import type { RunOptions } from './state.js';

/** The run's task selection; remembers whether --start-at-task's task was reached. */
export class TaskSelection {
  private startAtFound: boolean;

  constructor(private readonly opts: Pick<RunOptions, 'tags' | 'skipTags' | 'startAtTask'>) {
    this.startAtFound = opts.startAtTask === undefined;
  }

  /** Whether a task (with the tags it inherits) runs; handlers are chosen by notification, not selection. */
  selects(node: TaskNode | IncludeNode, inherited: readonly string[], handler: boolean): boolean {
    if (handler) return true;
    if (!selectedByTags([...inherited, ...node.tags], this.opts.tags, this.opts.skipTags)) return false;
    if (!this.startAtFound) {
      const start = this.opts.startAtTask!;
      const name = node.name ?? '';
      const full = node.role ? `${roleLabel(node.role)} : ${name}` : name;
      if (name === start || full === start || globMatch(start, full) || globMatch(start, name)) this.startAtFound = true;
      else return false;
    }
    return true;
  }
}

// --start-at-task as a shell pattern (fnmatch), when it holds one.
function globMatch(pattern: string, text: string): boolean {
  if (!/[*?[]/.test(pattern)) return false;
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(text);
}
