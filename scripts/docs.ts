// `npm run docs`: rewrites the generated sections of docs/modules.md from the module specs and the boot
// command line table of docs/netboot.md from src/boot/cmdline.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { regenerateNetbootDoc } from '../src/boot/cmdline.js';
import { moduleSpecs } from '../src/modules/index.js';
import { regenerateModulesDoc } from '../src/modules/spec-doc.js';

for (const [name, regenerate] of [
  ['modules.md', (text: string) => regenerateModulesDoc(text, moduleSpecs())],
  ['netboot.md', regenerateNetbootDoc],
] as const) {
  const file = new URL(`../docs/${name}`, import.meta.url);
  const before = readFileSync(file, 'utf8');
  const after = regenerate(before);
  if (after !== before) writeFileSync(file, after);
  console.log(after === before ? `docs/${name} is current` : `docs/${name} rewritten`);
}
