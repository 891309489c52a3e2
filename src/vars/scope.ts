// Variables as a task sees them: layers merged by precedence, each value templated lazily on first
// use (as Ansible does), so `a: "{{ b }}"` works whatever order a and b were defined in.
import { TemplateError } from '../errors.js';
import { isTemplate, templateValue } from './template.js';

const hasTemplate = new WeakMap<object, boolean>();

/** True if a value holds a template string anywhere inside it (memoised for shared YAML values). */
export function needsTemplating(value: unknown): boolean {
  if (typeof value === 'string') return isTemplate(value);
  if (typeof value !== 'object' || value === null) return false;
  const known = hasTemplate.get(value);
  if (known !== undefined) return known;
  const found = Array.isArray(value)
    ? value.some(needsTemplating)
    : Object.entries(value).some(([k, v]) => isTemplate(k) || needsTemplating(v));
  hasTemplate.set(value, found);
  return found;
}

/**
 * Merges variable layers (lowest precedence first; later layers replace whole values, as Ansible's
 * default hash_behaviour) into one object whose templated values render on first read.
 * `plain` values (magic variables, loop items) are set as they are, above every layer.
 */
export function lazyVars(
  layers: ReadonlyArray<Readonly<Record<string, unknown>> | undefined>,
  plain: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) if (layer) Object.assign(merged, layer);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(merged)) {
    if (key in plain) continue;
    if (!needsTemplating(raw)) {
      out[key] = raw;
      continue;
    }
    let resolving = false;
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get() {
        if (resolving) throw new TemplateError(`recursive loop detected in template for variable '${key}'`);
        resolving = true;
        try {
          const value = templateValue(raw, out);
          Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
          return value;
        } finally {
          resolving = false;
        }
      },
    });
  }
  Object.assign(out, plain);
  return out;
}
