// The YAML inventory form: top-level keys are groups, each with `hosts`, `children` and `vars`, nested to
// any depth. Unlike Ansible, which warns and skips, a misspelt or misplaced key is an error that says where.
import { ValidationError, didYouMean, type SourcePos } from '../errors.js';
import { expandHostAt } from './host-name.js';
import type { InventoryGraph } from './graph.js';
import { posOf, posOfKey } from '../yaml/load.js';

const GROUP_KEYS = ['hosts', 'children', 'vars'] as const;

/** True when parsed YAML has the shape of an inventory: a mapping of group names (Ansible then reads it as YAML). */
export function looksLikeYamlInventory(data: unknown): data is Record<string, unknown> {
  return typeof data === 'object' && data !== null && !Array.isArray(data);
}

/** Adds the groups and hosts of a parsed YAML inventory to `graph`. */
export function readYamlInventory(data: Record<string, unknown>, file: string, graph: InventoryGraph, source: { file: string; dir: string | null }): void {
  if (Object.keys(data).length === 0) throw new ValidationError('the YAML inventory is an empty mapping', { pos: posOf(data) ?? { file, line: 1, col: 1 } });
  if ('plugin' in data) {
    throw new ValidationError(`this is an inventory plugin configuration (plugin: ${String(data.plugin)}), which imgplay does not run`, {
      pos: posOfKey(data, 'plugin'),
      hint: 'list the hosts in a YAML or INI inventory instead',
    });
  }
  for (const [name, body] of Object.entries(data)) readGroup(name, body, [name], data, graph, source);
}

function readGroup(
  name: string,
  body: unknown,
  path: string[],
  holder: Record<string, unknown>,
  graph: InventoryGraph,
  source: { file: string; dir: string | null },
): string {
  const at = posOfKey(holder, name);
  if (body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw new ValidationError(`group '${name}' at ${path.join('.')} must be a mapping with hosts, children or vars, got ${kind(body)}`, {
      pos: at,
      hint: Array.isArray(body) ? `write its hosts as a mapping:\n  ${name}:\n    hosts:\n      host1:\n      host2:` : undefined,
    });
  }
  graph.addGroup(name, at);
  if (body === null) return name;
  const group = body as Record<string, unknown>;
  for (const key of Object.keys(group)) {
    if ((GROUP_KEYS as readonly string[]).includes(key)) continue;
    const near = didYouMean(key, GROUP_KEYS);
    throw new ValidationError(`unknown key '${key}' in group '${name}' at ${[...path, key].join('.')}`, {
      pos: posOfKey(group, key),
      hint: near
        ? `did you mean '${near}'?`
        : `a group may only contain 'hosts', 'children' and 'vars'; a group inside a group goes under 'children:'`,
    });
  }
  const section = (key: (typeof GROUP_KEYS)[number]): Record<string, unknown> | undefined => {
    const value = group[key];
    if (value === null || value === undefined) return undefined;
    // Ansible accepts a single name written as a plain string.
    if (typeof value === 'string') return { [value]: null };
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ValidationError(`'${key}' of group '${name}' at ${[...path, key].join('.')} must be a mapping, got ${kind(value)}`, {
        pos: posOfKey(group, key),
        hint: Array.isArray(value) ? `write one '${(value[0] as string | undefined) ?? 'name'}:' per line instead of a list` : undefined,
      });
    }
    return value as Record<string, unknown>;
  };

  // Ansible walks the keys in the order they are written, which decides the order hosts are first seen in.
  for (const key of Object.keys(group) as (typeof GROUP_KEYS)[number][]) {
    const entries = section(key);
    if (!entries) continue;
    const entryPath = [...path, key];
    if (key === 'vars') {
      for (const [k, v] of Object.entries(entries)) graph.setGroupVar(name, k, v, posOfKey(entries, k));
    } else if (key === 'children') {
      for (const [child, childBody] of Object.entries(entries)) {
        readGroup(child, childBody, [...entryPath, child], entries, graph, source);
        graph.addChild(name, child, posOfKey(entries, child));
      }
    } else {
      for (const [pattern, vars] of Object.entries(entries)) readHost(pattern, vars, name, [...entryPath, pattern], entries, graph, source);
    }
  }
  return name;
}

function readHost(
  pattern: string,
  vars: unknown,
  group: string,
  path: string[],
  holder: Record<string, unknown>,
  graph: InventoryGraph,
  source: { file: string; dir: string | null },
): void {
  const pos: SourcePos | undefined = posOfKey(holder, pattern);
  if (vars !== null && (typeof vars !== 'object' || Array.isArray(vars))) {
    throw new ValidationError(`host '${pattern}' at ${path.join('.')} must map to its variables (or to nothing), got ${kind(vars)}`, {
      pos,
      hint: typeof vars === 'string' ? `to set its address write:\n  ${pattern}:\n    ansible_host: ${vars}` : undefined,
    });
  }
  const expanded = expandHostAt(pattern, pos);
  for (const host of expanded.hosts) {
    graph.addHost(host, group, { port: expanded.port, source, pos });
    for (const [k, v] of Object.entries((vars ?? {}) as Record<string, unknown>)) graph.setHostVar(host, k, v);
  }
}

function kind(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'nothing';
  if (typeof value === 'object') return 'a mapping';
  return `the ${typeof value} ${JSON.stringify(value)}`;
}
