// Loads variables from a YAML/JSON file (or a directory of them) at run time (Ansible's include_vars).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadYamlFile } from '../yaml/load.js';
import { defineModule } from './spec.js';
import type { ModuleResult } from './types.js';

const EXTENSIONS = ['yaml', 'yml', 'json'];

export const includeVars = defineModule(
  {
    name: 'include_vars',
    doc: {
      short: 'Loads variables from a YAML or JSON file, or a directory of them, while the play runs.',
      description:
        '`include_vars: file.yml` (free form), or `file`, or `dir`. A relative path is looked up as Ansible looks up `vars` files: the role\'s `vars/`, then beside the playbook. The variables are set on the host with the precedence Ansible gives included variables; with `name` they are gathered under that one variable instead.',
      returns: '`ansible_included_var_files` (the files read, in order). A file that does not hold a mapping fails the task (`... must be stored as a dictionary/hash`).',
      checkMode: 'Runs as usual: it only reads files on the build host.',
      differences: [
        '`dir` reads only the files directly inside it, sorted by name (Ansible walks subdirectories too, `depth: 0`), and skips files whose extension is not in `extensions` (as Ansible does with `ignore_unknown_extensions: true`; by default Ansible fails on them).',
        'An unknown argument is refused with `Unsupported parameters for (include_vars) module` (Ansible: `... is not a valid option in include_vars`).',
      ],
    },
    args: {
      _raw_params: { type: 'path', internal: true, description: 'The file (free form: `include_vars: file.yml`).' },
      file: { type: 'path', description: 'The file to load.' },
      dir: { type: 'path', description: 'A directory whose files (with one of `extensions`) are loaded in name order, later files overriding earlier ones.' },
      name: { description: 'The variable to gather the loaded variables under, instead of setting each one.' },
      depth: { type: 'int', description: 'How deep to walk `dir`.', refused: 'imgplay reads only the files directly inside `dir`.' },
      files_matching: { description: 'A regular expression the names of `dir`\'s files must match.', refused: 'imgplay loads every file of `dir` with one of `extensions`.' },
      ignore_files: { type: 'list', elements: 'str', description: 'Names in `dir` to leave out.', refused: 'imgplay loads every file of `dir` with one of `extensions`.' },
      extensions: {
        type: 'list',
        elements: 'str',
        description: 'The file extensions `dir` loads (default `yaml`, `yml`, `json`); files with other extensions are skipped.',
      },
      ignore_unknown_extensions: {
        type: 'bool',
        description: 'Whether files of `dir` with other extensions are passed over rather than failing; imgplay always passes them over.',
        refusedValues: { false: 'imgplay always passes over files of other extensions.' },
      },
      hash_behaviour: {
        choices: ['replace', 'merge'],
        description: 'Whether the loaded mappings replace or merge into variables of the same name; imgplay replaces.',
        refusedValues: { merge: 'imgplay replaces variables of the same name.' },
      },
    },
    freeForm: '_raw_params',
    checkMode: 'full',
    traits: { factsTo: 'include_vars', namesSet: (args) => (typeof args.name === 'string' ? [args.name] : 'any') },
  },
  async ({ args, findFile }): Promise<ModuleResult> => {
    // Ansible's action makes this check in its body, on the arguments as given.
    const fileOnly = args.file !== undefined || args._raw_params !== undefined;
    const dirOnly = [args.dir, args.depth, args.files_matching, args.ignore_files, args.extensions, args.ignore_unknown_extensions].some((a) => a !== undefined);
    if (fileOnly && dirOnly) return { failed: true, msg: 'You are mixing file only and dir only arguments, these are incompatible' };
    const files: string[] = [];
    const source = args.file ?? args._raw_params;
    if (args.dir !== undefined) {
      const extensions = args.extensions ?? EXTENSIONS;
      const dir = await findFile('vars', args.dir);
      const names = (await readdir(dir)).sort();
      for (const n of names) {
        const ext = n.includes('.') ? n.slice(n.lastIndexOf('.') + 1) : '';
        if (extensions.includes(ext) && (await stat(join(dir, n))).isFile()) files.push(join(dir, n));
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
    return { changed: false, ansible_facts: facts, ansible_included_var_files: files };
  },
);
