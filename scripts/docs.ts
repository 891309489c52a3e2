// `npm run docs`: rewrites the generated sections of docs/modules.md from the module specs.
import { readFileSync, writeFileSync } from 'node:fs';
import { moduleSpecs } from '../src/modules/index.js';
import { regenerateModulesDoc } from '../src/modules/spec-doc.js';

const file = new URL('../docs/modules.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = regenerateModulesDoc(before, moduleSpecs());
if (after !== before) writeFileSync(file, after);
console.log(after === before ? 'docs/modules.md is current' : 'docs/modules.md rewritten');
