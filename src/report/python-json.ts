// JSON text exactly as Python's json.dumps(sort_keys=True, ensure_ascii=False) writes it, so our
// result lines read like Ansible's.

/** Serialises like Python's json.dumps with sort_keys; indent as Python's (None: one line). */
export function pythonJson(value: unknown, indent?: number, level = 0): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? (Number.isInteger(value) ? String(value) : pyFloat(value)) : value > 0 ? 'Infinity' : Number.isNaN(value) ? 'NaN' : '-Infinity';
  if (typeof value === 'string') return JSON.stringify(value);
  const pad = indent === undefined ? '' : '\n' + ' '.repeat(indent * (level + 1));
  const end = indent === undefined ? '' : '\n' + ' '.repeat(indent * level);
  const sep = indent === undefined ? ', ' : ',';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return '[' + value.map((v) => pad + pythonJson(v, indent, level + 1)).join(sep) + end + ']';
  }
  const keys = Object.keys(value as object).sort();
  if (keys.length === 0) return '{}';
  return '{' + keys.map((k) => `${pad}${JSON.stringify(k)}: ${pythonJson((value as Record<string, unknown>)[k], indent, level + 1)}`).join(sep) + end + '}';
}

function pyFloat(n: number): string {
  const s = String(n);
  return s.includes('e') || s.includes('.') ? s : `${s}.0`;
}
