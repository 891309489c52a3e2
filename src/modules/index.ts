// The module registry: explicit and sorted, so a reader sees every module at once.
import { alternatives } from './alternatives.js';
import { apt } from './apt.js';
import { aptKey } from './apt-key.js';
import { aptRepository } from './apt-repository.js';
import { assert } from './assert.js';
import { authorizedKey } from './authorized-key.js';
import { blockinfile } from './blockinfile.js';
import { command } from './command.js';
import { copy } from './copy.js';
import { cron } from './cron.js';
import { debconf } from './debconf.js';
import { debug } from './debug.js';
import { fail } from './fail.js';
import { fetch } from './fetch.js';
import { file } from './file.js';
import { addHost } from './add-host.js';
import { find } from './find.js';
import { groupBy } from './group-by.js';
import { getent } from './getent.js';
import { group } from './group.js';
import { getUrl } from './get-url.js';
import { git } from './git.js';
import { hostname } from './hostname.js';
import { imgplayBootstrap } from './imgplay-bootstrap.js';
import { imgplayBuildRoot } from './imgplay-build-root.js';
import { imgplayCleanup } from './imgplay-cleanup.js';
import { imgplayCpio } from './imgplay-cpio.js';
import { imgplayOverlay } from './imgplay-overlay.js';
import { imgplaySquashfs } from './imgplay-squashfs.js';
import { imgplayKernel } from './imgplay-kernel.js';
import { includeVars } from './include-vars.js';
import { iniFile } from './ini-file.js';
import { kernelModules } from './kernel-modules.js';
import { knownHosts } from './known-hosts.js';
import { lineinfile } from './lineinfile.js';
import { localeGen } from './locale-gen.js';
import { meta } from './meta.js';
import { modprobe } from './modprobe.js';
import { packageModule } from './package.js';
import { opensshKeypair } from './openssh-keypair.js';
import { pamLimits } from './pam-limits.js';
import { pamd } from './pamd.js';
import { packageFacts } from './package-facts.js';
import { pause } from './pause.js';
import { pip } from './pip.js';
import { ping } from './ping.js';
import { mount } from './mount.js';
import { raw } from './raw.js';
import { replace } from './replace.js';
import { script } from './script.js';
import { serviceFacts } from './service-facts.js';
import { setFact } from './set-fact.js';
import { setup } from './setup.js';
import { shell } from './shell.js';
import { slurp } from './slurp.js';
import { stat } from './stat.js';
import { service, systemd, systemdService } from './systemd.js';
import { sysctl } from './sysctl.js';
import { template } from './template.js';
import { tempfile } from './tempfile.js';
import { timezone } from './timezone.js';
import { unarchive } from './unarchive.js';
import { user } from './user.js';
import { validateArgumentSpec } from './validate-argument-spec.js';
import { waitFor } from './wait-for.js';
import { isSpecModule, type ModuleSpec } from './spec.js';
import type { Module } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModule = Module<any>;

/** Every module, by its short name. */
export const modules: Readonly<Record<string, AnyModule>> = {
  add_host: addHost,
  alternatives,
  apt,
  apt_key: aptKey,
  apt_repository: aptRepository,
  assert,
  authorized_key: authorizedKey,
  blockinfile,
  command,
  copy,
  cron,
  debconf,
  debug,
  fail,
  fetch,
  file,
  find,
  get_url: getUrl,
  getent,
  git,
  group,
  group_by: groupBy,
  hostname,
  imgplay_bootstrap: imgplayBootstrap,
  imgplay_build_root: imgplayBuildRoot,
  imgplay_cleanup: imgplayCleanup,
  imgplay_cpio: imgplayCpio,
  imgplay_overlay: imgplayOverlay,
  imgplay_squashfs: imgplaySquashfs,
  imgplay_kernel: imgplayKernel,
  include_vars: includeVars,
  ini_file: iniFile,
  kernel_modules: kernelModules,
  known_hosts: knownHosts,
  lineinfile,
  locale_gen: localeGen,
  meta,
  modprobe,
  openssh_keypair: opensshKeypair,
  package: packageModule,
  pam_limits: pamLimits,
  pamd,
  package_facts: packageFacts,
  pause,
  pip,
  ping,
  mount,
  raw,
  replace,
  script,
  service,
  service_facts: serviceFacts,
  set_fact: setFact,
  setup,
  shell,
  slurp,
  stat,
  systemd,
  systemd_service: systemdService,
  sysctl,
  template,
  tempfile,
  timezone,
  unarchive,
  user,
  validate_argument_spec: validateArgumentSpec,
  wait_for: waitFor,
};

const byName = new Map<string, AnyModule>();
for (const m of Object.values(modules)) {
  byName.set(m.name, m);
  for (const alias of m.aliases ?? []) byName.set(alias, m);
}

/** Finds a module by its name or an alias such as `ansible.builtin.copy`. */
export function findModule(name: string): AnyModule | undefined {
  return byName.get(name);
}

/** All names a module can be called by, for "did you mean" suggestions. */
export function moduleNames(): string[] {
  return [...byName.keys()];
}

/** The specs of the modules declared by one, by name: docs/modules.md and `imgplay doc` come from them. */
export function moduleSpecs(): ModuleSpec[] {
  return Object.values(modules)
    .filter(isSpecModule)
    .map((m) => m.spec)
    .sort((a, b) => a.name.localeCompare(b.name));
}
