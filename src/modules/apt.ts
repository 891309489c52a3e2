// Installs, upgrades and removes Debian packages on the target with apt-get, as Ansible's apt does,
// but judged by what dpkg has installed before and after: changed only when the installed set changes.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { posix } from 'node:path';
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
import { boolArg, firstSet, strArg } from './support/schema.js';
import { hostPathFollow } from './support/target-path.js';
import { type Module, type ModuleContext, type ModuleResult, failed } from './types.js';

/** apt's arguments (Ansible 2.14's names; aliases are folded in by firstSet). */
export interface AptArgs {
  name?: string[];
  package?: string[];
  pkg?: string[];
  state: 'present' | 'installed' | 'absent' | 'removed' | 'latest' | 'fixed' | 'build-dep';
  update_cache?: boolean;
  'update-cache'?: boolean;
  update_cache_retries: number;
  update_cache_retry_max_delay: number;
  cache_valid_time: number;
  purge: boolean;
  deb?: string;
  default_release?: string;
  'default-release'?: string;
  install_recommends?: boolean;
  'install-recommends'?: boolean;
  force: boolean;
  upgrade: 'dist' | 'full' | 'no' | 'safe' | 'yes';
  dpkg_options: string;
  autoremove: boolean;
  autoclean: boolean;
  fail_on_autoremove: boolean;
  policy_rc_d?: number;
  only_upgrade: boolean;
  force_apt_get: boolean;
  clean: boolean;
  allow_unauthenticated: boolean;
  allow_downgrade: boolean;
  allow_change_held_packages: boolean;
  lock_timeout: number;
}

const listArg = { type: 'array', items: strArg };

export const apt: Module<AptArgs> = {
  name: 'apt',
  aliases: ['ansible.builtin.apt', 'ansible.legacy.apt'],
  schema: {
    type: 'object',
    properties: {
      name: listArg,
      package: listArg,
      pkg: listArg,
      state: { enum: ['present', 'installed', 'absent', 'removed', 'latest', 'fixed', 'build-dep'], default: 'present' },
      update_cache: boolArg(),
      'update-cache': boolArg(),
      update_cache_retries: { type: 'integer', default: 5 },
      update_cache_retry_max_delay: { type: 'integer', default: 12 },
      cache_valid_time: { type: 'integer', default: 0 },
      purge: boolArg(false),
      deb: strArg,
      default_release: strArg,
      'default-release': strArg,
      install_recommends: boolArg(),
      'install-recommends': boolArg(),
      force: boolArg(false),
      upgrade: { enum: ['dist', 'full', 'no', 'safe', 'yes'], default: 'no' },
      dpkg_options: { type: 'string', default: 'force-confdef,force-confold' },
      autoremove: boolArg(false),
      autoclean: boolArg(false),
      fail_on_autoremove: boolArg(false),
      policy_rc_d: { type: 'integer' },
      only_upgrade: boolArg(false),
      force_apt_get: boolArg(false),
      clean: boolArg(false),
      allow_unauthenticated: boolArg(false),
      'allow-unauthenticated': boolArg(),
      allow_downgrade: boolArg(false),
      'allow-downgrade': boolArg(),
      allow_downgrades: boolArg(),
      'allow-downgrades': boolArg(),
      allow_change_held_packages: boolArg(false),
      lock_timeout: { type: 'integer', default: 60 },
    },
    additionalProperties: false,
  },
  checkMode: true,
  diff: true,
  async run(ctx) {
    const a = normalise(ctx.args);
    const names = firstSet(a.name, a.package, a.pkg);
    const exclusive = [names !== undefined, a.deb !== undefined, a.upgrade !== 'no'].filter(Boolean).length;
    if (exclusive > 1) return failed('parameters are mutually exclusive: deb|package|upgrade');
    if (names === undefined && a.deb === undefined && a.upgrade === 'no' && !a.update_cache && a.cache_valid_time === 0 && !a.autoremove && !a.clean && !a.autoclean) {
      return failed('one of the following is required: autoremove, deb, package, update_cache, upgrade');
    }
    if (a.state === 'build-dep' || a.state === 'fixed') return failed(`state=${a.state} is not supported by imgplay's apt (present, latest and absent are)`);
    const runner = new AptRunner(ctx.conn, ctx.environment, ctx.signal);
    // Services must not start inside an image being built; Ansible's own policy_rc_d also works on hosts.
    const release =
      !ctx.check && (a.policy_rc_d !== undefined || ctx.conn.kind === 'chroot') ? await holdServices(ctx.conn, a.policy_rc_d ?? 101) : async () => {};
    try {
      return await new AptTask(ctx, a, runner).run(names);
    } catch (err) {
      if (err instanceof AptError) return failed(err.message, { rc: err.result.rc, stdout: err.result.stdout, stderr: err.result.stderr });
      throw err;
    } finally {
      await release();
    }
  },
};

// Folds the dashed and plural aliases into the canonical names.
function normalise(args: AptArgs): AptArgs & { update_cache: boolean } {
  const raw = args as AptArgs & Record<string, boolean | undefined>;
  return {
    ...args,
    update_cache: firstSet(args.update_cache, args['update-cache']) ?? false,
    default_release: firstSet(args.default_release, args['default-release']),
    install_recommends: firstSet(args.install_recommends, args['install-recommends']),
    allow_unauthenticated: firstSet(raw['allow-unauthenticated'], args.allow_unauthenticated) ?? false,
    allow_downgrade: firstSet(raw['allow-downgrade'], raw.allow_downgrades, raw['allow-downgrades'], args.allow_downgrade) ?? false,
  };
}

class AptTask {
  private cacheUpdated = false;
  private cacheTime = 0;
  private outputs: { stdout: string; stderr: string } = { stdout: '', stderr: '' };

  constructor(
    private readonly ctx: ModuleContext<AptArgs>,
    private readonly a: ReturnType<typeof normalise>,
    private readonly apt: AptRunner,
  ) {}

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

function emptyResult() {
  return { command: '', rc: 1, stdout: '', stderr: '' };
}
