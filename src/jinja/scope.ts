// Variables as a task sees them: layers merged by precedence, each value templated lazily on first
// use (as Ansible does), so `a: "{{ b }}"` works whatever order a and b were defined in.
import { TemplateError } from '../errors.js';
import { hasTemplates } from './evaluate.js';
import { templateValue } from './template.js';

// Variables being rendered right now, outermost first. Each read of hostvars builds new variable objects, so a
// variable that refers to itself through hostvars is never seen twice by one object: a depth limit catches it,
// well before the stack runs out, and names the variables of the loop.
const resolvingNow: string[] = [];
const MAX_NESTING = 100;

// ": a -> b -> a", the shortest repeating tail of the chain of variables being rendered.
function cycleOf(chain: string[]): string {
  const last = chain[chain.length - 1];
  for (let i = chain.length - 2; i >= 0; i--) {
    if (chain[i] === last) return `: ${chain.slice(i).join(' -> ')}`;
  }
  return '';
}

/**
 * Merges variable layers (lowest precedence first; later layers replace whole values, as Ansible's
 * default hash_behaviour) into one object whose templated values render on first read.
 * `plain` values (magic variables, loop items) are set as they are, above every layer.
 * `leaveUndefined` (hostvars[x]): a value read from outside whose strings meet an undefined variable keeps
 * them as written, as Ansible's HostVarsVars (fail_on_undefined=False); a value read while another of the
 * object's values renders still fails, so that one is the string kept, as there.
 */
export function lazyVars(
  layers: ReadonlyArray<Readonly<Record<string, unknown>> | undefined>,
  plain: Readonly<Record<string, unknown>> = {},
  leaveUndefined = false,
): Record<string, unknown> {
  let depth = 0;
  const merged: Record<string, unknown> = {};
  for (const layer of layers) if (layer) Object.assign(merged, layer);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(merged)) {
    if (key in plain) continue;
    if (!hasTemplates(raw)) {
      out[key] = raw;
      continue;
    }
    let resolving = false;
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get() {
        if (resolving) throw new TemplateError(`recursive loop detected in template for variable '${key}'${cycleOf([...resolvingNow, key])}`);
        if (resolvingNow.length >= MAX_NESTING) {
          throw new TemplateError(`recursive loop detected in template for variable '${key}'${cycleOf([...resolvingNow, key])}`, {
            hint: `variables nest more than ${MAX_NESTING} deep; through hostvars a variable can refer to itself without being seen at once`,
          });
        }
        resolving = true;
        resolvingNow.push(key);
        depth++;
        try {
          const value = templateValue(raw, out, leaveUndefined && depth === 1 ? { undefinedLeavesText: true } : {});
          Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
          return value;
        } finally {
          depth--;
          resolving = false;
          resolvingNow.pop();
        }
      },
    });
  }
  Object.assign(out, plain);
  return out;
}
