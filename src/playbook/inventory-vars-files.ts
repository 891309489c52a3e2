// group_vars/ and host_vars/ lookups, as Ansible's host_group_vars plugin makes them: the first of `<name>`,
// `<name>.yml`, `<name>.yaml`, `<name>.json` that exists wins, and a directory contributes its files in sorted order.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { ParseError, ValidationError } from '../errors.js';
import { parseYaml } from './load.js';

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

/** Reads a text file, refusing vault-encrypted content with a clear message instead of a YAML error. */
export async function readText(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ParseError(code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (text.startsWith('$ANSIBLE_VAULT;')) {
    throw new ValidationError(`${file} is encrypted with ansible-vault, which imgplay does not support`, {
      pos: { file, line: 1, col: 1 },
      hint: 'decrypt it with `ansible-vault decrypt`, or pass the secrets another way',
    });
  }
  return text;
}
