// Installs Python packages into the target with the target's own pip, as ansible.builtin.pip does.
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { findTargetProgram } from './support/bin-path.js';
import { ShlexError, shlexSplit } from './support/shlex.js';
import { describePackages, recoverPackageNames, type PipPackages } from './support/pip-packages.js';
import { CHROOT_ENV } from '../connection/chroot.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const STATE_ARGS = { present: ['install'], absent: ['uninstall', '-y'], latest: ['install', '-U'], forcereinstall: ['install', '-U', '--force-reinstall'] } as const;

const args = {
  state: { choices: ['present', 'absent', 'latest', 'forcereinstall'], default: 'present', description: '`present` installs what is missing, `latest` upgrades (`pip install -U`), `forcereinstall` reinstalls, `absent` uninstalls.' },
  name: { type: 'list', elements: 'str', description: 'Package names, with or without version specifiers (`foo>=1.0,<2`), or a path or URL pip understands (a wheel or project directory in the target).' },
  version: { description: 'The version for a single `name` (becomes `name==version`).' },
  requirements: { description: 'A requirements file in the target (`pip install -r`), relative to `chdir`.' },
  virtualenv: { type: 'path', description: 'A virtual environment in the target to install into; made with `virtualenv_command` when it has no `bin/activate`. Relative to `chdir` when that is given.' },
  virtualenv_site_packages: { type: 'bool', default: false, description: 'Makes the new virtual environment see the system site-packages (`--system-site-packages`).' },
  virtualenv_command: { type: 'path', default: 'virtualenv', description: 'The command that makes a virtual environment in the target, e.g. `python3 -m venv` (with python3-venv) or `virtualenv`.' },
  virtualenv_python: { description: 'The Python a `virtualenv` command makes the environment for (`-p`); an error with `-m venv` or `pyvenv`.' },
  extra_args: { description: 'More arguments for pip, split as a shell would, e.g. `--no-index --find-links /srv/wheels` or `--break-system-packages`.' },
  editable: { type: 'bool', default: false, description: 'Passes `-e` (an editable install).' },
  chdir: { type: 'path', description: 'The directory in the target pip runs in (default the target\'s `/tmp`).' },
  executable: { type: 'path', description: 'The pip to run: an absolute path in the target, or a name looked up on its PATH (e.g. `pip3.11`); not with `virtualenv`.' },
  umask: { description: 'The umask (octal string, e.g. `0022`) the virtual environment and the installed files are made with.' },
} as const satisfies Record<string, ArgSpec>;

export const pip = defineModule(
  {
    name: 'pip',
    doc: {
      short: "Installs, upgrades or removes Python packages in the target with the target's own pip.",
      description:
        "As ansible-core 2.14 does it, inside the chroot: the target needs python3 with setuptools (Ansible's module imports `pkg_resources`) and pip (`python3-pip`); without a `virtualenv` or `executable` pip runs as `/usr/bin/python3 -m pip.__main__`. A `virtualenv` without `bin/activate` is made first with `virtualenv_command`. The change is what pip says (`Successfully installed`, `Successfully uninstalled`), or, with `requirements` or a VCS URL, whether `pip list --format=freeze` differs before and after. Packages come from wherever pip in the target can reach: a wheel or project directory in the tree, `--find-links` to one, or an index the build host's network reaches. Debian's python3 is externally managed (PEP 668): installing outside a virtual environment needs `extra_args: --break-system-packages`, as with Ansible 2.14.",
      returns: '`cmd` (the pip command as a list), `name`, `version`, `state`, `requirements`, `virtualenv`, `stdout`, `stderr`. Under --check: `cmd` (the list command, as a string), `stdout`, `stderr`.',
      checkMode:
        "As Ansible: with `extra_args`, `requirements`, state `latest` or a virtual environment still to make it reports changed without looking; otherwise it compares `pip list --format=freeze` with the names and their version specifiers.",
      differences: [
        "On the local connection the target is the build host, whose Python an image build must never change (and a source package's setup.py would run there): imgplay refuses, Ansible would install into the host.",
        "`Failed to find required executable` for a missing `virtualenv_command` lists the chroot's PATH (imgplay's chroot connection gives commands a fixed PATH); Ansible lists the PATH it inherited from the controller.",
      ],
    },
    args,
    requiredOneOf: [['name', 'requirements']],
    mutuallyExclusive: [['name', 'requirements'], ['executable', 'virtualenv']],
    checkMode: 'full',
  },
  async (ctx) => run(ctx),
);

type PipArgs = ArgsOf<typeof args>;
type Exec = { rc: number; stdout: string; stderr: string };

const PYTHON = '/usr/bin/python3';

async function run(ctx: ModuleContext<PipArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  if (conn.kind === 'local') {
    return failed("pip on the local connection would change the build host's own Python packages: imgplay runs pip only in a chroot target");
  }
  const basePath = ctx.environment.PATH ?? CHROOT_ENV.PATH;
  const exec = (argv: readonly string[], opts: { cwd?: string; pathPrefix?: string; env?: Record<string, string> } = {}): Promise<Exec> => {
    const env: Record<string, string> = { ...ctx.environment, ...opts.env };
    if (opts.pathPrefix !== undefined) env.PATH = `${opts.pathPrefix}:${basePath}`;
    // Ansible sets the module's own umask; a shell in front sets it for the one command.
    const full = umask === undefined ? argv : ['/bin/sh', '-c', `umask ${umask} && exec "$@"`, 'sh', ...argv];
    return conn.exec(full, { ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }), env, signal: ctx.signal, keepFinalNewline: true });
  };

  // Ansible's module imports pkg_resources before anything else, and its pip lookup asks whether the
  // interpreter has a pip module: one probe in the target answers both.
  const probe = await conn.exec([PYTHON, '-c', PROBE], { signal: ctx.signal });
  if (probe.rc !== 0) {
    // Ansible's words when the module's interpreter cannot run at all.
    return failed('The module failed to execute correctly, you probably need to set the interpreter.\nSee stdout/stderr for the exact error', { rc: probe.rc, module_stdout: probe.stdout, module_stderr: probe.stderr });
  }
  const facts = JSON.parse(probe.stdout) as { setuptools: boolean; pip: boolean; node: string; executable: string };
  if (!facts.setuptools) {
    return failed(
      `Failed to import the required Python library (setuptools) on ${facts.node}'s Python ${facts.executable}. Please read the module documentation and install it in the appropriate location. If the required library is installed, but Ansible is using the wrong Python interpreter, please consult the documentation on ansible_python_interpreter`,
    );
  }

  let umask: string | undefined;
  if (args.umask !== undefined) {
    // What Python's int(umask, 8) takes: octal digits, an optional 0o, spaces around.
    const octal = /^\s*(?:0[oO])?([0-7]+)\s*$/.exec(args.umask)?.[1];
    if (octal === undefined) return failed('umask must be an octal integer', { details: `invalid literal for int() with base 8: '${args.umask}'` });
    umask = octal;
  }
  const { state, name, version, requirements, extra_args: extraArgs } = args;
  const chdir = args.chdir ?? '/tmp';
  const env = args.virtualenv === undefined ? undefined : args.chdir === undefined || args.virtualenv.startsWith('/') ? args.virtualenv : `${args.chdir.replace(/\/+$/, '')}/${args.virtualenv}`;
  if (state === 'latest' && version !== undefined) return failed('version is incompatible with state=latest');

  let out = '';
  let err = '';
  let venvCreated = false;
  if (env !== undefined && !(await exists(ctx, `${env}/bin/activate`))) {
    venvCreated = true;
    if (check) return { changed: true };
    const made = await makeVirtualenv(ctx, exec, env, chdir);
    if ('failure' in made) return made.failure;
    out += made.out;
    err += made.err;
  }

  const pipCmd = await findPip(ctx, env, args.executable, facts.pip);
  if (typeof pipCmd === 'string') return failed(pipCmd);
  const cmd = [...pipCmd, ...STATE_ARGS[state]];
  const pathPrefix = env === undefined ? undefined : `${env}/bin`;

  let packages: PipPackages | undefined;
  const hasVcs = (name ?? []).some((p) => /^(svn|git|hg|bzr)\+/.test(p));
  if (name !== undefined) {
    const described = await describePackages(conn, PYTHON, recoverPackageNames(name), version, ctx.signal);
    if (typeof described === 'string') return failed(described);
    packages = described;
  }

  let extra = extraArgs;
  if (args.editable) {
    const words = extra === undefined ? [] : extra.split(' ');
    if (!words.includes('-e')) extra = [...words, '-e'].join(' ');
  }
  if (extra !== undefined && extra !== '') {
    const split = shellSplit(extra);
    if (typeof split === 'string') return failed(split);
    cmd.push(...split);
  }
  if (packages !== undefined && name !== undefined && name.length > 0) cmd.push(...packages.map((p) => p.text));
  else if (requirements !== undefined) cmd.push('-r', requirements);
  else return { changed: false, warnings: ['No valid name or requirements file found.'] };

  if (check) {
    if ((extra !== undefined && extra !== '') || requirements !== undefined || state === 'latest' || name === undefined) return { changed: true };
    const listed = await listPackages(exec, pipCmd, chdir);
    if ('failure' in listed) return listed.failure;
    out += listed.out;
    err += listed.err;
    const installed = out.split('\n').filter((l) => l !== '' && !l.startsWith('You are using') && !l.startsWith('You should consider'));
    let changed = false;
    if (packages !== undefined) {
      const present = await describePackages(conn, PYTHON, recoverPackageNames(name), version, ctx.signal, installed);
      if (typeof present === 'string') return failed(present);
      changed = present.some((p) => (state === 'present' && !p.present) || (state === 'absent' && p.present));
    }
    return { changed, cmd: listed.command, stdout: out, stderr: err };
  }

  let freezeBefore: string | undefined;
  if (requirements !== undefined || hasVcs) {
    const listed = await listPackages(exec, pipCmd, chdir);
    if ('failure' in listed) return listed.failure;
    freezeBefore = listed.out;
  }
  const r = await exec(cmd, { cwd: chdir, ...(pathPrefix === undefined ? {} : { pathPrefix }) });
  out += r.stdout;
  err += r.stderr;
  const notInstalled = r.rc === 1 && state === 'absent' && (r.stdout.includes('not installed') || r.stderr.includes('not installed'));
  if (r.rc !== 0 && !notInstalled) return pipFailure(cmd, out, err);

  let changed: boolean;
  if (state === 'absent') changed = r.stdout.includes('Successfully uninstalled');
  else if (freezeBefore === undefined) changed = r.stdout.includes('Successfully installed');
  else {
    const after = await listPackages(exec, pipCmd, chdir);
    if ('failure' in after) return after.failure;
    changed = freezeBefore !== after.out;
  }
  return { changed: changed || venvCreated, cmd, name: name ?? null, version: version ?? null, state, requirements: requirements ?? null, virtualenv: env ?? null, stdout: out, stderr: err };
}

// Whether the target has setuptools' pkg_resources and a pip module, and what Ansible's missing-library message names.
const PROBE = [
  'import json, platform, sys',
  'from importlib.util import find_spec',
  'def has(m):',
  '    try:',
  '        return find_spec(m) is not None',
  '    except Exception:',
  '        return False',
  "print(json.dumps({'setuptools': has('pkg_resources'), 'pip': has('pip'), 'node': platform.node(), 'executable': sys.executable}))",
].join('\n');

async function exists(ctx: ModuleContext<unknown>, path: string): Promise<boolean> {
  const r = await ctx.conn.exec(['test', '-e', path], { signal: ctx.signal });
  return r.rc === 0;
}

// Ansible's failure text for a pip command that went wrong: its output, then its errors.
function pipFailure(cmd: readonly string[], out: string, err: string): ModuleResult {
  let msg = '';
  if (out) msg += `stdout: ${out}`;
  if (err) msg += `\n:stderr: ${err}`;
  return failed(msg, { cmd: [...cmd] });
}

async function listPackages(exec: (argv: readonly string[], opts?: { cwd?: string; env?: Record<string, string> }) => Promise<Exec>, pipCmd: readonly string[], chdir: string): Promise<{ command: string; out: string; err: string } | { failure: ModuleResult }> {
  const locale = { LANG: 'C.utf8', LC_ALL: 'C.utf8', LC_MESSAGES: 'C.utf8' };
  let command = [...pipCmd, 'list', '--format=freeze'];
  let r = await exec(command, { cwd: chdir, env: locale });
  if (r.rc !== 0) {
    // A pip too old for `list --format` still has freeze.
    command = [...pipCmd, 'freeze'];
    r = await exec(command, { cwd: chdir });
    if (r.rc !== 0) return { failure: pipFailure(command, r.stdout, r.stderr) };
  }
  return { command: command.join(' '), out: r.stdout, err: r.stderr };
}

// The pip Ansible would run: `executable`, the virtualenv's pip3 or pip, the interpreter's pip module, else pip3 on PATH.
async function findPip(ctx: ModuleContext<PipArgs>, env: string | undefined, executable: string | undefined, hasPipModule: boolean): Promise<string[] | string> {
  if (executable !== undefined && executable.startsWith('/')) return [executable];
  if (executable === undefined && env === undefined && hasPipModule) return [PYTHON, '-m', 'pip.__main__'];
  if (env === undefined) {
    const names = [executable ?? 'pip3'];
    for (const n of names) {
      const found = await findTargetProgram(ctx, n);
      if ('path' in found) return [found.path];
    }
    return `Unable to find any of ${names.join(', ')} to use.  pip needs to be installed.`;
  }
  const names = ['pip3', 'pip'];
  for (const n of names) {
    const candidate = `${env}/bin/${n}`;
    if ((await ctx.conn.exec(['test', '-x', candidate, '-a', '!', '-d', candidate], { signal: ctx.signal })).rc === 0) return [candidate];
  }
  return `Unable to find pip in the virtualenv, ${env}, under any of these names: ${names.join(', ')}. Make sure pip is present in the virtualenv.`;
}

async function makeVirtualenv(
  ctx: ModuleContext<PipArgs>,
  exec: (argv: readonly string[], opts?: { cwd?: string }) => Promise<Exec>,
  env: string,
  chdir: string,
): Promise<{ out: string; err: string } | { failure: ModuleResult }> {
  const { args } = ctx;
  const split = shellSplit(args.virtualenv_command);
  if (typeof split === 'string') return { failure: failed(split) };
  const cmd = [...split];
  const first = cmd[0] ?? '';
  if (!first.includes('/')) {
    const found = await findTargetProgram(ctx, first);
    if ('missing' in found) return { failure: failed(found.missing) };
    cmd[0] = found.path;
  }
  if (args.virtualenv_site_packages) cmd.push('--system-site-packages');
  else {
    // Ansible asks the command's first word for its options and passes --no-site-packages where offered.
    const help = await exec([`${cmd[0]}`, '--help']);
    if (help.rc !== 0) return { failure: failed(`Could not get output from ${cmd[0]} --help: ${help.stdout}${help.stderr}`) };
    if (help.stdout.trim().split(/\s+/).includes('--no-site-packages')) cmd.push('--no-site-packages');
  }
  const isVenv = ['pyvenv', '-m venv'].some((v) => args.virtualenv_command.includes(v));
  if (!isVenv) cmd.push(`-p${args.virtualenv_python ?? PYTHON}`);
  else if (args.virtualenv_python !== undefined) return { failure: failed('virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command') };
  cmd.push(env);
  const r = await exec(cmd, { cwd: chdir });
  if (r.rc !== 0) return { failure: pipFailure(cmd, r.stdout, r.stderr) };
  return { out: r.stdout, err: r.stderr };
}

// Python's shlex.split, as Ansible splits extra_args and virtualenv_command; its error when a quote is left open.
function shellSplit(text: string): string[] | string {
  try {
    return shlexSplit(text);
  } catch (e) {
    if (e instanceof ShlexError) return e.message;
    throw e;
  }
}
