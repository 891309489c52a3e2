// Mounts and unmounts for a build, through the connection's mount guard: every mount is undone
// when the run ends (also on failure), and an fstab is written only when `fstab` names one.
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { execa } from 'execa';
import type { Connection } from '../connection/types.js';
import { MountError } from '../image/mount-guard.js';
import { isMountPoint, mountTable } from '../image/mount-table.js';
import { atomicWrite } from './support/atomic-write.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { boolArg, strArg } from './support/schema.js';
import { hostPathFollow } from './support/target-path.js';
import { type Module, type ModuleResult, failed } from './types.js';

/** mount's arguments (ansible.posix.mount's names). */
export interface MountArgs {
  path?: string;
  name?: string;
  src?: string;
  fstype?: string;
  opts?: string;
  state: 'mounted' | 'unmounted' | 'present' | 'absent' | 'remounted' | 'ephemeral';
  fstab?: string;
  dump: string;
  passno: string;
  boot: boolean;
  backup: boolean;
}

export const mount: Module<MountArgs> = {
  name: 'mount',
  aliases: ['ansible.posix.mount', 'ansible.builtin.mount'],
  schema: {
    type: 'object',
    required: ['state'],
    properties: {
      path: strArg,
      name: strArg,
      src: strArg,
      fstype: strArg,
      opts: strArg,
      state: { enum: ['mounted', 'unmounted', 'present', 'absent', 'remounted', 'ephemeral'] },
      fstab: strArg,
      dump: { type: 'string', default: '0' },
      passno: { type: 'string', default: '0' },
      boot: boolArg(true),
      backup: boolArg(false),
    },
    additionalProperties: false,
  },
  checkMode: true,
  async run({ conn, args, check }) {
    const path = args.path ?? args.name;
    if (path === undefined) return failed('missing required arguments: path');
    const opts = (args.opts ?? 'defaults').split(',').map((o) => o.trim()).filter((o) => o !== '');
    if (opts.includes('rbind') || opts.includes('rprivate')) {
      return failed("recursive binds (rbind) are not supported: the mount guard undoes mounts one by one; bind each directory you need");
    }
    const needsSrc = args.state === 'mounted' || args.state === 'present' || args.state === 'ephemeral';
    if (needsSrc && (args.src === undefined || (args.fstype === undefined && !opts.includes('bind')))) {
      return failed(`state=${args.state} needs src and fstype (or opts: bind)`);
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
};

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
