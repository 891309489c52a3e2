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

/** A task's loop_control, templated once per host before the loop (as ansible-core 2.14; `label` is per item). */
export interface LoopControl {
  readonly loopVar: string;
  readonly indexVar?: string | undefined;
  /** Seconds to wait between two items. */
  readonly pause: number;
  readonly extended: boolean;
  readonly extendedAllitems: boolean;
}

const LOOP_CONTROL_KEYS = new Set(['loop_var', 'index_var', 'label', 'pause', 'extended', 'extended_allitems']);

/** Reads loop_control with `template` (the host's variables); unknown keys are refused as Ansible refuses them. */
export function loopControlOf(lc: Readonly<Record<string, unknown>> | undefined, template: (v: unknown) => unknown, node: TaskNode | IncludeNode): LoopControl {
  const fail = (msg: string) => new ImgplayError(msg, { pos: node.pos });
  for (const key of Object.keys(lc ?? {})) if (!LOOP_CONTROL_KEYS.has(key)) throw fail(`'${key}' is not a valid attribute for a LoopControl`);
  const get = (k: string) => (lc?.[k] === undefined || lc[k] === null ? undefined : template(lc[k]));
  const loopVar = get('loop_var');
  const indexVar = get('index_var');
  const pause = get('pause');
  const pauseSeconds = pause === undefined ? 0 : Number(pause);
  if (!Number.isFinite(pauseSeconds) || pauseSeconds < 0) throw fail(`loop_control.pause: ${JSON.stringify(pause)} is not a number of seconds`);
  return {
    loopVar: loopVar === undefined ? 'item' : String(loopVar),
    indexVar: indexVar === undefined ? undefined : String(indexVar),
    pause: pauseSeconds,
    extended: yes(get('extended') ?? false),
    extendedAllitems: yes(get('extended_allitems') ?? true),
  };
}

/** The variables one loop item adds: the loop variable, the index variable and `ansible_loop` (with extended). */
export function loopItemVars(ctl: LoopControl, items: readonly unknown[], index: number): Record<string, unknown> {
  const out: Record<string, unknown> = { [ctl.loopVar]: items[index], ansible_loop_var: ctl.loopVar };
  if (ctl.indexVar !== undefined) {
    out[ctl.indexVar] = index;
    out.ansible_index_var = ctl.indexVar;
  }
  if (ctl.extended) {
    const n = items.length;
    const loop: Record<string, unknown> = { index: index + 1, index0: index, first: index === 0, last: index + 1 === n, length: n, revindex: n - index, revindex0: n - index - 1 };
    if (ctl.extendedAllitems) loop.allitems = items;
    if (index + 1 < n) loop.nextitem = items[index + 1];
    if (index > 0) loop.previtem = items[index - 1];
    out.ansible_loop = loop;
  }
  return out;
}

function yes(v: unknown): boolean {
  if (typeof v === 'string') return ['yes', 'on', '1', 'true', 'y', 't'].includes(v.trim().toLowerCase());
  return Boolean(v);
}
