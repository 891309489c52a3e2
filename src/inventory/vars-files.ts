// group_vars/ and host_vars/ lookups, as Ansible's host_group_vars plugin makes them: the first of `<name>`,
// `<name>.yml`, `<name>.yaml`, `<name>.json` that exists wins, and a directory contributes its files in sorted order.
import { readdir, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { ValidationError } from '../errors.js';
import { parseYaml, readInputText } from '../yaml/load.js';

const VARS_EXTENSIONS = ['', '.yml', '.yaml', '.json'];

/** The files that hold `<dir>/<name>`'s variables, in the order they are merged. */
export async function findVarsFiles(dir: string, name: string): Promise<string[]> {
  // Ansible skips names that are absolute paths (chroot-style hosts) rather than look outside the directory.
  if (name.startsWith(sep)) return [];
  for (const ext of VARS_EXTENSIONS) {
    const path = join(dir, name) + ext;
    const kind = await kindOf(path);
    if (kind === 'dir') return dirVarsFiles(path);
    if (kind === 'file') return [path];
  }
  return [];
}

async function dirVarsFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const path = join(dir, name);
    const ext = extname(name);
    const kind = await kindOf(path);
    if (kind === 'dir' && ext === '') found.push(...(await dirVarsFiles(path)));
    else if (kind === 'file' && VARS_EXTENSIONS.includes(ext)) found.push(path);
  }
  return found;
}

async function kindOf(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const st = await stat(path);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/** The variables of one vars file; empty files give nothing, anything but a mapping is an error. */
export async function loadVarsFile(file: string): Promise<Record<string, unknown>> {
  const text = await readText(file);
  const data = parseYaml(text, file);
  if (data === null || data === undefined || data === '' || data === false || data === 0) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ValidationError(`${file} must hold a mapping of variable names to values, got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`, {
      pos: { file, line: 1, col: 1 },
    });
  }
  return data as Record<string, unknown>;
}

/** Reads an inventory or vars file, refusing vault-encrypted or oversized content with a clear message. */
export async function readText(file: string): Promise<string> {
  return readInputText(file);
}
