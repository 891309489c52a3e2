// A differential case over a chroot: ansible-playbook (community.general.chroot, bare: nothing mounted)
// and imgplay (its chroot connection) each run one playbook twice on their own copy of the same tree.
// Each run is reduced to what both must agree on: exit code, PLAY RECAP, the results file the playbook
// writes into the tree, and a listing of the tree.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { parseRecap, repoRoot, toolEnv, type Recap } from '../differential/harness.js';
import { mountPointsUnder, takeDownMountsUnder } from './minbase.js';

/** One run of one tool on its tree. */
export interface ChrootRun {
  exitCode: number | undefined;
  /** stdout then stderr, for failure messages. */
  output: string;
  recap: Recap | undefined;
  /** What the playbook wrote to `/root/results` in the tree ('(none)' when it did not get that far). */
  results: string;
  /** Every path of the tree with type, mode, owner, link target and size (see `treeListing`). */
  listing: string[];
}

/** A prepared tree: its root, and how to remove it. */
export interface TreeCopy {
  root: string;
  cleanup(): Promise<void>;
}

/**
 * Every path of a tree with its type, mode, owner, link target and size (contents the playbook reports itself).
 * Left out: Ansible's temp dirs (`/root/.ansible`, `/tmp`), `/dev` (a bare chroot turns `>/dev/null` into
 * a file), and the byte code Python writes as it imports (`__pycache__`).
 */
export async function treeListing(tree: string): Promise<string[]> {
  const prune = ['./root/.ansible', './dev', './tmp', '*/__pycache__'].flatMap((p, i) => [...(i > 0 ? ['-o'] : []), '-path', p]);
  const run = promisify(execFile);
  const { stdout } = await run('find', ['.', '(', ...prune, ')', '-prune', '-o', '-printf', '%p %y %m %U:%G %l %s\n'], { cwd: tree, maxBuffer: 64 << 20 });
  return stdout.split('\n').filter(Boolean).sort();
}

/** Runs `playbook.yml` of `caseDir` (with its hosts.yaml naming the tree `{{ tree }}`) `runs` times with each tool. */
export async function runSideBySide(
  caseDir: string,
  trees: { ansible: TreeCopy; imgplay: TreeCopy },
  runs = 2,
  oracle: (live: () => Promise<ChrootRun[]>) => Promise<ChrootRun[]> = (live) => live(),
): Promise<{ ansible: ChrootRun[]; imgplay: ChrootRun[] }> {
  const scratch = await mkdtemp(join(tmpdir(), 'imgplay-sbs-'));
  try {
    const config = join(scratch, 'ansible.cfg');
    await writeFile(config, '');
    // toolEnv is fixed, not the caller's: none of the build host's pip or Python settings (PIP_FIND_LINKS,
    // PYTHONDONTWRITEBYTECODE...) reach Ansible's modules through its chroot connection, which passes its environment on.
    const env = toolEnv(config);
    const once = async (file: string, pre: string[], tree: string): Promise<ChrootRun> => {
      await rm(join(tree, 'root/results'), { force: true });
      const mountedBefore = new Set(await mountPointsUnder(tree));
      const r = await execa(file, [...pre, '-i', 'hosts.yaml', '-e', `tree=${tree}`, 'playbook.yml'], { cwd: caseDir, env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 300_000 });
      // Ansible's mount module leaves what it mounts in the tree (imgplay's guard undoes its own): taken down
      // before the tree is listed, compared and removed.
      await takeDownMountsUnder(tree, mountedBefore);
      // The tree's own path (a temp dir) reads as $TREE, so runs in two copies, or stored from another, compare.
      const hide = (text: string) => text.split(tree).join('$TREE');
      const stdout = String(r.stdout);
      const results = hide(await readFile(join(tree, 'root/results'), 'utf8').catch(() => '(none)'));
      return { exitCode: r.exitCode, output: hide(`${stdout}\n${String(r.stderr)}`), recap: parseRecap(stdout), results, listing: await treeListing(tree) };
    };
    const ansible = await oracle(async () => {
      const out: ChrootRun[] = [];
      for (let i = 0; i < runs; i++) out.push(await once('/usr/bin/ansible-playbook', [], trees.ansible.root));
      return out;
    });
    const imgplay: ChrootRun[] = [];
    for (let i = 0; i < runs; i++) imgplay.push(await once(process.execPath, [join(repoRoot, 'bin', 'imgplay.js')], trees.imgplay.root));
    return { ansible, imgplay };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The lines only one of two listings has, each marked with the side that has it. */
export function listingDifferences(a: readonly string[], b: readonly string[]): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((l) => !sb.has(l)).map((l) => `ansible only: ${l}`), ...b.filter((l) => !sa.has(l)).map((l) => `imgplay only: ${l}`)];
}
