// Adds, changes and removes accounts in the TARGET image, as Ansible's user module does on Linux: the
// state comes from the target's own /etc files and the changes from its own useradd/usermod/userdel.
import { chmod, cp, lchown, mkdir, readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Connection } from '../connection/types.js';
import { type AccountDb, type Ran, findGroup, findUser, readAccountDb, runTool } from './support/account-db.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { boolArg, strArg } from './support/schema.js';
import { lstatOrUndefined } from './support/target-path.js';
import { type Module, type ModuleResult, failed } from './types.js';

/** user's arguments as they arrive (name has the alias user, create_home createhome). */
export interface UserArgs {
  name?: string;
  user?: string;
  state: 'present' | 'absent';
  uid?: number;
  non_unique: boolean;
  group?: string;
  groups?: string[];
  append: boolean;
  comment?: string;
  home?: string;
  shell?: string;
  password?: string;
  update_password: 'always' | 'on_create';
  password_lock?: boolean;
  create_home?: boolean;
  createhome?: boolean;
  skeleton?: string;
  system: boolean;
  move_home: boolean;
  force: boolean;
  remove: boolean;
  expires?: number;
  umask?: string;
}

export const user: Module<UserArgs> = {
  name: 'user',
  aliases: ['ansible.builtin.user', 'ansible.legacy.user'],
  schema: {
    type: 'object',
    properties: {
      name: strArg,
      user: strArg,
      state: { enum: ['present', 'absent'], default: 'present' },
      uid: { type: 'integer' },
      non_unique: boolArg(false),
      group: strArg,
      groups: { type: 'array', items: strArg },
      append: boolArg(false),
      comment: strArg,
      home: strArg,
      shell: strArg,
      password: strArg,
      update_password: { enum: ['always', 'on_create'], default: 'always' },
      password_lock: boolArg(),
      create_home: boolArg(),
      createhome: boolArg(),
      skeleton: strArg,
      system: boolArg(false),
      move_home: boolArg(false),
      force: boolArg(false),
      remove: boolArg(false),
      // 'integer' listed too: the executor's coercion would refuse a whole number for a plain 'number'.
      expires: { type: 'number' },
      umask: strArg,
    },
    anyOf: [{ required: ['name'] }, { required: ['user'] }],
    additionalProperties: false,
  },
  checkMode: true,
  async run({ conn, args, check, signal }) {
    const name = args.name ?? args.user;
    if (name === undefined || name === '') return failed('missing required arguments: name');
    const createHome = args.create_home ?? args.createhome ?? true;
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
      }
      return withWarnings(result);
    } catch (err) {
      if (isFsError(err)) return failed(`user '${name}': ${describeFsError(err)}`);
      throw err;
    }
  },
};

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
