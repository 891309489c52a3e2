// --list-tasks and --list-tags, printed as ansible-playbook prints them, from the plan alone.
import type { Inventory } from '../inventory/inventory.js';
import { roleLabel, type Node, type Playbook } from './model.js';
import { selectedByTags } from './tags.js';

interface ListOptions {
  tags: string[];
  skipTags: string[];
  inventory: Inventory;
  extraVars: Record<string, unknown>;
}

interface Listed {
  name: string;
  tags: string[];
}

function walk(nodes: readonly Node[], inherited: string[], out: Listed[]): void {
  for (const n of nodes) {
    const tags = [...new Set([...inherited, ...n.tags])];
    if (n.kind === 'block') {
      walk([...n.block, ...n.rescue, ...n.always], tags, out);
      continue;
    }
    const base = n.name ?? n.written ?? n.action;
    out.push({ name: n.role ? `${roleLabel(n.role)} : ${base}` : base, tags });
  }
}

function header(label: string): string {
  return `\nplaybook: ${label}\n`;
}

function playLine(index: number, play: Playbook['plays'][number]): string {
  return `\n  play #${index + 1} (${play.hosts.join(',')}): ${play.name}\tTAGS: [${[...play.tags].join(', ')}]\n`;
}

/** The text of --list-tasks. */
export function listTasks(pb: Playbook, label: string, opts: ListOptions): string {
  let text = header(label);
  pb.plays.forEach((play, i) => {
    text += playLine(i, play) + '    tasks:\n';
    const tasks: Listed[] = [];
    walk([...play.pre_tasks, ...play.tasks, ...play.post_tasks], [...play.tags], tasks);
    for (const t of tasks) {
      if (!selectedByTags(t.tags, opts.tags, opts.skipTags)) continue;
      text += `      ${t.name}\tTAGS: [${[...t.tags].sort().join(', ')}]\n`;
    }
  });
  return text;
}

/** The text of --list-tags. */
export function listTags(pb: Playbook, label: string, opts: ListOptions): string {
  let text = header(label);
  pb.plays.forEach((play, i) => {
    text += playLine(i, play);
    const tasks: Listed[] = [];
    walk([...play.pre_tasks, ...play.tasks, ...play.post_tasks], [...play.tags], tasks);
    const all = new Set<string>();
    for (const t of tasks) if (selectedByTags(t.tags, opts.tags, opts.skipTags)) for (const tag of t.tags) all.add(tag);
    text += `      TASK TAGS: [${[...all].sort().join(', ')}]\n`;
  });
  return text;
}
