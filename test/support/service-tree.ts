// A Debian tree with systemd as init, python3 and python3-apt, so ansible-playbook (over community.general.chroot)
// and imgplay can run the same service playbook against it: built once with mmdebstrap, cached, and
// copied privately per run.
import { existsSync } from 'node:fs';
import { bootstrap } from '../../src/image/bootstrap.js';
import { hostAptMirror } from '../../src/image/mirror.js';
import { testProxyUrl } from './apt-proxy.js';
import { cachedTree } from './cached-tree.js';

const SUITE = 'bookworm';
// systemd-sysv makes /sbin/init systemd, so Ansible's service_mgr fact says systemd inside the chroot;
// python3 is what Ansible's modules run with there, and python3-apt what its package_facts reads apt with.
const INCLUDE = ['systemd-sysv', 'python3', 'python3-apt'];

const services = cachedTree({
  name: `minbase-${SUITE}-systemd-python3-apt`,
  what: 'the systemd test tree',
  async unbuildable() {
    if (process.getuid?.() !== 0) return 'building the systemd test tree with mmdebstrap needs root';
    if (!existsSync('/usr/bin/mmdebstrap')) return '/usr/bin/mmdebstrap (Debian package mmdebstrap)';
    if ((await hostAptMirror()) === undefined) return 'a Debian mirror in the host apt sources';
    return undefined;
  },
  async build(target) {
    await bootstrap({ root: target, release: SUITE, arch: 'amd64', variant: 'minbase', components: ['main'], include: INCLUDE, noDocs: true, noRecommends: true, proxy: testProxyUrl() });
  },
});

/** Why the tree cannot be had on this machine, or undefined if it can. */
export function serviceTreeUnavailable(): Promise<string | undefined> {
  return services.unavailable();
}

/** The cached tree (minbase + systemd-sysv + python3 + python3-apt); never modified by tests. */
export function serviceTree(): Promise<string> {
  return services.tree();
}

/** A private copy of the tree, at `<dir>/root`; cleanup refuses to delete it while anything is mounted inside. */
export function serviceTreeCopy(): Promise<{ root: string; cleanup(): Promise<void> }> {
  return services.copy('imgplay-svctree-');
}
