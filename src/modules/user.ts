// Adds, changes and removes accounts in the TARGET image, as Ansible's user module does on Linux: the
// state comes from the target's own /etc files and the changes from its own useradd/usermod/userdel.
import { chmod, cp, lchown, mkdir, readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Connection } from '../connection/types.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { type AccountDb, type Ran, findGroup, findUser, readAccountDb, runTool } from './support/account-db.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { lstatOrUndefined } from './support/target-path.js';
import { type ModuleResult, failed } from './types.js';

const ignoredElsewhere = (os: string): string => `Accepted and ignored, as Ansible ignores it on Linux (${os} only).`;

const userArgs = {
  state: { default: 'present', choices: ['absent', 'present'], description: 'Whether the account should exist.' },
  name: { required: true, aliases: ['user'], description: 'The account.' },
  uid: { type: 'int', description: 'The uid; changed with `usermod -u` when it differs.' },
  non_unique: { type: 'bool', default: false, description: 'With `uid`: allow a uid already in use (`-o`).' },
  group: {
    description:
      'Primary group (name or gid); it must exist in the target. Without it a new account gets useradd\'s default (a group of its name, or `-N` when that group already exists).',
  },
  groups: {
    type: 'list',
    elements: 'str',
    description: 'Supplementary groups: a list or a comma-separated string; each must exist. Without `append` the account gets exactly these (an empty list removes all).',
  },
  comment: { description: 'The GECOS field.' },
  home: { type: 'path', description: 'Home directory.' },
  shell: { description: 'Login shell.' },
  password: {
    description:
      'A crypt hash, set verbatim (a warning when it does not look like one). Changed when it differs from the shadow entry, leading `!` ignored on both sides.',
  },
  login_class: { description: ignoredElsewhere('BSD') },
  password_expire_max: { type: 'int', description: "Maximum days between password changes: the target's `chage -M` when the shadow entry differs." },
  password_expire_min: { type: 'int', description: "Minimum days between password changes: the target's `chage -m` when the shadow entry differs." },
  hidden: { type: 'bool', description: ignoredElsewhere('macOS') },
  seuser: { description: 'The SELinux user (`useradd -Z`).', refused: 'images are built without an SELinux policy.' },
  force: { type: 'bool', default: false, description: 'With `absent`: `userdel -f`.' },
  remove: { type: 'bool', default: false, description: 'With `absent`: remove the home and mail spool (`userdel -r`).' },
  create_home: {
    type: 'bool',
    default: true,
    aliases: ['createhome'],
    description: 'Create the home (from `skeleton`) for a new account, and for an existing one whose home is missing.',
  },
  skeleton: { description: "Skeleton directory in the target (unset: useradd's default, `/etc/skel`)." },
  system: { type: 'bool', default: false, description: 'Create a system account (uid below 1000, `useradd -r`); only used when creating.' },
  move_home: { type: 'bool', default: false, description: 'When `home` changes, move the contents (`usermod -m`).' },
  append: { type: 'bool', default: false, description: "Add `groups` to the account's others instead of replacing them." },
  generate_ssh_key: { type: 'bool', description: 'Generate an SSH key pair for the account.', refused: 'SSH keys are not generated into images (every machine booting the image would share them).' },
  ssh_key_bits: { type: 'int', description: 'With `generate_ssh_key`.', refused: 'SSH keys are not generated into images.' },
  ssh_key_type: { description: 'With `generate_ssh_key`.', refused: 'SSH keys are not generated into images.' },
  ssh_key_file: { type: 'path', description: 'With `generate_ssh_key`.', refused: 'SSH keys are not generated into images.' },
  ssh_key_comment: { description: 'With `generate_ssh_key`.', refused: 'SSH keys are not generated into images.' },
  ssh_key_passphrase: { description: 'With `generate_ssh_key`.', refused: 'SSH keys are not generated into images.' },
  update_password: { default: 'always', choices: ['always', 'on_create'], description: '`on_create` sets `password` only when the account is created.' },
  expires: { type: 'float', description: 'Expiry in seconds since the epoch (compared by date); negative removes it.' },
  password_lock: { type: 'bool', description: '`true` locks (`!` prefix), `false` unlocks.' },
  local: { type: 'bool', description: "Use libuser's luseradd/lusermod/luserdel.", refused: "libuser's tools are not implemented for accounts (group has them)." },
  profile: { description: ignoredElsewhere('Solaris') },
  authorization: { description: ignoredElsewhere('Solaris') },
  role: { description: ignoredElsewhere('Solaris') },
  umask: { description: 'With `create_home`: the UMASK useradd uses for the home.' },
} as const satisfies Record<string, ArgSpec>;

/** user's arguments, aliases folded (name for user, create_home for createhome). */
export type UserArgs = ArgsOf<typeof userArgs>;

export const user = defineModule(
  {
    name: 'user',
    doc: {
      short: 'Adds, changes or removes an account in the image.',
      description:
        "The current state is read from the target's own `/etc/passwd`, `/etc/shadow` and `/etc/group` (never the build host's `getent`), and changes are made by the target's own `useradd`, `usermod` and `userdel` (run inside the chroot); a target without the tool fails naming it.",
      returns:
        "`changed` follows Ansible's rule: true when a tool ran (useradd, a usermod with at least one option, userdel) or a missing home was created. Returns `name`, `state`, `uid`, `group` (the primary gid), `comment`, `home`, `shell`, `groups` (the requested list, comma-joined, when given), `system` and `create_home` for a new account, `append` and `move_home` for an existing one, `force` and `remove` for a removed one, `password: NOT_LOGGING_PASSWORD` when a password was given, and the tool's `stdout`/`stderr`.",
      checkMode: 'Predicts the same `changed` and runs nothing; as in Ansible, a new or removed account is reported as `{changed: true}` alone.',
      differences: [
        'Refused: `generate_ssh_key` and the `ssh_key_*` options, `local`, `seuser`. Accepted and ignored as on Linux: `login_class`, `hidden`, `profile`, `authorization`, `role`.',
        "A failure message names the tool, the account, the exit code and the tool's own first lines (`useradd failed for 'bob' (exit 4): useradd: UID 1500 is not unique`); Ansible's msg is the raw stderr.",
        'A gid in `groups` is compared by its group\'s name, so it does not report `changed` on every run.',
        "`-G` lists the groups in the order given (Ansible's order is a set's).",
        'A home built by the module (missing parents, or a missing home of an existing account) is chowned with lchown, so links copied from the skeleton keep their owner and are never followed.',
      ],
    },
    args: userArgs,
    checkMode: 'full',
  },
  async ({ conn, args, check, signal }) => {
    const name = args.name;
    const createHome = args.create_home;
    const warnings: string[] = [];
    if (args.password !== undefined && looksUnhashed(args.password)) {
      warnings.push("The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.");
    }
    const withWarnings = (r: ModuleResult): ModuleResult => (warnings.length > 0 ? { ...r, warnings } : r);
    try {
      const db = await readAccountDb(conn);
      const existing = findUser(db, name);
      const result: ModuleResult = { name, state: args.state };
      let ran: Ran | undefined;

      if (args.state === 'absent') {
        if (existing === undefined) return withWarnings({ ...result, changed: false });
        if (check) return withWarnings({ changed: true });
        const argv = [...(args.force ? ['-f'] : []), ...(args.remove ? ['-r'] : []), name];
        ran = await runTool(conn, 'userdel', argv, signal);
        if (ran.failure) return ran.failure;
        Object.assign(result, { force: args.force, remove: args.remove });
        return withWarnings(finish(result, ran));
      }

      if (existing === undefined) {
        // Ansible predicts a new account without looking further (not even at its groups).
        if (check) return withWarnings({ changed: true });
        const argv = await useraddArgv(conn, db, name, args, createHome);
        if (typeof argv === 'string') return failed(argv);
        // useradd -m cannot make missing parents; Ansible builds the home itself first, then chowns it.
        const needsParents = args.home !== undefined && createHome && !(await isDir(conn, posix.dirname(args.home)));
        if (needsParents) await createHomedir(conn, args.home as string, args.skeleton);
        ran = await runTool(conn, 'useradd', argv, signal);
        if (ran.failure) return ran.failure;
        const made = findUser(await readAccountDb(conn), name);
        if (needsParents && made !== undefined) await chownTree(conn, args.home as string, made.uid, made.gid);
        Object.assign(result, { system: args.system, create_home: createHome });
      } else {
        const argv = usermodArgv(db, existing, args);
        if (typeof argv === 'string') return failed(argv);
        if (argv.length > 0) {
          ran = check ? { rc: 0, stdout: '', stderr: '' } : await runTool(conn, 'usermod', [...argv, name], signal);
          if (ran.failure) return ran.failure;
        }
        Object.assign(result, { append: args.append, move_home: args.move_home });
      }
      if (args.password !== undefined) result.password = 'NOT_LOGGING_PASSWORD';
      finish(result, ran);

      const now = findUser(check ? db : await readAccountDb(conn), name);
      if (now !== undefined) {
        Object.assign(result, { uid: now.uid, group: now.gid, comment: now.comment, home: now.home, shell: now.shell });
        if (args.groups !== undefined) result.groups = args.groups.join(',');
        // As Ansible: an account whose home is missing gets one, even when only the home was wrong.
        const home = args.home ?? now.home;
        if (createHome && (await lstatOrUndefined(await conn.hostPath(home))) === undefined) {
          if (!check) {
            await createHomedir(conn, home, args.skeleton);
            await chownTree(conn, home, now.uid, now.gid);
          }
          result.changed = true;
        }
        // Password ageing last, as Ansible's set_password_expire: chage with what differs from the shadow entry.
        const ageing = [
          ...(args.password_expire_min !== undefined && args.password_expire_min !== now.passwordMin ? ['-m', String(args.password_expire_min)] : []),
          ...(args.password_expire_max !== undefined && args.password_expire_max !== now.passwordMax ? ['-M', String(args.password_expire_max)] : []),
        ];
        if (ageing.length > 0) {
          if (!check) {
            const aged = await runTool(conn, 'chage', [...ageing, name], signal);
            if (aged.failure) return aged.failure;
          }
          result.changed = true;
        }
      }
      return withWarnings(result);
    } catch (err) {
      if (isFsError(err)) return failed(`user '${name}': ${describeFsError(err)}`);
      throw err;
    }
  },
);

// Ansible's rule: changed exactly when a tool ran; its output rides along.
function finish(result: ModuleResult, ran: Ran | undefined): ModuleResult {
  result.changed = ran !== undefined;
  if (ran?.stdout) result.stdout = ran.stdout;
  if (ran?.stderr) result.stderr = ran.stderr;
  return result;
}

async function useraddArgv(conn: Connection, db: AccountDb, name: string, args: UserArgs, createHome: boolean): Promise<string[] | string> {
  const argv: string[] = [];
  if (args.uid !== undefined) argv.push('-u', String(args.uid), ...(args.non_unique ? ['-o'] : []));
  if (args.group !== undefined) {
    if (findGroup(db, args.group) === undefined) return `Group ${args.group} does not exist`;
    argv.push('-g', args.group);
  } else if (findGroup(db, name) !== undefined) {
    // A group of the user's name exists: without -N, USERGROUPS_ENAB would make useradd refuse.
    argv.push('-N');
  }
  const groups = requestedGroups(db, args.groups);
  if (typeof groups === 'string') return groups;
  if (groups.length > 0) argv.push('-G', groups.join(','));
  if (args.comment !== undefined) argv.push('-c', args.comment);
  if (args.home !== undefined) argv.push('-d', args.home);
  if (args.shell !== undefined) argv.push('-s', args.shell);
  if (args.expires !== undefined) argv.push('-e', expiryDate(args.expires));
  if (args.password !== undefined) argv.push('-p', args.password_lock ? `!${args.password}` : args.password);
  if (createHome) {
    argv.push('-m');
    if (args.skeleton !== undefined) {
      if ((await lstatOrUndefined(await conn.hostPath(args.skeleton))) === undefined) return `skeleton directory ${args.skeleton} does not exist in the target`;
      argv.push('-k', args.skeleton);
    }
    if (args.umask !== undefined) argv.push('-K', `UMASK=${args.umask}`);
  } else {
    argv.push('-M');
  }
  if (args.system) argv.push('-r');
  argv.push(name);
  return argv;
}

// usermod's options for what differs (empty when nothing does), in Ansible's order and by its comparisons.
function usermodArgv(db: AccountDb, info: NonNullable<ReturnType<typeof findUser>>, args: UserArgs): string[] | string {
  let argv: string[] = [];
  if (args.uid !== undefined && info.uid !== args.uid) argv.push('-u', String(args.uid), ...(args.non_unique ? ['-o'] : []));
  if (args.group !== undefined) {
    const g = findGroup(db, args.group);
    if (g === undefined) return `Group ${args.group} does not exist`;
    if (info.gid !== g.gid) argv.push('-g', String(g.gid));
  }
  if (args.groups !== undefined) {
    const wanted = requestedGroups(db, args.groups);
    if (typeof wanted === 'string') return wanted;
    const current = db.groups.filter((g) => g.members.includes(info.name)).map((g) => g.name);
    const differs = wanted.filter((g) => !current.includes(g)).length > 0 || current.filter((g) => !wanted.includes(g)).length > 0;
    const needed = args.append ? wanted.some((g) => !current.includes(g)) : differs;
    if (needed) argv.push(...(args.append ? ['-a'] : []), '-G', wanted.join(','));
  }
  if (args.comment !== undefined && info.comment !== args.comment) argv.push('-c', args.comment);
  if (args.home !== undefined && info.home !== args.home) argv.push('-d', args.home, ...(args.move_home ? ['-m'] : []));
  if (args.shell !== undefined && info.shell !== args.shell) argv.push('-s', args.shell);
  if (args.expires !== undefined) {
    if (args.expires < 0) {
      if (info.expires >= 0) argv.push('-e', '');
    } else if (info.expires < 0 || expiryDate(info.expires * 86400) !== expiryDate(args.expires)) {
      argv.push('-e', expiryDate(args.expires));
    }
  }
  if (args.password_lock === true && !info.password.startsWith('!')) argv.push('-L');
  else if (args.password_lock === false && info.password.startsWith('!')) argv.push('-U');
  if (args.update_password === 'always' && args.password !== undefined && stripBang(info.password) !== stripBang(args.password)) {
    argv = argv.filter((a) => a !== '-L' && a !== '-U');
    argv.push('-p', args.password_lock ? `!${args.password}` : args.password);
  }
  return argv;
}

// The supplementary groups asked for, as names (a gid is accepted and named), each required to exist.
function requestedGroups(db: AccountDb, groups: string[] | undefined): string[] | string {
  const out: string[] = [];
  for (const raw of groups ?? []) {
    const g = raw.trim();
    if (g === '') continue;
    const found = findGroup(db, g);
    if (found === undefined) return `Group ${g} does not exist`;
    if (!out.includes(found.name)) out.push(found.name);
  }
  return out;
}

// Python's lstrip('!'): every leading '!', so '!!hash' and 'hash' are the same password.
function stripBang(s: string): string {
  return s.replace(/^!+/, '');
}

// useradd/usermod -e takes a date; a negative expiry means "never" (an empty value).
function expiryDate(seconds: number): string {
  if (seconds < 0) return '';
  return new Date(Math.floor(seconds) * 1000).toISOString().slice(0, 10);
}

// Ansible's check_password_encrypted: warn about what cannot be a crypt hash (it is still set verbatim).
function looksUnhashed(pw: string): boolean {
  if (pw === '' || ['*', '!', '*************'].includes(pw)) return false;
  if (/[:*!]/.test(pw) || !pw.includes('$')) return true;
  const f = pw.split('$');
  if (f.length < 3) return true;
  const last = f.at(-1) as string;
  if (/[^a-zA-Z0-9./=]/.test(last)) return true;
  const want: Record<string, number> = { '1': 22, '5': 43, '6': 86 };
  const len = want[f[1] as string];
  return len !== undefined && last.length !== len;
}

async function isDir(conn: Connection, path: string): Promise<boolean> {
  const st = await lstatOrUndefined(await conn.hostPath(path));
  return st?.isDirectory() ?? false;
}

// Ansible's create_homedir inside the target: a copy of the skeleton (links kept as links) or an empty
// directory, given the mode login.defs' UMASK implies.
async function createHomedir(conn: Connection, home: string, skeleton: string | undefined): Promise<void> {
  const dest = await conn.hostPath(home);
  if ((await lstatOrUndefined(dest)) !== undefined) return;
  const skel = await conn.hostPath(skeleton ?? '/etc/skel');
  if (await isDir(conn, skeleton ?? '/etc/skel')) {
    await cp(skel, dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  } else {
    await mkdir(dest, { recursive: true });
  }
  const defs = await readFile(await conn.hostPath('/etc/login.defs'), 'utf8').catch(() => '');
  let mode: number | undefined;
  for (const line of defs.split('\n')) {
    const m = /^UMASK\s+(\d+)$/.exec(line);
    if (m) mode = 0o777 & ~parseInt(m[1] as string, 8);
  }
  if (mode !== undefined) await chmod(dest, mode);
}

// lchown, not chown: a link copied from the skeleton must not hand its target (maybe outside the tree) over.
async function chownTree(conn: Connection, home: string, uid: number, gid: number): Promise<void> {
  const walk = async (host: string): Promise<void> => {
    await lchown(host, uid, gid);
    const st = await lstatOrUndefined(host);
    if (!st?.isDirectory()) return;
    for (const entry of await readdir(host)) await walk(join(host, entry));
  };
  await walk(await conn.hostPath(home));
}
