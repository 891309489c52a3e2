// Loads variables from a YAML/JSON file (or a directory of them) at run time (Ansible's include_vars).
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ImgplayError } from '../errors.js';
import { warn } from '../host/warnings.js';
import { noteRead } from '../host/reads.js';
import { mergeHash, pyRegex } from '../jinja/filters.js';
import { isMapping, pyTypeName } from '../jinja/values.js';
import { loadYamlFile } from '../yaml/load.js';
import { defineModule } from './spec.js';
import type { ModuleContext, ModuleResult } from './types.js';

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
        'An unknown argument is refused with `Unsupported parameters for (include_vars) module` (Ansible: `... is not a valid option in include_vars`).',
      ],
    },
    args: {
      _raw_params: { type: 'path', internal: true, description: 'The file (free form: `include_vars: file.yml`).' },
      file: { type: 'path', description: 'The file to load.' },
      dir: {
        type: 'path',
        description:
          "A directory whose files are loaded, later ones overriding earlier ones: its subdirectories too, folder by folder in the order of their paths, each folder's files by name. A relative `dir` is the role's `vars/<dir>` in a role (or `<role>/<dir>` when it starts with `vars/` and exists there), else beside the file that holds the task.",
      },
      name: { description: 'The variable to gather the loaded variables under, instead of setting each one.' },
      depth: {
        type: 'int',
        description: "How many folders of `dir` to read, in the order they are walked (the order of their paths, `dir` itself first); `0` (the default): all. As in Ansible it counts folders, not levels.",
      },
      files_matching: { description: 'A Python regular expression the names of `dir`\'s files must match somewhere (`re.search`).' },
      ignore_files: { type: 'list', elements: 'str', description: 'Python regular expressions; a file whose name ends with a match of one is left out (a string is split at white space).' },
      extensions: {
        type: 'list',
        elements: 'str',
        description: 'The file extensions `dir` loads (default `yaml`, `yml`, `json`).',
      },
      ignore_unknown_extensions: {
        type: 'bool',
        description: 'Whether files of `dir` with other extensions are passed over; without it (Ansible: default false) such a file fails the task (`... does not have a valid extension: yaml, yml, json`).',
      },
      hash_behaviour: {
        choices: ['replace', 'merge'],
        description: "`merge`: each loaded variable is merged recursively into the variable of that name the task sees (both must be mappings, or the task fails); `replace` (Ansible's default): it replaces it.",
      },
    },
    freeForm: '_raw_params',
    checkMode: 'full',
    traits: { controllerOnly: true, factsTo: 'include_vars', namesSet: (args) => (typeof args.name === 'string' ? [args.name] : 'any') },
  },
  async ({ args, findFile, place, vars }): Promise<ModuleResult> => {
    // Ansible's action makes this check in its body, on the arguments as given.
    const fileOnly = args.file !== undefined || args._raw_params !== undefined;
    const dirOnly = [args.dir, args.depth, args.files_matching, args.ignore_files, args.extensions, args.ignore_unknown_extensions].some((a) => a !== undefined);
    if (fileOnly && dirOnly) return { failed: true, msg: 'You are mixing file only and dir only arguments, these are incompatible' };
    const loaded: Loaded = { vars: {}, files: [] };
    let failure: string | undefined;
    if (args.dir !== undefined) {
      failure = await loadDir(rootDir(args.dir, place), args, loaded);
    } else {
      const source = args.file || args._raw_params?.replace(/\n+$/, '');
      // Ansible's action looks for no name at all, and reports what it could not find under `message`; for a
      // null one (first_found that found nothing, with errors='ignore') its loader warns first.
      if (source === undefined || source === null) warn('Invalid request to find a file that matches a "null" value');
      if (!source) failure = 'Could not find file on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option';
      else {
        const found = await findFile('vars', source).then(
          (path) => ({ path }),
          (err: Error) => ({ error: err.message }),
        );
        failure = 'path' in found ? await loadFile(found.path, loaded) : found.error;
      }
    }
    const facts = args.name !== undefined ? { [args.name]: loaded.vars } : loaded.vars;
    // Ansible's action reports these failures under `message`, not `msg`.
    if (failure !== undefined) return { failed: true, changed: false, message: failure, ansible_facts: facts, ansible_included_var_files: loaded.files };
    if (args.hash_behaviour === 'merge') {
      for (const [key, value] of Object.entries(facts)) facts[key] = mergeInto(vars[key], value);
    }
    return { changed: false, ansible_facts: facts, ansible_included_var_files: loaded.files };
  },
);

interface Loaded {
  vars: Record<string, unknown>;
  files: string[];
}

// Where a relative `dir` is, as Ansible's action finds it (not by the file search `file` uses).
function rootDir(dir: string, place: ModuleContext<unknown>['place']): string {
  if (isAbsolute(dir)) return dir;
  if (place?.rolePath !== undefined) return dir.split('/')[0] === 'vars' ? join(place.rolePath, dir) : join(place.rolePath, 'vars', dir);
  return join(place?.taskDir ?? '.', dir);
}

// Loads a directory's files as Ansible does; returns the failure that stops it, if any.
async function loadDir(dir: string, args: { depth?: number | undefined; files_matching?: string | undefined; ignore_files?: string[] | undefined; extensions?: string[] | undefined; ignore_unknown_extensions?: boolean | undefined }, out: Loaded): Promise<string | undefined> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) return `${dir} directory does not exist`;
  if (!info.isDirectory()) return `${dir} is not a directory`;
  noteRead({ kind: 'file', path: dir });
  const extensions = args.extensions ?? EXTENSIONS;
  const matcher = args.files_matching ? pyRegex(args.files_matching, { mode: '' }) : undefined;
  const ignore = (args.ignore_files ?? []).flatMap((p) => p.split(/\s+/).filter(Boolean)).map((p) => {
    try {
      return pyRegex(`${p}$`, { mode: '' });
    } catch {
      throw new ImgplayError(`Invalid regular expression: ${p}`);
    }
  });
  const folders = (await walk(dir)).sort((a, b) => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0));
  const depth = args.depth ?? 0;
  for (const [i, { root, files }] of folders.entries()) {
    if (depth !== 0 && i >= depth) break;
    for (const name of files.sort()) {
      if (matcher !== undefined && !matcher.test(name)) continue;
      if (ignore.some((re) => re.test(name))) continue;
      const path = join(root, name);
      if ((await stat(path).catch(() => undefined)) === undefined) continue;
      if (!validExtension(name, extensions)) {
        if (args.ignore_unknown_extensions === true) continue;
        return `${path} does not have a valid extension: ${extensions.join(', ')}`;
      }
      const failure = await loadFile(path, out);
      if (failure !== undefined) return failure;
    }
  }
  return undefined;
}

// Every folder under `dir` (itself first) with the names in it that are not folders, as os.walk gives them:
// a link to a folder counts as a folder but is not walked into; a folder that cannot be read is passed over.
async function walk(dir: string): Promise<Array<{ root: string; files: string[] }>> {
  const out: Array<{ root: string; files: string[] }> = [];
  const pending = [dir];
  while (pending.length > 0) {
    const root = pending.pop()!;
    const entries = await readdir(root, { withFileTypes: true }).catch(() => undefined);
    if (entries === undefined) continue;
    const files: string[] = [];
    for (const e of entries) {
      const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(join(root, e.name)).catch(() => undefined))?.isDirectory() === true);
      if (!isDir) files.push(e.name);
      else if (e.isDirectory()) pending.push(join(root, e.name));
    }
    out.push({ root, files });
  }
  return out;
}

// Python's os.path.splitext: the extension after the last dot, leading dots of the name not counting; a name
// without one has the extension '', which `extensions` may list.
function validExtension(name: string, extensions: readonly string[]): boolean {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.slice(0, dot).replace(/^\.+/, '') !== '' ? name.slice(dot + 1) : '';
  return extensions.includes(ext);
}

// Loads one file into `out`; an empty file is an empty mapping, anything but a mapping a failure.
async function loadFile(path: string, out: Loaded): Promise<string | undefined> {
  noteRead({ kind: 'file', path });
  const data = (await loadYamlFile(path)) ?? {};
  if (!isMapping(data)) return `${path} must be stored as a dictionary/hash`;
  out.files.push(path);
  Object.assign(out.vars, data);
  return undefined;
}

// hash_behaviour: merge: Ansible's combine_vars with merge, which takes two mappings only.
function mergeInto(old: unknown, value: unknown): unknown {
  if (!isMapping(old) || !isMapping(value)) {
    throw new ImgplayError(`failed to combine variables, expected dicts but got a '${old === undefined ? 'NoneType' : pyTypeName(old)}' and a '${pyTypeName(value)}'`);
  }
  return mergeHash(old, value, true, 'replace');
}
