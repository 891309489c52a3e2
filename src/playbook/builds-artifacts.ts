// Whether a playbook is an image build: a play uses a module that makes artifacts (src/image/source-date.ts
// then pins the build's SOURCE_DATE_EPOCH).
import { ARTIFACT_MODULES } from '../image/source-date.js';
import type { Node, Playbook } from './model.js';

/** True when the playbook's plays (imports expanded; roles included at run time not seen) use an artifact module. */
export function buildsArtifacts(playbook: Playbook): boolean {
  const uses = (nodes: readonly Node[]): boolean =>
    nodes.some((n) => (n.kind === 'task' ? ARTIFACT_MODULES.has(n.action) : n.kind === 'block' ? uses(n.block) || uses(n.rescue) || uses(n.always) : false));
  return playbook.plays.some((p) => uses(p.pre_tasks) || uses(p.tasks) || uses(p.post_tasks) || uses(p.handlers));
}
