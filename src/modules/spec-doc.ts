// A module's documentation, written from its spec: a Markdown section for docs/modules.md and the
// plain text `imgplay doc MODULE` prints, as ansible-doc does.
import { namesOf, type ArgSpec, type ModuleSpec } from './spec.js';

const CHECK: Record<ModuleSpec['checkMode'], string> = {
  full: 'full (predicts its changes without making them)',
  partial: 'partial',
  none: 'none (the task is skipped under --check)',
};

function typeText(a: ArgSpec): string {
  const type = a.type ?? 'str';
  return type === 'list' ? `list of ${a.elements ?? 'str'}` : type;
}

function defaultText(a: ArgSpec): string {
  if (a.default === undefined) return '';
  return typeof a.default === 'string' ? a.default : JSON.stringify(a.default);
}

function visibleArgs(spec: ModuleSpec): [string, ArgSpec][] {
  return Object.entries(spec.args).filter(([, a]) => !a.internal);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
}

function relations(spec: ModuleSpec): string[] {
  const out: string[] = [];
  for (const t of spec.mutuallyExclusive ?? []) out.push(`${t.map((k) => `\`${k}\``).join(', ')} exclude each other.`);
  for (const t of spec.requiredTogether ?? []) out.push(`${t.map((k) => `\`${k}\``).join(', ')} go together.`);
  for (const t of spec.requiredOneOf ?? []) out.push(`One of ${t.map((k) => `\`${k}\``).join(', ')} is required.`);
  for (const [k, v, r, any] of spec.requiredIf ?? []) out.push(`\`${k}: ${String(v)}\` needs ${any ? 'one of' : ''} ${r.map((x) => `\`${x}\``).join(', ')}.`.replace('  ', ' '));
  for (const [k, r] of Object.entries(spec.requiredBy ?? {})) out.push(`\`${k}\` needs ${r.map((x) => `\`${x}\``).join(', ')}.`);
  return out;
}

/** The Markdown section of docs/modules.md for one module. */
export function moduleMarkdown(spec: ModuleSpec): string {
  const lines = [`## ${spec.name}`, '', spec.doc.short, ''];
  if (spec.doc.description) lines.push(spec.doc.description, '');
  lines.push(`Names: ${[spec.name, ...namesOf(spec)].map((n) => `\`${n}\``).join(', ')}. Check mode: ${CHECK[spec.checkMode]}.${spec.diff ? ' Shows a diff under --diff.' : ''}`, '');
  const args = visibleArgs(spec);
  if (args.length > 0) {
    lines.push('| argument | type | default | meaning |', '|---|---|---|---|');
    for (const [name, a] of args) {
      const names = [name, ...(a.aliases ?? [])].map((n) => `\`${n}\``).join(', ');
      const choices = a.choices ? ` One of ${a.choices.map((c) => `\`${String(c)}\``).join(', ')}.` : '';
      const required = a.required ? ' Required.' : '';
      const refused = a.refused ? ` Refused: ${a.refused}` : '';
      const refusedValues = Object.entries(a.refusedValues ?? {})
        .map(([v, why]) => ` \`${v}\` is refused: ${why}`)
        .join('');
      lines.push(`| ${names} | ${typeText(a)} | ${cell(defaultText(a) === '' ? '' : `\`${defaultText(a)}\``)} | ${cell(a.description + required + choices + refused + refusedValues)} |`);
    }
    lines.push('');
  }
  const rel = relations(spec);
  if (spec.passesOn) rel.unshift(`Other arguments are handed on: ${spec.passesOn}`);
  if (rel.length > 0) lines.push(rel.join(' '), '');
  if (spec.doc.returns) lines.push(`Returns: ${spec.doc.returns}`, '');
  if (spec.doc.checkMode) lines.push(`Check mode: ${spec.doc.checkMode}`, '');
  if (spec.doc.differences?.length) {
    lines.push('Differences from Ansible:');
    for (const d of spec.doc.differences) lines.push(`- ${d}`);
    lines.push('');
  }
  return lines.join('\n');
}

function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.replace(/`/g, '').split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(indent + line);
  return out;
}

/** What `imgplay doc MODULE` prints: ansible-doc's layout ('=' marks a required argument, '-' an optional one). */
export function moduleText(spec: ModuleSpec, width = 80): string {
  const full = namesOf(spec)[0]!;
  const out = [`> ${full.toUpperCase()}`, '', ...wrap(spec.doc.short + (spec.doc.description ? ` ${spec.doc.description}` : ''), width, '  '), ''];
  const args = visibleArgs(spec);
  if (args.length > 0) out.push('OPTIONS (= is mandatory):', '');
  for (const [name, a] of args) {
    out.push(`${a.required ? '=' : '-'} ${name}`);
    out.push(...wrap(a.description, width, '    '));
    if (a.aliases?.length) out.push(`    aliases: [${a.aliases.join(', ')}]`);
    if (a.choices) out.push(`    choices: [${a.choices.map(String).join(', ')}]`);
    if (a.default !== undefined) out.push(`    default: ${defaultText(a)}`);
    if (a.refused) out.push(...wrap(`refused: ${a.refused}`, width, '    '));
    for (const [v, why] of Object.entries(a.refusedValues ?? {})) out.push(...wrap(`refused value ${v}: ${why}`, width, '    '));
    out.push(`    type: ${typeText(a)}`, '');
  }
  const rel = relations(spec);
  if (spec.passesOn) rel.unshift(`Other arguments are handed on: ${spec.passesOn}`);
  if (rel.length > 0) out.push('RULES:', ...rel.flatMap((r) => wrap(r, width, '  ')), '');
  out.push(`CHECK MODE: ${CHECK[spec.checkMode]}`);
  if (spec.doc.checkMode) out.push(...wrap(spec.doc.checkMode, width, '  '));
  out.push('');
  if (spec.doc.returns) out.push('RETURNS:', ...wrap(spec.doc.returns, width, '  '), '');
  if (spec.doc.differences?.length) {
    out.push('DIFFERENCES FROM ANSIBLE:');
    for (const d of spec.doc.differences) out.push(...wrap(d, width, '  ').map((l, i) => (i === 0 ? `- ${l.slice(2)}` : l)));
    out.push('');
  }
  return out.join('\n');
}

const BEGIN = (name: string) => `<!-- generated from the ${name} module's spec: edit src/modules, then npm run docs -->`;
const END = '<!-- end of generated section -->';

/** docs/modules.md with every generated section rewritten from the specs (sections for specs without one are appended). */
export function regenerateModulesDoc(current: string, specs: readonly ModuleSpec[]): string {
  let text = current;
  for (const spec of specs) {
    const section = `${BEGIN(spec.name)}\n${moduleMarkdown(spec)}${END}`;
    const start = text.indexOf(BEGIN(spec.name));
    if (start < 0) {
      text = `${text.replace(/\n*$/, '')}\n\n${section}\n`;
      continue;
    }
    const end = text.indexOf(END, start);
    text = text.slice(0, start) + section + text.slice(end < 0 ? text.length : end + END.length);
  }
  return text;
}
