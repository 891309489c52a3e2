// The TARGET's account database (/etc/passwd, /etc/shadow, /etc/group) read as files, and its shadow
// tools found in its own PATH: user and group must never consult the build host's getpwnam.
import { readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { CHROOT_ENV } from '../../connection/chroot.js';
import type { Connection } from '../../connection/types.js';
import { type ModuleResult, failed } from '../types.js';

/** One /etc/passwd entry, with the password from /etc/shadow when passwd only says 'x'. */
export interface PasswdEntry {
  name: string;
  password: string;
  uid: number;
  gid: number;
  comment: string;
  home: string;
  shell: string;
  /** Account expiry in days since the epoch (shadow's 8th field), -1 when unset. */
  expires: number;
  /** Minimum and maximum days between password changes (shadow's 4th and 5th fields), -1 when unset. */
  passwordMin: number;
  passwordMax: number;
}

/** One /etc/group entry. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A snapshot of the target's accounts, read once per task run. */
export interface AccountDb {
  users: PasswdEntry[];
  groups: GroupEntry[];
}

/** Reads the target's passwd, shadow and group files (a missing file is an empty table). */
export async function readAccountDb(conn: Connection): Promise<AccountDb> {
  const [passwd, shadow, group] = await Promise.all([readTarget(conn, '/etc/passwd'), readTarget(conn, '/etc/shadow'), readTarget(conn, '/etc/group')]);
  const shadowByName = new Map<string, string[]>();
  for (const f of rows(shadow)) if (!shadowByName.has(f[0] as string)) shadowByName.set(f[0] as string, f);
  const users: PasswdEntry[] = [];
  for (const f of rows(passwd)) {
    if (f.length < 7) continue;
    const sh = shadowByName.get(f[0] as string);
    let password = f[1] as string;
    // As Ansible's user_info: a one-character passwd field ('x', '*') defers to shadow.
    if (password.length <= 1) password = sh?.[1] ?? '';
    const exp = sh?.[7] ?? '';
    const days = (v: string | undefined) => (v === undefined || v === '' || Number.isNaN(Number(v)) ? -1 : Number(v));
    users.push({
      name: f[0] as string,
      password,
      uid: Number(f[2]),
      gid: Number(f[3]),
      comment: f[4] as string,
      home: f[5] as string,
      shell: f[6] as string,
      expires: days(exp),
      passwordMin: days(sh?.[3]),
      passwordMax: days(sh?.[4]),
    });
  }
  const groups: GroupEntry[] = rows(group)
    .filter((f) => f.length >= 3)
    .map((f) => ({ name: f[0] as string, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') }));
  return { users, groups };
}

/** The first entry of that name, as getpwnam returns it. */
export function findUser(db: AccountDb, name: string): PasswdEntry | undefined {
  return db.users.find((u) => u.name === name);
}

/** A group by gid (a numeric argument) first, then by name, as Ansible's group_exists tries them. */
export function findGroup(db: AccountDb, group: string): GroupEntry | undefined {
  if (/^\s*[+-]?\d+\s*$/.test(group)) {
    const byId = db.groups.find((g) => g.gid === Number(group));
    if (byId !== undefined) return byId;
  }
  return db.groups.find((g) => g.name === group);
}

// The target path of a tool in the target's PATH (the chroot's fixed one), or undefined if absent.
async function findTargetTool(conn: Connection, tool: string): Promise<string | undefined> {
  for (const dir of (CHROOT_ENV.PATH as string).split(':')) {
    const path = posix.join(dir, tool);
    const st = await stat(await conn.hostPath(path)).catch(() => undefined);
    if (st?.isFile() && (st.mode & 0o111) !== 0) return path;
  }
  return undefined;
}

// The relevant lines of a shadow tool's stderr (its own words, without blank lines), for a message.
function toolWords(stderr: string, stdout = ''): string {
  const lines = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.slice(0, 4).join('; ') || 'no output';
}

/** What a shadow tool did; `failure` is the failed task result when it could not run or exited non-zero. */
export interface Ran {
  rc: number;
  stdout: string;
  stderr: string;
  failure?: ModuleResult;
}

/** Runs one of shadow's tools inside the target; a missing tool or a non-zero exit becomes a failed result. */
export async function runTool(conn: Connection, tool: string, argv: string[], signal?: AbortSignal): Promise<Ran> {
  const path = await findTargetTool(conn, tool);
  if (path === undefined) {
    const r = { rc: 127, stdout: '', stderr: '' };
    return { ...r, failure: failed(`${tool} is not installed in the target (${conn.describe()}): install the ${tool.startsWith('l') ? 'libuser' : 'passwd'} package in the image`, { rc: 127 }) };
  }
  const res = await conn.exec([path, ...argv], { signal });
  const r = { rc: res.rc, stdout: res.stdout, stderr: res.stderr };
  if (res.rc === 0) return r;
  const who = argv.at(-1) ?? '';
  return {
    ...r,
    failure: failed(`${tool} failed for '${who}' (exit ${res.rc}): ${toolWords(res.stderr, res.stdout)}`, {
      name: who,
      rc: res.rc,
      ...(res.stdout ? { stdout: res.stdout } : {}),
      ...(res.stderr ? { stderr: res.stderr } : {}),
    }),
  };
}

async function readTarget(conn: Connection, path: string): Promise<string> {
  try {
    return await readFile(await conn.hostPath(path), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('+') && !l.startsWith('-'))
    .map((l) => l.split(':'));
}
