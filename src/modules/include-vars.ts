// Loads variables from a YAML/JSON file (or a directory of them) at run time (Ansible's include_vars).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadYamlFile } from '../playbook/load.js';
import type { Module, ModuleResult } from './types.js';

interface IncludeVarsArgs {
  _raw_params?: string;
  file?: string;
  dir?: string;
  name?: string;
  extensions: string[];
}

export const includeVars: Module<IncludeVarsArgs> = {
  name: 'include_vars',
  aliases: ['ansible.builtin.include_vars'],
  freeForm: '_raw_params',
  schema: {
    type: 'object',
    properties: {
      _raw_params: { type: 'string' },
      file: { type: 'string' },
      dir: { type: 'string' },
      name: { type: 'string' },
      extensions: { type: 'array', items: { type: 'string' }, default: ['yaml', 'yml', 'json'] },
    },
    additionalProperties: false,
  },
  checkMode: true,
  async run({ args, findFile }): Promise<ModuleResult> {
    const files: string[] = [];
    const source = args.file ?? args._raw_params;
    if (args.dir !== undefined) {
      const dir = await findFile('vars', args.dir);
      const names = (await readdir(dir)).sort();
      for (const n of names) {
        const ext = n.includes('.') ? n.slice(n.lastIndexOf('.') + 1) : '';
        if (args.extensions.includes(ext) && (await stat(join(dir, n))).isFile()) files.push(join(dir, n));
      }
    } else if (source !== undefined) {
      files.push(await findFile('vars', source));
    } else {
      return { failed: true, msg: 'one of file, dir or a free-form file name is required' };
    }
    const vars: Record<string, unknown> = {};
    for (const f of files) {
      const data = await loadYamlFile(f);
      if (data === null) continue;
      if (typeof data !== 'object' || Array.isArray(data)) {
        return { failed: true, msg: `${f} must be stored as a dictionary/hash` };
      }
      Object.assign(vars, data);
    }
    const facts = args.name !== undefined ? { [args.name]: vars } : vars;
    return { changed: false, ansible_facts: facts, ansible_included_var_files: files, _include_vars: true };
  },
};
