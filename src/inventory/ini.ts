// The INI inventory form, read line by line as Ansible's ini plugin does: `[group]` hosts with `key=value`
// Python-literal vars, `[group:vars]`, `[group:children]` (which may name groups declared further down).
import { registerSource } from '../yaml/load.js';
import { ParseError, ValidationError, type SourcePos } from '../errors.js';
import { expandHostAt } from './host-name.js';
import type { InventoryGraph } from './graph.js';
import { literalEval } from './python-literal.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

interface Pending {
  line: number;
  state: 'vars' | 'children';
  parents: string[];
}

/** Adds the hosts, groups and variables of an INI inventory text to `graph`. */
export function parseIniInventory(text: string, file: string, graph: InventoryGraph, source: { file: string; dir: string | null }): void {
  registerSource(file, text);
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state = 'hosts';
  const lines = text.split(/\r\n|\n|\r/);
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const line = raw.trim();
    const pos: SourcePos = { file, line: n + 1, col: raw.length - raw.trimStart().length + 1 };
    if (line === '' || line[0] === '#' || line[0] === ';') continue;

    const section = SECTION.exec(line);
    if (section) {
      group = section[1]!;
      state = section[2] ?? 'hosts';
      if (!['hosts', 'children', 'vars'].includes(state)) {
        throw new ParseError(`section [${group}:${state}] has an unknown type '${state}'`, {
          pos,
          hint: 'a section is [group] for hosts, [group:vars] for variables or [group:children] for child groups',
        });
      }
      if (!graph.groups.has(group)) {
        // [g:vars] alone does not declare g: it must be declared somewhere in the file.
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line: n + 1, state: 'vars', parents: [] });
        graph.addGroup(group, pos);
      }
      const waiting = pending.get(group);
      if (waiting && state !== 'vars') {
        if (waiting.state === 'children') addPendingChildren(graph, group, pending);
        else pending.delete(group);
      }
      continue;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      throw new ParseError(`invalid section header '${line}'`, {
        pos,
        hint: 'a section header is [group], [group:vars] or [group:children], with no spaces inside the brackets',
      });
    }

    if (state === 'hosts') parseHostLine(line, pos, group, graph, source);
    else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) throw new ParseError(`expected key=value in [${group}:vars], got '${line}'`, { pos });
      graph.setGroupVar(group, line.slice(0, eq).trim(), iniValue(line.slice(eq + 1).trim()), pos);
    } else {
      const m = GROUP_NAME.exec(line);
      if (!m) throw new ParseError(`expected one group name per line in [${group}:children], got '${line}'`, { pos });
      const child = m[1]!;
      if (graph.groups.has(child)) graph.addChild(group, child, pos);
      else {
        const waiting = pending.get(child);
        if (waiting) waiting.parents.push(group);
        else pending.set(child, { line: n + 1, state: 'children', parents: [group] });
      }
    }
  }
  for (const [name, decl] of pending) {
    const pos = { file, line: decl.line, col: 1 };
    if (decl.state === 'vars') {
      throw new ValidationError(`section [${name}:vars] is for a group that is never declared`, {
        pos,
        hint: `declare it with a [${name}] or [${name}:children] section, or as a child of another group`,
      });
    }
    throw new ValidationError(`section [${decl.parents.at(-1)}:children] includes '${name}', which is not declared as a group`, {
      pos,
      hint: `declare it with a [${name}] section; [group:children] lists groups, not hosts`,
    });
  }
}

function addPendingChildren(graph: InventoryGraph, group: string, pending: Map<string, Pending>): void {
  for (const parent of pending.get(group)!.parents) {
    graph.addChild(parent, group);
    if (pending.get(parent)?.state === 'children') addPendingChildren(graph, parent, pending);
  }
  pending.delete(group);
}

function parseHostLine(line: string, pos: SourcePos, group: string, graph: InventoryGraph, source: { file: string; dir: string | null }): void {
  let tokens: string[];
  try {
    tokens = shlexSplit(line);
  } catch (err) {
    throw new ParseError(`cannot read host line '${line}': ${(err as Error).message}`, { pos });
  }
  const pattern = tokens[0];
  if (pattern === undefined) return;
  const expanded = expandHostAt(pattern, pos);
  if (pattern.trim().endsWith(':') && expanded.port === undefined) {
    throw new ParseError(`invalid host '${pattern}': it ends in ':', which is reserved for a port number`, {
      pos,
      hint: 'if this is a YAML inventory, give the file a .yml or .yaml extension',
    });
  }
  if (expanded.hosts.some((h) => h.trim() === '---')) {
    throw new ParseError(`invalid host '${pattern}': '---' is normally a sign that this is a YAML file`, {
      pos,
      hint: 'give a YAML inventory a .yml or .yaml extension, or check its structure',
    });
  }
  const vars: [string, unknown][] = [];
  for (const token of tokens.slice(1)) {
    const eq = token.indexOf('=');
    if (eq < 0) {
      throw new ParseError(`expected key=value host variables after '${pattern}', got '${token}'`, {
        pos,
        hint: 'quote a value that contains spaces: key="a value"',
      });
    }
    vars.push([token.slice(0, eq), iniValue(token.slice(eq + 1))]);
  }
  for (const name of expanded.hosts) {
    graph.addHost(name, group, { port: expanded.port, source, pos });
    for (const [k, v] of vars) graph.setHostVar(name, k, v);
  }
}

/** An INI value: a Python literal when it reads as one, else the text itself. */
export function iniValue(text: string): unknown {
  const lit = literalEval(text);
  return lit ? lit.value : text;
}

/** Splits a line into words as Python's shlex.split(line, comments=True) does: quotes group, `#` ends the line. */
export function shlexSplit(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') {
        const next = line[i + 1];
        if (next === undefined) throw new Error('no escaped character');
        // Inside double quotes a backslash only escapes a quote or a backslash.
        word += next === '"' || next === '\\' ? next : c + next;
        i++;
      } else word += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === '#') {
      break;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      const next = line[i + 1];
      if (next === undefined) throw new Error('no escaped character');
      word += next;
      inWord = true;
      i++;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new Error('no closing quotation');
  if (inWord) words.push(word);
  return words;
}
