// Installs, upgrades and removes Debian packages on the target with apt-get, as Ansible's apt does,
// but judged by what dpkg has installed before and after: changed only when the installed set changes.
import { aptArchives } from '../image/mirror.js';
import { parsePackages } from '../image/apt-index.js';
import { LOCK_PINS, activeLock, downloadsOutsideLock, pinPreferences, plannedDownloads } from '../image/lock-honour.js';
import { noteRead, readsObserved } from '../host/reads.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import {
  AptError,
  AptRunner,
  aptWords,
  availableVersions,
  cacheUpdateTime,
  expandWildcard,
  hasWildcard,
  holdServices,
  installedPackages,
  installedVersion,
  knownPackageNames,
  type PackageSpec,
  parsePackageSpec,
  setDifference,
  simulatedChanges,
  updateCache,
} from './support/apt-tools.js';
import { fnmatchToRegExp } from './support/glob.js';
import { hostPathFollow } from './support/target-path.js';
import { type ModuleContext, type ModuleResult, failed } from './types.js';

const aptArgs = {
  package: {
    type: 'list',
    elements: 'str',
    aliases: ['pkg', 'name'],
    description:
      'Packages, a list or comma-separated: `lldpd`, `lldpd=1.0.16-1`, `lldpd=1.0.*` (best offered version matching), `lldp*` (fnmatch over the names apt knows), `*` with `state: latest` (upgrade all).',
  },
  state: {
    default: 'present',
    choices: ['absent', 'build-dep', 'fixed', 'latest', 'present', 'installed', 'removed'],
    refusedValues: { 'build-dep': 'imgplay installs, upgrades and removes packages only.', fixed: 'imgplay has no apt-get --fix-broken step.' },
    description: '`present`, `latest`, `absent`; `installed` and `removed` (imgplay only) are `present` and `absent`.',
  },
  update_cache: {
    type: 'bool',
    aliases: ['update-cache'],
    description: 'Run `apt-get update` first (with `--error-on=any`, so a repository that cannot be fetched is an error).',
  },
  update_cache_retries: { type: 'int', default: 5, description: 'Retries of the update, with exponential backoff.' },
  update_cache_retry_max_delay: { type: 'int', default: 12, description: 'The longest wait between two retries, in seconds.' },
  cache_valid_time: {
    type: 'int',
    default: 0,
    description:
      "Skip the update while the lists are younger than this many seconds (apt's success stamp, else `/var/lib/apt/lists`' mtime, as Ansible reads them); setting it implies `update_cache`.",
  },
  purge: { type: 'bool', default: false, description: "Remove configuration files too (apt-get's `--purge`)." },
  deb: {
    type: 'path',
    description:
      "A `.deb` file: a path on the target, else a controller file (the role's `files/`, then the playbook's), copied into the target's `/tmp` for the install and removed after. Installed with `apt-get install ./file` so its dependencies come along; an installed package of the same version is no change (unless `force`).",
  },
  default_release: { aliases: ['default-release'], description: '`-t RELEASE`.' },
  install_recommends: {
    type: 'bool',
    aliases: ['install-recommends'],
    description: "`true`/`false` give `--install-recommends`/`--no-install-recommends`; unset, apt's configuration decides.",
  },
  force: { type: 'bool', default: false, description: 'All the `--allow-*` options below and `--allow-remove-essential`.' },
  upgrade: {
    default: 'no',
    choices: ['dist', 'full', 'no', 'safe', 'yes'],
    description: '`yes`/`safe` (`apt-get upgrade`), `dist`/`full` (`apt-get dist-upgrade`).',
  },
  dpkg_options: { default: 'force-confdef,force-confold', description: 'Each becomes `-o Dpkg::Options::=--OPTION`.' },
  autoremove: { type: 'bool', default: false, description: "Remove packages nothing needs any more (apt-get's `--auto-remove`, or `autoremove` alone)." },
  autoclean: { type: 'bool', default: false, description: '`apt-get autoclean`.' },
  fail_on_autoremove: { type: 'bool', default: false, description: 'Fail when an install or upgrade would remove packages.' },
  policy_rc_d: {
    type: 'int',
    description: 'A `/usr/sbin/policy-rc.d` exiting with this code exists while apt runs, on any target (a chroot always gets one exiting 101).',
  },
  only_upgrade: { type: 'bool', default: false, description: '`--only-upgrade`: upgrade installed packages, install no new ones.' },
  force_apt_get: { type: 'bool', default: false, description: 'Accepted; moot, as imgplay always uses apt-get (Ansible prefers aptitude for upgrades).' },
  clean: { type: 'bool', default: false, description: '`apt-get clean` (not in check mode).' },
  allow_unauthenticated: { type: 'bool', default: false, aliases: ['allow-unauthenticated'], description: '`--allow-unauthenticated`.' },
  allow_downgrade: {
    type: 'bool',
    default: false,
    aliases: ['allow-downgrade', 'allow_downgrades', 'allow-downgrades'],
    description: '`--allow-downgrades`.',
  },
  allow_change_held_packages: { type: 'bool', default: false, description: '`--allow-change-held-packages`.' },
  lock_timeout: { type: 'int', default: 60, description: "Seconds to wait for dpkg's lock (`DPkg::Lock::Timeout`)." },
} as const satisfies Record<string, ArgSpec>;

type AptArgs = ArgsOf<typeof aptArgs>;

export const apt = defineModule(
  {
    name: 'apt',
    doc: {
      short: 'Installs, upgrades and removes Debian packages on the target with apt-get.',
      description: `Runs \`apt-get\` on the target (inside the chroot for a chroot target). \`changed\` is decided by what dpkg has installed before and after the task (and by a refreshed cache): a package that was already there, or an \`apt-get\` run that installs nothing, is no change.

Every apt command runs with \`DEBIAN_FRONTEND=noninteractive\`, \`DEBIAN_PRIORITY=critical\`, \`LC_ALL=C\`, and the proxy of the play/task \`environment\` or imgplay's own \`http_proxy\` (an apt-cacher-ng at host:3142), which a chroot would not otherwise see. In a chroot a \`/usr/sbin/policy-rc.d\` that exits 101 ("action forbidden") exists while apt runs, so no package starts a service inside the image being built; it is removed afterwards (only if it is still the one imgplay wrote). \`policy_rc_d: N\` does the same with exit code N on any target.

Failures carry apt's own \`E:\` lines, not its whole output (that stays in the result's \`stdout\` and \`stderr\`): \`'apt-get install lldpd imgplay-typo' failed: E: Unable to locate package imgplay-typo\`, or \`E: Version '0.0.1-1' for 'lldpd' was not found\` for a version the mirror no longer has.`,
      returns:
        '`changed`, `cache_updated`, `cache_update_time`, `stdout`, `stderr`, and under `--diff` the packages that changed (`name version` lines before and after; in check mode the `Inst`/`Remv` lines of `apt-get --simulate`).',
      checkMode: 'The plan comes from `apt-get --simulate`. The lists are not refreshed; `cache_updated: true` says they would be.',
      differences: [
        "No python-apt: the plan comes from apt-get itself (`--simulate` in check mode), and `changed` from dpkg's installed set before and after, where Ansible matches strings in apt-get's output.",
        '`state: build-dep` and `fixed` are refused; `state: installed` and `removed` are accepted (Ansible 2.14 refuses them).',
        'Check mode does not refresh the lists; it reports `cache_updated: true` when it would.',
      ],
    },
    args: aptArgs,
    mutuallyExclusive: [['deb', 'package', 'upgrade']],
    requiredOneOf: [['autoremove', 'deb', 'package', 'update_cache', 'upgrade']],
    checkMode: 'full',
    diff: true,
  },
  async (ctx) => {
    const a = ctx.args;
    const runner = new AptRunner(ctx.conn, ctx.environment, ctx.signal);
    // What apt installs depends on its archives' state: the stage cache keys on their Release files.
    if (readsObserved()) {
      const proxy = ctx.environment.http_proxy || undefined;
      for (const { uri, suite } of await aptArchives(await ctx.conn.hostPath('/etc/apt'))) {
        // A file: or copy: repository in a chroot's sources lives inside the tree, made by the stage's own tasks
        // from files the stage already counts; read before the stage runs, it is not there yet.
        if (ctx.conn.kind === 'chroot' && /^(file|copy):/.test(uri)) continue;
        noteRead({ kind: 'archive', uri, suite, proxy });
      }
    }
    // Services must not start inside an image being built; Ansible's own policy_rc_d also works on hosts.
    const release =
      !ctx.check && (a.policy_rc_d !== undefined || ctx.conn.kind === 'chroot') ? await holdServices(ctx.conn, a.policy_rc_d ?? 101) : async () => {};
    // A locked build pins an image tree's apt to imgplay.lock (never the build host's own apt).
    const lock = ctx.conn.kind === 'chroot' ? activeLock() : undefined;
    const unpin = lock !== undefined && !ctx.check ? await holdFile(ctx.conn, LOCK_PINS, pinPreferences(lock)) : async () => {};
    try {
      return await new AptTask(ctx, runner).run(a.package);
    } catch (err) {
      if (err instanceof AptError) return failed(err.message, { rc: err.result.rc, stdout: err.result.stdout, stderr: err.result.stderr });
      throw err;
    } finally {
      await unpin();
      await release();
    }
  },
);

class AptTask {
  private cacheUpdated = false;
  private cacheTime = 0;
  private outputs: { stdout: string; stderr: string } = { stdout: '', stderr: '' };

  private readonly a: AptArgs;

  constructor(
    private readonly ctx: ModuleContext<AptArgs>,
    private readonly apt: AptRunner,
  ) {
    this.a = ctx.args;
  }

  async run(names: string[] | undefined): Promise<ModuleResult> {
    await this.maybeUpdateCache();
    const before = (await installedPackages(this.apt)).installed;
    let planned: string[] = [];
    if (this.a.upgrade !== 'no') planned = await this.apply(upgradeArgs(this.a.upgrade), 'upgrade');
    else if (this.a.deb !== undefined) planned = await this.installDeb(this.a.deb, before);
    else if (names !== undefined) {
      const wanted = names.filter((n) => n.trim() !== '*');
      if (names.some((n) => n.trim() === '*') && this.a.state === 'latest') {
        if (wanted.length > 0) return failed('unable to install additional packages when upgrading all installed packages');
        planned = await this.apply(['upgrade'], 'upgrade');
      } else if (this.a.state === 'absent' || this.a.state === 'removed') planned = await this.remove(wanted);
      else planned = await this.install(wanted, before);
    }
    if (names === undefined || names.length === 0) {
      if (this.a.autoremove) planned.push(...(await this.apply(['autoremove', ...(this.a.purge ? ['--purge'] : [])], 'autoremove')));
      if (this.a.autoclean) await this.apply(['autoclean'], 'autoclean');
    }
    if (this.a.clean && !this.ctx.check) await this.apply(['clean'], 'clean');
    return this.result(before, planned);
  }

  private async result(before: Map<string, string>, planned: string[]): Promise<ModuleResult> {
    const base = { cache_updated: this.cacheUpdated, cache_update_time: this.cacheTime, ...this.outputs };
    if (this.ctx.check) {
      const changed = planned.length > 0 || this.cacheUpdated;
      return { changed, ...base, ...(planned.length > 0 ? { diff: { before: '', after: `${planned.join('\n')}\n`, after_header: 'apt-get --simulate' } } : {}) };
    }
    const after = (await installedPackages(this.apt)).installed;
    const { removed, added } = setDifference(before, after);
    const changed = removed.length > 0 || added.length > 0 || this.cacheUpdated;
    const result: ModuleResult = { changed, ...base };
    if (removed.length > 0 || added.length > 0) {
      result.diff = { before: removed.map((l) => `${l}\n`).join(''), after: added.map((l) => `${l}\n`).join(''), before_header: 'installed', after_header: 'installed' };
    }
    return result;
  }

  private async maybeUpdateCache(): Promise<void> {
    this.cacheTime = await cacheUpdateTime(this.ctx.conn);
    if (!this.a.update_cache && this.a.cache_valid_time === 0) return;
    if (this.cacheTime + this.a.cache_valid_time >= Date.now() / 1000) return;
    // Check mode promises the refresh without fetching, as Ansible does.
    if (this.ctx.check) {
      this.cacheUpdated = true;
      return;
    }
    this.ctx.log('apt-get update');
    await updateCache(this.apt, this.a.update_cache_retries, this.a.update_cache_retry_max_delay);
    const after = await cacheUpdateTime(this.ctx.conn);
    this.cacheUpdated = after !== this.cacheTime;
    this.cacheTime = after;
  }

  // Resolves names and pins to what apt-get is given; packages already as asked are left out.
  private async install(texts: string[], before: Map<string, string>): Promise<string[]> {
    const specs = await this.resolve(texts);
    const latest = this.a.state === 'latest';
    const args: string[] = [];
    for (const spec of specs) {
      const have = installedVersion(before, spec.name);
      if (spec.version !== undefined) {
        if (have !== spec.version || latest) args.push(`${spec.name}=${spec.version}`);
      } else if (have === undefined || latest) args.push(spec.name);
    }
    if (args.length === 0) return [];
    const opts = [
      ...(this.a.install_recommends === true ? ['--install-recommends'] : this.a.install_recommends === false ? ['--no-install-recommends'] : []),
      ...(this.a.only_upgrade ? ['--only-upgrade'] : []),
      ...(this.a.autoremove ? ['--auto-remove'] : []),
    ];
    return this.apply(['install', ...opts, ...args], `install ${args.join(' ')}`);
  }

  private async remove(texts: string[]): Promise<string[]> {
    const specs = await this.resolve(texts, { forRemoval: true });
    const { installed, configOnly } = await installedPackages(this.apt);
    const present = specs
      .filter((s) => {
        const have = installedVersion(installed, s.name);
        if (have === undefined) return this.a.purge && configOnly.has(s.name);
        return s.version === undefined || fnmatchToRegExp(s.version).test(have);
      })
      .map((s) => s.name);
    if (present.length === 0) return [];
    const opts = [...(this.a.purge ? ['--purge'] : []), ...(this.a.autoremove ? ['--auto-remove'] : [])];
    return this.apply(['remove', ...opts, ...present], `remove ${present.join(' ')}`);
  }

  private async installDeb(path: string, before: Map<string, string>): Promise<string[]> {
    if (this.a.state !== 'present' && this.a.state !== 'installed') throw new AptError('deb only supports state=present', emptyResult());
    // A path on the target wins (Ansible's meaning); otherwise a controller file, e.g. a role's files/.
    let onTarget = path;
    let cleanup: (() => Promise<void>) | undefined;
    if (!existsSync(await hostPathFollow(this.ctx.conn, path))) {
      const local = await this.ctx.findFile('files', path).catch(() => undefined);
      if (local === undefined) throw new AptError(`deb file not found: ${path} (looked on the target and in the controller's files/)`, emptyResult());
      onTarget = posix.join('/tmp', `imgplay-${randomBytes(6).toString('hex')}-${posix.basename(path)}`);
      await this.ctx.conn.putFile(local, onTarget);
      const host = await hostPathFollow(this.ctx.conn, onTarget);
      cleanup = () => rm(host, { force: true });
    }
    try {
      const info = await this.apt.run(['dpkg-deb', '--showformat=${Package}\\t${Version}\\t${Architecture}', '--show', onTarget]);
      if (info.rc !== 0) throw new AptError(`${path} is not a readable Debian package: ${aptWords(info)}`, info);
      const [pkg, version] = info.stdout.trim().split('\t');
      if (!this.a.force && pkg !== undefined && installedVersion(before, pkg) === version) return [];
      return await this.apply(['install', ...(this.a.install_recommends === true ? [] : ['--no-install-recommends']), onTarget], `install ${path}`);
    } finally {
      await cleanup?.();
    }
  }

  // Wildcard names expand over the known packages; wildcard versions pick the best offered match.
  private async resolve(texts: string[], opts: { forRemoval?: boolean } = {}): Promise<PackageSpec[]> {
    const specs: PackageSpec[] = [];
    let known: string[] | undefined;
    for (const text of texts) {
      const spec = parsePackageSpec(text);
      if (spec === undefined) throw new AptError(`invalid package spec: ${text}`, emptyResult());
      if (hasWildcard(spec.name)) {
        known ??= opts.forRemoval ? [...(await installedPackages(this.apt)).installed.keys()] : await knownPackageNames(this.apt);
        const names = expandWildcard(spec.name, known);
        if (names.length === 0 && !opts.forRemoval) throw new AptError(`No package matching '${spec.name}' is available`, emptyResult());
        specs.push(...names.map((name) => ({ name, version: spec.version, text })));
        continue;
      }
      if (spec.version !== undefined && hasWildcard(spec.version) && !opts.forRemoval) {
        const re = fnmatchToRegExp(spec.version);
        const match = (await availableVersions(this.apt, spec.name)).find((v) => re.test(v));
        if (match === undefined) throw new AptError(`No package matching '${text}' is available`, emptyResult());
        specs.push({ ...spec, version: match });
        continue;
      }
      specs.push(spec);
    }
    return specs;
  }

  // In a locked build's image tree, every .deb apt is about to download must be a locked one with the locked
  // sha256; apt then verifies the downloaded bytes against that same sha256 (its index's) before dpkg unpacks.
  private async checkAgainstLock(argv: string[], operation: string[], what: string): Promise<void> {
    const lock = this.ctx.conn.kind === 'chroot' && !this.ctx.check ? activeLock() : undefined;
    if (lock === undefined || !['install', 'upgrade', 'dist-upgrade'].includes(operation[0] ?? '')) return;
    const probe = [...argv.slice(0, argv.length - operation.length), '--print-uris', ...operation];
    const r = await this.apt.run(probe);
    if (r.rc !== 0) throw new AptError(`'apt-get ${what}' failed: ${aptWords(r)}`, r);
    const planned = plannedDownloads(r.stdout);
    // What apt's own index says of each .deb: apt checks the download against these hashes before dpkg sees it.
    const shown = planned.length === 0 ? undefined : await this.apt.run(['apt-cache', 'show', ...planned.map((p) => (p.arch === 'all' ? `${p.name}=${p.version}` : `${p.name}:${p.arch}=${p.version}`))]);
    if (shown !== undefined && shown.rc !== 0) throw new AptError(`'apt-cache show' of the packages to install failed: ${aptWords(shown)}`, shown);
    const problems = downloadsOutsideLock(lock, planned, shown === undefined ? [] : parsePackages(shown.stdout));
    if (problems.length > 0) {
      throw new AptError(`'apt-get ${what}' would install packages ${lock.path} does not lock (nothing was downloaded or unpacked):\n  ${problems.join('\n  ')}\nrun imgplay lock to lock what the playbook installs now (imgplay lock --update for the newest versions)`, r);
    }
  }

  // Runs one apt-get operation (simulated in check mode) and returns apt's plan lines.
  private async apply(operation: string[], what: string): Promise<string[]> {
    const argv = [
      'apt-get',
      '-y',
      '-q',
      ...this.a.dpkg_options.split(',').filter((o) => o.trim() !== '').flatMap((o) => ['-o', `Dpkg::Options::=--${o.trim()}`]),
      '-o',
      `DPkg::Lock::Timeout=${this.a.lock_timeout}`,
      ...(this.a.default_release !== undefined ? ['-t', this.a.default_release] : []),
      ...(this.a.force ? ['--allow-unauthenticated', '--allow-downgrades', '--allow-remove-essential', '--allow-change-held-packages'] : []),
      ...(this.a.allow_unauthenticated && !this.a.force ? ['--allow-unauthenticated'] : []),
      ...(this.a.allow_downgrade && !this.a.force ? ['--allow-downgrades'] : []),
      ...(this.a.allow_change_held_packages && !this.a.force ? ['--allow-change-held-packages'] : []),
      ...(this.ctx.check ? ['--simulate'] : []),
      ...operation,
    ];
    await this.checkAgainstLock(argv, operation, what);
    this.ctx.log(argv.join(' '));
    const r = await this.apt.run(argv);
    this.outputs = { stdout: this.outputs.stdout + r.stdout, stderr: this.outputs.stderr + r.stderr };
    if (r.rc !== 0) throw new AptError(`'apt-get ${what}' failed: ${aptWords(r)}`, r);
    const plan = simulatedChanges(r.stdout);
    if (this.a.fail_on_autoremove && plan.some((l) => l.startsWith('Remv ')) && operation[0] !== 'remove' && operation[0] !== 'autoremove') {
      throw new AptError(`'apt-get ${what}' would remove packages and fail_on_autoremove is set`, r);
    }
    return plan;
  }
}

function upgradeArgs(mode: AptArgs['upgrade']): string[] {
  return mode === 'dist' || mode === 'full' ? ['dist-upgrade'] : ['upgrade'];
}


// Writes a file on the target for the task's duration; the returned function removes it (only if still ours).
async function holdFile(conn: ModuleContext<AptArgs>['conn'], path: string, text: string): Promise<() => Promise<void>> {
  const host = await hostPathFollow(conn, path);
  await mkdir(posix.dirname(host), { recursive: true });
  await writeFile(host, text);
  return async () => {
    if ((await readFile(host, 'utf8').catch(() => undefined)) === text) await rm(host, { force: true });
  };
}

function emptyResult() {
  return { command: '', rc: 1, stdout: '', stderr: '' };
}
