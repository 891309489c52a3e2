// Turns a task's `loop` / `with_<lookup>` value into the list of items it iterates, as Ansible does.
import { ImgplayError } from '../errors.js';
import type { IncludeNode, TaskNode } from '../playbook/model.js';

/** The items of a loop; kind is 'loop' or the lookup of `with_<lookup>`. */
export function loopItems(kind: string, value: unknown, node: TaskNode | IncludeNode): unknown[] {
  const fail = (msg: string) => new ImgplayError(msg, { pos: node.pos });
  switch (kind) {
    case 'loop':
    case 'list':
      if (!Array.isArray(value)) {
        throw fail(`Invalid data passed to 'loop', it requires a list, got this instead: ${JSON.stringify(value)}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.`);
      }
      return value;
    case 'items':
      // with_items flattens one level, and a lone string is one item.
      if (value === null || value === undefined) return [];
      return (Array.isArray(value) ? value : [value]).flatMap((v) => (Array.isArray(v) ? v : [v]));
    case 'flattened':
      return flatten(Array.isArray(value) ? value : [value]);
    case 'indexed_items':
      return (Array.isArray(value) ? value : [value]).flatMap((v) => (Array.isArray(v) ? v : [v])).map((v, i) => [i, v]);
    case 'dict':
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw fail("with_dict expects a dict");
      return Object.entries(value).map(([key, v]) => ({ key, value: v }));
    case 'together': {
      const lists = (Array.isArray(value) ? value : [value]).map((l) => (Array.isArray(l) ? l : [l]));
      const n = Math.max(0, ...lists.map((l) => l.length));
      return Array.from({ length: n }, (_, i) => lists.map((l) => (i < l.length ? l[i] : null)));
    }
    case 'sequence':
      return sequence(value, fail);
    default:
      throw fail(`with_${kind} is not supported by imgplay`);
  }
}

function flatten(list: unknown[]): unknown[] {
  return list.flatMap((v) => (Array.isArray(v) ? flatten(v) : [v]));
}

function sequence(value: unknown, fail: (msg: string) => Error): string[] {
  const spec = Array.isArray(value) ? String(value[0]) : String(value);
  const kv: Record<string, string> = {};
  const short = /^(\d+)-(\d+)(?:\/(\d+))?(?::(.*))?$/.exec(spec.trim());
  if (short) Object.assign(kv, { start: short[1], end: short[2], stride: short[3] ?? '1', format: short[4] ?? '%d' });
  else for (const part of spec.split(/\s+/)) {
    const [k, v] = part.split('=');
    if (k && v !== undefined) kv[k] = v;
  }
  const start = Number(kv.start ?? 1);
  const stride = Number(kv.stride ?? 1);
  const end = kv.count !== undefined ? start + (Number(kv.count) - 1) * stride : Number(kv.end);
  if (![start, end, stride].every(Number.isFinite) || stride === 0) throw fail(`with_sequence: cannot understand '${spec}'`);
  const fmt = kv.format ?? '%d';
  const out: string[] = [];
  for (let i = start; stride > 0 ? i <= end : i >= end; i += stride) out.push(fmt.replace(/%0?(\d*)d/, (m, w: string) => String(i).padStart(Number(w || 0), m.startsWith('%0') ? '0' : ' ')));
  return out;
}
