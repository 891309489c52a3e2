// Mounts and unmounts for a build, through the connection's mount guard: every mount is undone
// when the run ends (also on failure), and an fstab is written only when `fstab` names one.
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { execa } from 'execa';
import type { Connection } from '../connection/types.js';
import { MountError } from '../host/mount-guard.js';
import { isMountPoint, mountTable } from '../host/mount-table.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { atomicWrite } from '../host/atomic-write.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { hostPathFollow } from './support/target-path.js';
import { type ModuleResult, failed } from './types.js';

const mountArgs = {
  path: { type: 'path', required: true, aliases: ['name'], description: 'The mount point; created if missing.' },
  src: {
    type: 'path',
    description: '`tmpfs`, `proc`, a device, an image file (with `opts: loop`), or a directory (with `opts: bind`).',
  },
  fstype: { description: '`-t`; not needed with `bind`.' },
  opts: {
    description: 'Mount options, comma-separated (unset: `defaults`). `bind` and `bind,ro` work; `rbind` is refused (the guard undoes mounts one by one).',
  },
  state: {
    required: true,
    choices: ['mounted', 'unmounted', 'present', 'absent', 'remounted', 'ephemeral'],
    description:
      '`mounted` and `ephemeral` (mount if nothing is mounted at `path`), `unmounted`, `absent` (unmount, then remove the empty mount point), `remounted`, `present` (fstab only).',
  },
  fstab: { description: 'The fstab file to keep an entry in, on the target. **No default**: without it no fstab is touched.' },
  dump: { default: '0', description: 'The fstab dump field.' },
  passno: { default: '0', description: 'The fstab pass field.' },
  boot: { type: 'bool', default: true, description: 'In the fstab entry: `false` adds `noauto`.' },
  backup: { type: 'bool', default: false, description: 'Accepted and ignored: no fstab is kept as a backup.' },
} as const satisfies Record<string, ArgSpec>;

/** mount's arguments (ansible.posix.mount's names), aliases folded. */
export type MountArgs = ArgsOf<typeof mountArgs>;

export const mount = defineModule(
  {
    name: 'mount',
    collection: 'ansible.posix',
    otherNames: ['ansible.builtin.mount'],
    doc: {
      short: 'Mounts and unmounts on the build host for the build, through the mount guard.',
      description: `Every mount goes through the connection's mount guard, which records it and undoes it (innermost first) when the run ends, whether the play succeeded, failed or was interrupted. For a chroot target, \`path\` and a path \`src\` (a bind source, an image file, a device) are paths inside the tree, resolved there the way every file path of a chroot is: a symlink in the tree pointing at \`/var/tmp\` leads to the tree's own \`/var/tmp\`, never the host's.

Every mount is made private right after it is made (so unmounting it cannot propagate to the host's mounts), and a mount point that is a symlink, or is reached through one, is refused.`,
      checkMode: 'Predicts the change and mounts nothing.',
      differences: [
        "`fstab` has no default: Ansible's writes `/etc/fstab` for `mounted`/`present`/`absent`, and on-imagebuilder's playbooks polluted build hosts' fstab that way. Build mounts belong to the build.",
        'Mounts do not outlive the run.',
        '`rbind` is refused; `backup` is accepted and ignored.',
        '`fstype` is not required with `opts: bind` (Ansible requires it with `src` for `mounted`, `present` and `ephemeral`).',
        "Newer ansible.posix's `absent_from_fstab`/`absent_mount` states and `opts_no_log` are not known.",
      ],
    },
    args: mountArgs,
    // Ansible requires src and fstype; fstype is checked in the run, since a bind mount needs none.
    requiredIf: [
      ['state', 'mounted', ['src']],
      ['state', 'present', ['src']],
      ['state', 'ephemeral', ['src']],
    ],
    checkMode: 'full',
  },
  async ({ conn, args, check }) => {
    const path = args.path;
    const opts = (args.opts ?? 'defaults').split(',').map((o) => o.trim()).filter((o) => o !== '');
    if (opts.includes('rbind') || opts.includes('rprivate')) {
      return failed("recursive binds (rbind) are not supported: the mount guard undoes mounts one by one; bind each directory you need");
    }
    const needsSrc = args.state === 'mounted' || args.state === 'present' || args.state === 'ephemeral';
    if (needsSrc && args.fstype === undefined && !opts.includes('bind')) {
      return failed(`state is ${args.state} but all of the following are missing: fstype`);
    }
    const result: ModuleResult = {
      changed: false,
      name: path,
      src: args.src,
      fstype: args.fstype,
      opts: opts.join(','),
      dump: args.dump,
      passno: args.passno,
      ...(args.fstab !== undefined ? { fstab: args.fstab } : {}),
    };
    try {
      const target = await hostPathFollow(conn, path);
      const mounted = isMountPoint(await mountTable(), target);
      if (args.fstab !== undefined && args.state !== 'ephemeral' && args.state !== 'remounted' && args.state !== 'unmounted') {
        if (await editFstab(conn, args, path, opts, check)) result.changed = true;
      } else if (args.state === 'present') {
        return failed("state=present only writes an fstab, and imgplay writes one only when `fstab` names it (it never edits the build host's /etc/fstab by default)");
      }
      switch (args.state) {
        case 'mounted':
        case 'ephemeral':
          if (!mounted) {
            result.changed = true;
            if (!check) await mountOn(conn, args, target, opts);
          }
          break;
        case 'remounted':
          result.changed = true;
          if (check) break;
          if (mounted) await remount(target, opts);
          else await mountOn(conn, args, target, opts);
          break;
        case 'unmounted':
        case 'absent':
          if (mounted) {
            result.changed = true;
            if (!check) await unmount(conn, target);
          }
          // Ansible removes the mount point of an absent mount; an empty directory only, never contents.
          if (args.state === 'absent' && !check && (await rmdir(target).then(() => true, () => false))) result.changed = true;
          break;
        case 'present':
          break;
      }
      return result;
    } catch (err) {
      if (err instanceof MountError) return failed(err.message);
      if (isFsError(err)) return failed(describeFsError(err));
      throw err;
    }
  },
);

async function mountOn(conn: Connection, args: MountArgs, target: string, opts: string[]): Promise<void> {
  await mkdir(target, { recursive: true });
  const bind = opts.includes('bind');
  // A path source (bind, loop image, device) is a path on the target, as in Ansible; names such as proc or tmpfs are not.
  const source = (args.src as string).startsWith('/') ? await hostPathFollow(conn, args.src as string) : (args.src as string);
  const rest = opts.filter((o) => o !== 'bind' && o !== 'defaults');
  await conn.mounts.mount({
    source,
    target,
    fstype: bind || args.fstype === 'none' ? undefined : args.fstype,
    options: rest,
    bind,
  });
}

async function remount(target: string, opts: string[]): Promise<void> {
  const r = await execa('mount', ['-o', ['remount', ...opts.filter((o) => o !== 'defaults')].join(','), '--', target], { reject: false, all: true, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new MountError(`could not remount ${target}: ${(r.all ?? '').trim()}`);
}

async function unmount(conn: Connection, target: string): Promise<void> {
  if (conn.mounts.mounts.includes(target)) return conn.mounts.unmount(target);
  // Not ours (made before the run or by hand): unmounting it is what the task asks for.
  const r = await execa('umount', ['--', target], { reject: false, all: true, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new MountError(`could not unmount ${target}: ${(r.all ?? '').trim()}`);
}

// One line per mount point, fields separated by single spaces (Ansible's format); returns whether the file changed.
async function editFstab(conn: Connection, args: MountArgs, path: string, opts: string[], check: boolean): Promise<boolean> {
  const host = await hostPathFollow(conn, args.fstab as string);
  const before = await readFile(host, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const escape = (s: string) => s.replace(/ /g, '\\040').replace(/\t/g, '\\011');
  const lines = before.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const isOurs = (line: string) => {
    const fields = line.trim().split(/\s+/);
    return !line.trim().startsWith('#') && fields[1] === escape(path);
  };
  const kept = lines.filter((l) => !isOurs(l));
  let next = kept;
  if (args.state !== 'absent') {
    const fstabOpts = args.boot ? opts : [...opts.filter((o) => o !== 'defaults'), 'noauto'];
    const entry = [args.src ?? 'none', path, args.fstype ?? 'none', fstabOpts.join(','), args.dump, args.passno].map((f) => escape(String(f))).join(' ');
    const at = lines.findIndex(isOurs);
    next = [...lines];
    if (at >= 0) {
      next = lines.filter((l, i) => i === at || !isOurs(l));
      next[next.findIndex(isOurs)] = entry;
    } else next.push(entry);
  }
  const after = next.length > 0 ? `${next.join('\n')}\n` : '';
  if (after === before) return false;
  if (!check) await atomicWrite(host, { data: after });
  return true;
}
