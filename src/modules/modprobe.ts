// Kernel modules of an image, as community.general.modprobe manages them: the files that load them at
// boot (/etc/modules-load.d) and their options (/etc/modprobe.d). Loading or unloading one now is not
// done: in a chroot the running kernel is the build host's.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { findTargetProgram } from './support/bin-path.js';
import { compilePyRegex, PyRegexError } from './support/py-regex.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const MODULES_LOAD = '/etc/modules-load.d';
const OPTIONS = '/etc/modprobe.d';

const args = {
  name: { required: true, description: 'The kernel module, e.g. `br_netfilter`.' },
  state: {
    choices: ['absent', 'present'],
    default: 'present',
    description: "Whether the module should be loaded. imgplay never loads or unloads a module now (in a chroot that would be the build host's kernel): it warns and goes on; `persistent` is what makes the image load it at boot.",
  },
  params: { default: '', description: 'Module options, `key=value` separated by spaces, written to `/etc/modprobe.d/NAME.conf` with `persistent: present`.' },
  persistent: {
    choices: ['disabled', 'present', 'absent'],
    default: 'disabled',
    description: '`present` writes `/etc/modules-load.d/NAME.conf` (and the options file) so the image loads the module at boot; `absent` comments out its lines in every file of those directories; `disabled` leaves the files alone.',
  },
} as const satisfies Record<string, ArgSpec>;

type ModprobeArgs = ArgsOf<typeof args>;

export const modprobe = defineModule(
  {
    name: 'modprobe',
    collection: 'community.general',
    doc: {
      short: 'Makes an image load a kernel module at boot, with its options, or stop loading it.',
      description:
        "As community.general 6.6 (shipped with ansible-core 2.14) does for `persistent`: a module counts as persistent when a line of a file in `/etc/modules-load.d` names it, its options are the `options NAME key=value` lines of the files in `/etc/modprobe.d`. `present` writes `NAME\\n` to `/etc/modules-load.d/NAME.conf` when no file names it, and when the options differ from `params` comments out the old `options` lines and writes `/etc/modprobe.d/NAME.conf`; `absent` comments out the module's lines and its options. Files Ansible rewrites it rewrites the same way (its lines joined by an extra newline). Like Ansible, the target needs `modprobe` (the `kmod` package) and the directories: without `/etc/modules-load.d` the task fails.",
      returns: '`name`, `params`, `state`; a warning when a load or unload was asked for.',
      checkMode: 'Reports what it would change and writes nothing.',
      differences: [
        "Loading (`state: present`) and unloading (`state: absent`) are never done: in a chroot they would act on the build host's kernel. imgplay warns and changes nothing for them. Ansible's module reads the build host's `/proc/modules` through the chroot: in a bare chroot (no `/proc`), or on a host whose kernel has no module support, every task fails with `[Errno 2] No such file or directory: '/proc/modules'`; otherwise a module the host has not loaded is loaded into the host's kernel (or fails when the tree has no modules for the host's kernel release).",
        "Under --check Ansible's module still writes the persistence files (it does not consult check mode there); imgplay writes nothing and reports the change.",
        "On the local connection the files are the build host's own: imgplay refuses.",
      ],
    },
    args,
    checkMode: 'full',
  },
  async (ctx) => run(ctx),
);

interface Files {
  path: string;
  lines: string[];
}

async function run(ctx: ModuleContext<ModprobeArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  if (conn.kind === 'local') {
    return failed("modprobe on the local connection would load modules into the build host's kernel and change its /etc: imgplay manages kernel modules only in a chroot target");
  }
  const bin = await findTargetProgram(ctx, 'modprobe');
  if ('missing' in bin) return failed(bin.missing);
  const { name, params, persistent, state } = args;
  let moduleLine: RegExp;
  let optionsLine: RegExp;
  try {
    // Ansible puts the name into its patterns as it is (a regular expression, not a literal).
    moduleLine = compilePyRegex(`^ *${name} *(?:[#;].*)?\\n?\\Z`);
    optionsLine = compilePyRegex(`^options ${name} (\\w+=\\S+) *(?:[#;].*)?\\n?\\Z`);
  } catch (e) {
    if (e instanceof PyRegexError) return failed(e.message);
    throw e;
  }
  const result = (changed: boolean, warnings: string[]): ModuleResult => ({ changed, name, params, state, ...(warnings.length > 0 ? { warnings } : {}) });

  const warnings: string[] = [];
  if (state === 'present' && persistent !== 'present') {
    warnings.push(`imgplay does not load kernel module ${name} now: in a chroot that would be the build host's kernel. Use persistent: present to have the image load it at boot.`);
  } else if (state === 'absent') {
    warnings.push(`imgplay does not unload kernel module ${name}: in a chroot that would be the build host's kernel. Use persistent: absent to keep the image from loading it at boot.`);
  }
  if (persistent === 'disabled') return result(false, warnings);

  const modulesFiles = await filesIn(ctx, MODULES_LOAD);
  if (typeof modulesFiles === 'string') return moduleFailure(modulesFiles);
  const optionFiles = await filesIn(ctx, OPTIONS);
  if (typeof optionFiles === 'string') return moduleFailure(optionFiles);
  const persistentNow = modulesFiles.some((f) => f.lines.some((l) => moduleLine.test(l)));
  const setParams = new Set(optionFiles.flatMap((f) => f.lines.flatMap((l) => optionsLine.exec(l)?.[1] ?? [])));
  const wanted = new Set(params.split(/\s+/).filter(Boolean));
  const paramsSet = wanted.size === setParams.size && [...wanted].every((p) => setParams.has(p));

  const optionsMatch = compilePyRegex(`^options ${name} \\w+=\\S+ *(?:[#;].*)?\\n?\\Z`);
  let changed = false;
  const writes: { path: string; content: string }[] = [];
  // Ansible comments a matching line out and writes the file back with its lines (newlines kept) joined by '\n'.
  const commentOut = (files: Files[], pattern: RegExp) => {
    for (const f of files) {
      let touched = false;
      const lines = f.lines.map((l) => (pattern.test(l) ? ((touched = true), `#${l}`) : l));
      if (touched) writes.push({ path: f.path, content: lines.join('\n') });
    }
  };
  if (persistent === 'present' && !(persistentNow && paramsSet)) {
    if (!persistentNow) {
      writes.push({ path: `${MODULES_LOAD}/${name}.conf`, content: `${name}\n` });
      changed = true;
    }
    if (!paramsSet) {
      commentOut(optionFiles, optionsMatch);
      writes.push({ path: `${OPTIONS}/${name}.conf`, content: `${[...params.split(/\s+/).filter(Boolean)].map((p) => `options ${name} ${p}`).join('\n')}\n` });
      changed = true;
    }
  } else if (persistent === 'absent' && (persistentNow || setParams.size > 0)) {
    if (persistentNow) commentOut(modulesFiles, moduleLine);
    if (setParams.size > 0) commentOut(optionFiles, optionsMatch);
    changed = true;
  }
  if (!check) {
    // Later writes see earlier ones, as Ansible's sequence of open/write does.
    const merged = new Map<string, string>();
    for (const w of writes) merged.set(w.path, w.content);
    for (const [path, content] of merged) await writeFile(await hostPathFollow(conn, path), content, { encoding: 'latin1', mode: 0o644 });
  }
  return result(changed, warnings);
}

// Ansible lists a directory it expects and fails with Python's error when it is not there.
function moduleFailure(error: string): ModuleResult {
  return failed('MODULE FAILURE\nSee stdout/stderr for the exact error', { module_stderr: error, rc: 1 });
}

// The regular files (links followed) directly in a target directory, each as lines with their newlines (latin1, as bytes).
async function filesIn(ctx: ModuleContext<unknown>, dir: string): Promise<Files[] | string> {
  const host = await hostPathFollow(ctx.conn, dir);
  let names: string[];
  try {
    names = await readdir(host);
  } catch {
    return `FileNotFoundError: [Errno 2] No such file or directory: '${dir}'`;
  }
  const out: Files[] = [];
  for (const n of names.sort()) {
    const path = `${dir}/${n}`;
    const st = await statOrUndefined(await hostPathFollow(ctx.conn, path));
    if (st === undefined || !st.isFile()) continue;
    const text = await readFile(await hostPathFollow(ctx.conn, path), 'latin1');
    out.push({ path, lines: text.match(/[^\n]*\n|[^\n]+$/g) ?? [] });
  }
  return out;
}
