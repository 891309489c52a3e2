// A Debian tree with python3, pip, venv and kmod, so ansible-playbook (over community.general.chroot) and
// imgplay can run the same pip and modprobe playbooks against it: built once with mmdebstrap, cached, and
// copied privately per run.
import { bootstrappedTree } from './cached-tree.js';

// python3 is what Ansible's modules run with; python3-pip brings setuptools (Ansible's pip module imports
// pkg_resources) and wheel; python3-venv brings ensurepip for `python3 -m venv`; kmod is modprobe.
const pip = bootstrappedTree('minbase-bookworm-python3-pip', 'the pip test tree', ['python3', 'python3-pip', 'python3-venv', 'kmod']);

/** Why the tree cannot be had on this machine, or undefined if it can. */
export function pipTreeUnavailable(): Promise<string | undefined> {
  return pip.unavailable();
}

/** The cached tree (minbase + python3, python3-pip, python3-venv, kmod); never modified by tests. */
export function pipTree(): Promise<string> {
  return pip.tree();
}

/** A private copy of the tree, at `<dir>/root`; cleanup refuses to delete it while anything is mounted inside. */
export function pipTreeCopy(): Promise<{ root: string; cleanup(): Promise<void> }> {
  return pip.copy('imgplay-piptree-');
}
