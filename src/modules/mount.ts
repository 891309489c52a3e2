// Mounts and unmounts for a build, through the connection's mount guard: every mount is undone
// when the run ends (also on failure). In a chroot the tree's own fstab is kept as Ansible keeps it; on the
// build host an fstab is written only when `fstab` names one.
import { access, mkdir, readFile, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { Connection } from '../connection/types.js';
import { MountError } from '../host/mount-guard.js';
import { isMountPoint, mountTable } from '../host/mount-table.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { atomicWrite } from '../host/atomic-write.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { hostPathFollow, statOrUndefined, targetPathOf } from './support/target-path.js';
import { backupFile } from './support/backup.js';
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
    choices: ['mounted', 'unmounted', 'present', 'absent', 'absent_from_fstab', 'remounted', 'ephemeral'],
    description:
      '`mounted` (the fstab entry, then mount, or remount when the entry changed), `ephemeral` (mount if nothing is mounted at `path`, no fstab), `unmounted`, `absent` (drop the fstab entry; a mount that had one is unmounted and its empty mount point removed), `absent_from_fstab` (the entry only), `remounted`, `present` (the entry only).',
  },
  fstab: {
    description: "The fstab file to keep an entry in, on the target. In a chroot it defaults to the tree's own `/etc/fstab`, as Ansible's; on the build host (local connection) it has **no default**: without it no fstab is touched.",
  },
  dump: { default: '0', description: 'The fstab dump field.' },
  passno: { default: '0', description: 'The fstab pass field.' },
  boot: { type: 'bool', default: true, description: 'In the fstab entry: `false` adds `noauto`, unless the options say `noauto` or `defaults` (a warning, as the module).' },
  backup: { type: 'bool', default: false, description: 'Copy the fstab to a dated backup before changing it (`backup_file`).' },
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
        "On the build host (local connection) `fstab` has no default: Ansible's writes `/etc/fstab` for `mounted`/`present`/`absent`, and on-imagebuilder's playbooks polluted build hosts' fstab that way. Build mounts belong to the build. In a chroot the default is the tree's `/etc/fstab`, as Ansible's (devsec's os_hardening writes /proc's `hidepid` there).",
        'Mounts do not outlive the run.',
        '`rbind` is refused.',
        'In check mode a missing fstab is not made (the module makes an empty one even then).',
        '`fstype` is not required with `opts: bind` (Ansible requires it with `src` for `mounted`, `present` and `ephemeral`).',
        "ansible.posix 1.5.4's (Debian's ansible) arguments; later ones (`absent_mount`, `opts_no_log`) are not known.",
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
    let optList = (args.opts ?? 'defaults').split(',');
    if (optList.includes('rbind') || optList.includes('rprivate')) {
      return failed("recursive binds (rbind) are not supported: the mount guard undoes mounts one by one; bind each directory you need");
    }
    const needsSrc = args.state === 'mounted' || args.state === 'present' || args.state === 'ephemeral';
    if (needsSrc && args.fstype === undefined && !optList.includes('bind')) {
      return failed(`state is ${args.state} but all of the following are missing: fstype`);
    }
    const warnings: string[] = [];
    // The module reads the target's mount table for bind mounts first: a tree without /proc has none.
    if (!(await access(join(conn.root, 'proc/self/mountinfo')).then(() => true, () => false))) {
      warnings.push('Cannot open file /proc/self/mountinfo. Bind mounts might be misinterpreted.');
    }
    // boot as ansible.posix 1.5.4 takes it on Linux: `noauto` in the options, unless they say noauto or defaults.
    let boot = 'yes';
    if (optList.includes('noauto')) warnings.push("Ignore the 'boot' due to 'opts' contains 'noauto'.");
    else if (!args.boot) {
      boot = 'no';
      if (optList.includes('defaults')) warnings.push("Ignore the 'boot' due to 'opts' contains 'defaults'.");
      else optList = [...optList, 'noauto'];
    }
    const opts = optList.join(',');
    // A chroot's fstab is the image's own, and Ansible's default; the build host's is never edited unasked.
    const fstab = args.fstab ?? (conn.kind === 'chroot' ? '/etc/fstab' : undefined);
    const result: ModuleResult = {
      changed: false,
      name: path,
      opts,
      dump: args.dump,
      passno: args.passno,
      ...(fstab !== undefined ? { fstab } : {}),
      boot,
      backup_file: '',
      ...(args.src !== undefined ? { src: args.src } : {}),
      ...(args.fstype !== undefined ? { fstype: args.fstype } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
    const entry: FstabEntry = { src: args.src ?? 'None', name: path, fstype: args.fstype ?? 'None', opts, dump: args.dump, passno: args.passno };
    try {
      const target = await hostPathFollow(conn, path);
      const mounted = isMountPoint(await mountTable(), target);
      const usesFstab = args.state !== 'ephemeral' && args.state !== 'remounted' && args.state !== 'unmounted';
      if (fstab === undefined && (args.state === 'present' || args.state === 'absent_from_fstab')) {
        return failed(`state=${args.state} only edits an fstab, and imgplay edits one on the build host only when \`fstab\` names it (it never edits the build host's /etc/fstab by default)`);
      }
      const table = fstab !== undefined && usesFstab ? await openFstab(conn, fstab, check) : undefined;
      // Writes the table's new text (a backup first when asked); returns whether it changed.
      const save = async (next: { text: string; changed: boolean }): Promise<boolean> => {
        if (table === undefined || !next.changed || check) return next.changed;
        if (args.backup && table.existed) result.backup_file = targetPathOf(conn, await backupFile(table.host));
        await atomicWrite(table.host, { data: next.text });
        return true;
      };
      switch (args.state) {
        case 'absent_from_fstab':
          result.changed = await save(unsetEntry(table?.text ?? '', path, args.src));
          break;
        case 'absent': {
          // As Ansible: only a mount whose fstab entry was there is unmounted, and its mount point removed.
          const removed = table === undefined ? mounted : await save(unsetEntry(table.text, path, args.src));
          if (removed && !check) {
            if (mounted) await unmount(conn, target);
            await rmdir(target).catch((err: NodeJS.ErrnoException) => {
              if (err.code !== 'ENOENT') throw new MountError(`Error rmdir ${path}: ${describeFsError(err)}`);
            });
          }
          result.changed = removed;
          break;
        }
        case 'unmounted':
          if (mounted) {
            result.changed = true;
            if (!check) await unmount(conn, target);
          }
          break;
        case 'mounted':
        case 'ephemeral': {
          const made = check ? [] : await makeDirs(target);
          const changed = args.state === 'ephemeral' || table === undefined ? false : await save(setEntry(table.text, entry));
          result.changed = changed;
          if (mounted) {
            // As Ansible: a mount whose fstab entry changed is remounted with the new options.
            if (changed && !check) await remount(conn, target, optList);
          } else {
            result.changed = true;
            if (!check) {
              try {
                await mountOn(conn, args, target, optList);
              } catch (err) {
                // A failed mount leaves the fstab and the folders as they were (ansible/ansible#59183).
                if (table !== undefined && changed) await atomicWrite(table.host, { data: table.text });
                for (const dir of made.reverse()) await rmdir(dir).catch(() => undefined);
                throw new MountError(`Error mounting ${path}: ${(err as Error).message}`);
              }
            }
          }
          break;
        }
        case 'present':
          result.changed = await save(setEntry(table?.text ?? '', entry));
          break;
        case 'remounted':
          result.changed = true;
          if (check) break;
          if (mounted) await remount(conn, target, optList);
          else await mountOn(conn, args, target, optList);
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
  await leaveUtabFolder(conn);
}

async function remount(conn: Connection, target: string, opts: string[]): Promise<void> {
  const r = await execa('mount', ['-o', ['remount', ...opts.filter((o) => o !== 'defaults')].join(','), '--', target], { reject: false, all: true, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new MountError(`could not remount ${target}: ${(r.all ?? '').trim()}`);
  await leaveUtabFolder(conn);
}

async function unmount(conn: Connection, target: string): Promise<void> {
  if (conn.mounts.mounts.includes(target)) await conn.mounts.unmount(target);
  else {
    // Not ours (made before the run or by hand): unmounting it is what the task asks for.
    const r = await execa('umount', ['--', target], { reject: false, all: true, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new MountError(`could not unmount ${target}: ${(r.all ?? '').trim()}`);
  }
  await leaveUtabFolder(conn);
}

// Ansible's module runs mount(8) inside the image, and libmount there makes /run/mount (for its utab): the
// image gets that folder from imgplay too, so both leave the same tree.
async function leaveUtabFolder(conn: Connection): Promise<void> {
  if (conn.kind !== 'chroot') return;
  const run = await hostPathFollow(conn, '/run');
  if (!(await statOrUndefined(run))?.isDirectory()) return;
  await mkdir(join(run, 'mount'), { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
}

/** One fstab line's fields, as ansible.posix's mount writes them. */
interface FstabEntry {
  src: string;
  name: string;
  fstype: string;
  opts: string;
  dump: string;
  passno: string;
}

// The fstab on the target, made (empty, with its folder) when missing, as the module does for every state but
// ephemeral (not in check mode, which writes nothing).
async function openFstab(conn: Connection, fstab: string, check: boolean): Promise<{ host: string; text: string; existed: boolean }> {
  const host = await hostPathFollow(conn, fstab);
  const text = await readFile(host, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined && !check) {
    await mkdir(dirname(host), { recursive: true });
    await atomicWrite(host, { data: '' });
  }
  return { host, text: text ?? '', existed: text !== undefined };
}

// fstab's escapes for a field: backslash, space and ampersand.
function escapeField(v: string): string {
  return v.replace(/\\/g, '\\134').replace(/ /g, '\\040').replace(/&/g, '\\046');
}

// The file's lines with their ends (the last one may lack its newline).
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

// A line's fields; none for a blank line or a comment.
function fieldsOf(line: string): string[] {
  const t = line.trim();
  return t === '' || t.startsWith('#') ? [] : t.split(/\s+/);
}

// Whether a line's fields name this mount point (a swap line by its source too).
function namesMount(fields: readonly string[], name: string, src: string | undefined): boolean {
  if (fields[1] !== escapeField(name)) return false;
  return !(src !== undefined && fields[1] === 'none' && fields[2] === 'swap' && fields[0] !== src);
}

// The module's set_mount: every line for the mount point gets the fields that differ (a line of 4 or 5 fields
// gains dump and passno), and a missing entry is appended; other lines stay as written.
function setEntry(text: string, entry: FstabEntry): { text: string; changed: boolean } {
  const want = Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, escapeField(v)])) as unknown as FstabEntry;
  const keys = ['src', 'name', 'fstype', 'opts', 'dump', 'passno'] as const;
  const out: string[] = [];
  let exists = false;
  let changed = false;
  for (let line of linesOf(text)) {
    if (!line.endsWith('\n')) line += '\n';
    const fields = fieldsOf(line);
    if (fields.length < 4 || fields.length > 6 || !namesMount(fields, entry.name, entry.src)) {
      out.push(line);
      continue;
    }
    exists = true;
    const differs = keys.some((k, i) => fields[i] !== want[k]);
    if (differs) changed = true;
    out.push(differs ? `${keys.map((k) => want[k]).join(' ')}\n` : line);
  }
  if (!exists) {
    out.push(`${keys.map((k) => want[k]).join(' ')}\n`);
    changed = true;
  }
  return { text: out.join(''), changed };
}

// The module's unset_mount: lines of six fields for the mount point are dropped.
function unsetEntry(text: string, name: string, src: string | undefined): { text: string; changed: boolean } {
  const out: string[] = [];
  let changed = false;
  for (const line of linesOf(text)) {
    const fields = fieldsOf(line);
    if (fields.length === 6 && namesMount(fields, name, src)) changed = true;
    else out.push(line);
  }
  return { text: out.join(''), changed };
}

// mkdir -p that says which folders it made, so a failed mount can take them away again.
async function makeDirs(target: string): Promise<string[]> {
  const made: string[] = [];
  const missing: string[] = [];
  for (let dir = target; dir !== dirname(dir); dir = dirname(dir)) {
    if ((await statOrUndefined(dir)) !== undefined) break;
    missing.unshift(dir);
  }
  for (const dir of missing) {
    await mkdir(dir);
    made.push(dir);
  }
  return made;
}
