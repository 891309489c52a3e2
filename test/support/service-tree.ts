// A Debian tree with systemd as init, python3 and python3-apt, so ansible-playbook (over community.general.chroot)
// and imgplay can run the same service playbook against it: built once with mmdebstrap, cached, and
// copied privately per run.
import { bootstrappedTree } from './cached-tree.js';

// systemd-sysv makes /sbin/init systemd, so Ansible's service_mgr fact says systemd inside the chroot;
// python3 is what Ansible's modules run with there, and python3-apt what its package_facts reads apt with.
const services = bootstrappedTree('minbase-bookworm-systemd-python3-apt', 'the systemd test tree', ['systemd-sysv', 'python3', 'python3-apt']);

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
