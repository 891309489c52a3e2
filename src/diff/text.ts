// `imgplay diff` as a boot server operator reads it before rolling a build out: what came and went,
// then per artifact whether its bytes changed, its size, its packages and its recorded fields, then
// (with --files) the first files that differ.
import type { PackageDelta } from '../image/dpkg-status.js';
import { formatBytes } from '../image/free-space.js';
import { printable } from '../yaml/load.js';
import type { ArtifactComparison, ArtifactRef, ManifestDiff } from './compare.js';
import type { FileChange } from './contents.js';

/** The file-level result for one artifact: the changes, or why there are none to show. */
export interface FilesResult {
  changes?: FileChange[];
  /** Owners were not compared (unsquashfs not run as root). */
  ownersUncompared?: true;
  /** Why the files were not compared (a kernel, say). */
  note?: string;
}

/** The whole report: the two manifests, the comparison, and per changed artifact (b's name) its files. */
export interface DiffReport {
  a: string;
  b: string;
  identical: boolean;
  diff: ManifestDiff;
  files: Map<string, FilesResult>;
}

/** The report as text; `maxFiles` differing files are listed per artifact. */
export function formatDiff(r: DiffReport, maxFiles: number): string {
  const lines: string[] = [`--- ${r.a}`, `+++ ${r.b}`];
  const d = r.diff;
  if (r.identical) {
    lines.push(`identical: ${d.same.length} artifact(s), the same bytes and the same manifest entries`);
    return lines.map((l) => printable(l)).join('\n') + '\n';
  }
  for (const a of d.removed) lines.push(`removed  ${a.name} (${a.kind}, ${formatBytes(a.size)})`);
  for (const a of d.added) lines.push(`added    ${a.name} (${a.kind}, ${formatBytes(a.size)})`);
  for (const c of d.changed) lines.push('', ...artifactLines(c, r.files.get(c.b.name), maxFiles));
  if (d.same.length > 0) lines.push('', `unchanged: ${d.same.map((s) => s.name).join(', ')}`);
  lines.push('', `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.same.length} unchanged`);
  // Names and paths come from the archives: a newline or an escape sequence in one must not act on the terminal.
  return lines.map((l) => printable(l)).join('\n') + '\n';
}

// Labels and recorded field names line up: sourceDateEpoch is the longest.
const WIDTH = 'sourceDateEpoch'.length;

function artifactLines(c: ArtifactComparison, files: FilesResult | undefined, maxFiles: number): string[] {
  const out = [`${c.kind} ${c.renamed ? `${c.a.name} -> ${c.b.name}` : c.b.name}`];
  out.push(`  ${'bytes'.padEnd(WIDTH)} ${c.sameBytes ? 'the same' : `differ (sha256 ${c.a.sha256.slice(0, 12)}… -> ${c.b.sha256.slice(0, 12)}…)`}`);
  if (c.sizeDelta !== 0) out.push(`  ${'size'.padEnd(WIDTH)} ${sizeLine(c.a, c.b, c.sizeDelta)}`);
  if (c.packagesOnlyIn !== undefined) out.push(`  ${'packages'.padEnd(WIDTH)} listed in ${c.packagesOnlyIn === 'a' ? 'the first' : 'the second'} manifest only`);
  if (c.packages !== undefined) out.push(...packageLines(c.packages));
  for (const f of c.fields) out.push(`  ${f.field.padEnd(WIDTH)} ${show(f.a)} -> ${show(f.b)}`);
  if (files !== undefined) out.push(...fileLines(files, maxFiles));
  return out;
}

function sizeLine(a: ArtifactRef, b: ArtifactRef, delta: number): string {
  const sign = delta > 0 ? '+' : '-';
  return `${formatBytes(a.size)} -> ${formatBytes(b.size)} (${sign}${Math.abs(delta)} bytes, ${sign}${formatBytes(Math.abs(delta))})`;
}

function packageLines(p: PackageDelta): string[] {
  const n = p.added.length + p.removed.length + p.changed.length;
  if (n === 0) return [];
  const out = [`  ${'packages'.padEnd(WIDTH)} ${p.changed.length} changed, ${p.added.length} added, ${p.removed.length} removed`];
  for (const c of p.changed) out.push(`    ~ ${c.name}:${c.arch} ${c.from} -> ${c.to}`);
  for (const a of p.added) out.push(`    + ${a.name}:${a.arch} ${a.version}`);
  for (const r of p.removed) out.push(`    - ${r.name}:${r.arch} ${r.version}`);
  return out;
}

function fileLines(files: FilesResult, maxFiles: number): string[] {
  if (files.note !== undefined) return [`  ${'files'.padEnd(WIDTH)} ${files.note}`];
  const changes = files.changes ?? [];
  const count = (k: FileChange['change']) => changes.filter((c) => c.change === k).length;
  const head = `  ${'files'.padEnd(WIDTH)} ${count('changed')} changed, ${count('added')} added, ${count('removed')} removed${files.ownersUncompared ? ' (owners not compared: run as root to compare them)' : ''}`;
  const out = [head];
  if (changes.length === 0) out.push('    (no file differs in type, mode, owner, size, link target or content: times, order or compression do)');
  for (const c of changes.slice(0, maxFiles)) {
    const path = c.path === '.' ? '/' : `/${c.path}`;
    if (c.change === 'added') out.push(`    + ${path} (${c.type})`);
    else if (c.change === 'removed') out.push(`    - ${path} (${c.type})`);
    else out.push(`    ~ ${path}: ${(c.fields ?? []).map((f) => (f.field === 'content' ? 'content' : `${f.field} ${f.a} -> ${f.b}`)).join(', ')}`);
  }
  if (changes.length > maxFiles) out.push(`    ... and ${changes.length - maxFiles} more (--max-files, or --json for all)`);
  return out;
}

// Digests shortened as git shortens commits; an overlay's base as its name and digest. --json has them whole.
function show(v: unknown): string {
  if (v === undefined) return '(none)';
  if (v !== null && typeof v === 'object' && 'name' in v && 'sha256' in v) return `${String(v.name)} (sha256 ${short(String(v.sha256))})`;
  return short(typeof v === 'string' ? v : JSON.stringify(v));
}

function short(text: string): string {
  return text.replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1…');
}
