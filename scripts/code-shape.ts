// The shape of src/ in numbers, for issue notes and reviews: the largest files and the longest functions (by lines,
// with the TypeScript compiler's own parser, so arrows and methods count too). Usage: npx tsx scripts/code-shape.ts [N]
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');
const top = Number(process.argv[2] ?? 10);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

const sizes: Array<[string, number]> = [];
const functions: Array<[string, number]> = [];
for (const file of files(join(root, 'src'))) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(root, file);
  sizes.push([rel, text.split('\n').length - (text.endsWith('\n') ? 1 : 0)]);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : ts.isArrowFunction(node) ? '(arrow)' : '(anonymous)';
      functions.push([`${rel}:${start + 1} ${name}`, end - start + 1]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
sizes.sort((a, b) => b[1] - a[1]);
functions.sort((a, b) => b[1] - a[1]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(`src/: ${sizes.length} files, median ${median(sizes.map((s) => s[1]))} lines, ${sizes.reduce((n, s) => n + s[1], 0)} lines in all`);
console.log(`\nlargest files:`);
for (const [f, n] of sizes.slice(0, top)) console.log(`  ${String(n).padStart(5)}  ${f}`);
console.log(`\nlongest functions:`);
for (const [f, n] of functions.slice(0, top)) console.log(`  ${String(n).padStart(5)}  ${f}`);
