// The entry to Ansible's expression language (evaluate.ts) for the rest of imgplay. Importing it here also loads
// the renderer and the lookups, which bind themselves into the evaluator as they load (late-bound.ts).
import './template.js';

export * from './evaluate.js';
