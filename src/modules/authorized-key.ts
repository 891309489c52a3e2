// Adds or removes SSH keys in a user's authorized_keys file on the target, as ansible.posix.authorized_key does.
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { type ArgSpec, defineModule } from './spec.js';
import { findUser, readAccountDb } from './support/account-db.js';
import { atomicWrite } from '../host/atomic-write.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { hostPathFollow, hostPathNoFollow, statOrUndefined, targetPathOf } from './support/target-path.js';
import { ModuleFailure } from './support/module-failure.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const KEY_TYPES = new Set([
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'webauthn-sk-ecdsa-sha2-nistp256@openssh.com',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'ssh-ed25519',
  'ssh-ed25519-cert-v01@openssh.com',
  'ssh-dss',
  'ssh-rsa',
  'ssh-xmss@openssh.com',
  'ssh-xmss-cert-v01@openssh.com',
  'rsa-sha2-256',
  'rsa-sha2-512',
  'ssh-rsa-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'ssh-dss-cert-v01@openssh.com',
]);

const args = {
  user: { required: true, description: "The user whose keys these are (looked up in the target's `/etc/passwd`)." },
  key: { required: true, description: 'The key, or several, one a line (`#` lines ignored). URLs are refused (see the differences).' },
  path: { type: 'path', description: 'The keys file (default `~user/.ssh/authorized_keys`).' },
  manage_dir: { type: 'bool', default: true, description: "Create the file's directory (mode 0700, owned by the user) and set that mode and owner whenever the file is written." },
  state: { default: 'present', choices: ['absent', 'present'], description: 'Whether the keys are in the file.' },
  key_options: { description: 'SSH options put before the key, e.g. `no-port-forwarding,from="10.0.0.1"`.' },
  exclusive: { type: 'bool', default: false, description: 'Remove every other line of the file (comments included).' },
  comment: { description: "The key's comment (default: the one in `key`)." },
  validate_certs: { type: 'bool', default: true, description: 'Accepted and unused: it concerns URLs, which imgplay does not fetch.' },
  follow: { type: 'bool', default: false, description: 'Write through a symlinked keys file instead of replacing the link.' },
} as const satisfies Record<string, ArgSpec>;

type Entry = { key: string; type: string; options: Options | undefined; comment: string | undefined; rank: number };

/** Options in order; one name may occur more than once. */
type Options = [string, string | null][];

export const authorizedKey = defineModule(
  {
    name: 'authorized_key',
    collection: 'ansible.posix',
    doc: {
      short: "Adds or removes SSH keys in a user's authorized_keys file on the target.",
      description:
        "As ansible.posix 1.5 (shipped with ansible-core 2.14) does it, quirks kept: the file is read as lines, each key line keyed by its key blob (a duplicate line is written once); a key whose options or comment differ is rewritten and moves to the end; lines are written as `OPTIONS TYPE KEY COMMENT` (a key without comment keeps a trailing space); `exclusive` drops every other line, comments and blank lines included. Writing creates the directory (0700) and file (0600), owned by the user.",
      returns: "Ansible's: the arguments, `keyfile`, `changed`.",
      checkMode: 'Reports the change; without `path` the user must exist.',
      differences: ['A `key` that starts with `http` (Ansible fetches it from the URL) is refused: imgplay fetches nothing from the network. Put the key in the playbook, or read a controller file with `lookup(\'file\', ...)`.'],
    },
    args,
    checkMode: 'full',
    fsErrors: 'path',
    diff: true,
  },
  run,
);

// shlex without quotes, escapes or comments: words between spaces, tabs and newlines.
function words(text: string): string[] {
  return text.split(/[ \t\r\n]+/).filter((w) => w !== '');
}

function parseOptions(text: string | undefined): Options {
  const out: Options = [];
  if (!text) return out;
  const parts = text.split(/((?:[^,"']|"[^"]*"|'[^']*')+)/).slice(1, -1);
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq !== -1) out.push([part.slice(0, eq), part.slice(eq + 1)]);
    else if (part !== ',') out.push([part, null]);
  }
  return out;
}

// Python's dict equality of the module's keydict: the same names, each with the same values in order.
function sameOptions(a: Options | undefined, b: Options | undefined): boolean {
  const group = (o: Options | undefined) => {
    const m = new Map<string, (string | null)[]>();
    for (const [k, v] of o ?? []) m.set(k, [...(m.get(k) ?? []), v]);
    return m;
  };
  const x = group(a);
  const y = group(b);
  return x.size === y.size && [...x].every(([k, v]) => JSON.stringify(y.get(k)) === JSON.stringify(v));
}

function parseKey(raw: string, rank: number): Entry | 'skipped' | undefined {
  const line = raw.replaceAll('\\#', '#');
  const parts = words(line);
  if (parts[0] === '#') return 'skipped';
  const at = parts.findIndex((p) => KEY_TYPES.has(p));
  if (at === -1) return undefined;
  const key = parts[at + 1];
  if (key === undefined) throw new ModuleFailure(`MODULE FAILURE: no key after ${parts[at]} in: ${line.trim()}`);
  return { key, type: parts[at] as string, options: parseOptions(at > 0 ? parts.slice(0, at).join(' ') : undefined), comment: parts.slice(at + 2).join(' '), rank };
}

function parseKeys(text: string): Map<string, Entry> {
  const keys = new Map<string, Entry>();
  (text.match(/[^\n]*\n|[^\n]+$/g) ?? []).forEach((line, rank) => {
    const e = parseKey(line, rank);
    if (e === undefined || e === 'skipped') keys.set(line, { key: line.replaceAll('\\#', '#'), type: 'skipped', options: undefined, comment: undefined, rank });
    else keys.set(e.key, e);
  });
  return keys;
}

function serialize(keys: Map<string, Entry>): string {
  return [...keys.values()]
    .sort((a, b) => a.rank - b.rank)
    .map((e) => {
      if (e.type === 'skipped') return e.key;
      const opts = e.options !== undefined && e.options.length > 0 ? `${e.options.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join(',')} ` : '';
      return `${opts}${e.type} ${e.key} ${e.comment}\n`;
    })
    .join('');
}

type AuthArgs = { user: string; key: string; path?: string | undefined; manage_dir: boolean; state: 'absent' | 'present'; key_options?: string | undefined; exclusive: boolean; comment?: string | undefined; validate_certs: boolean; follow: boolean };

async function run(ctx: ModuleContext<AuthArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  if (args.key.startsWith('http')) {
    return failed(`Error getting key from: ${args.key} (imgplay does not fetch keys from URLs: give the key itself, e.g. with lookup('file', ...))`);
  }
  const user = findUser(await readAccountDb(conn), args.user);
  const resolve = async (): Promise<string | ModuleResult> => {
    if (check && args.path !== undefined) return args.path;
    if (user === undefined) {
      if (check) return failed('Either user must exist or you must provide full path to key file in check mode');
      return failed(`Failed to lookup user ${args.user}: "getpwnam(): name not found: '${args.user}'"`);
    }
    return args.path ?? posix.join(user.home, '.ssh', 'authorized_keys');
  };
  const keyfile = await resolve();
  if (typeof keyfile !== 'string') return keyfile;

  const host = await hostPathFollow(conn, keyfile);
  const existingText = (await statOrUndefined(host))?.isFile() ? await readFile(host, 'utf8') : '';
  const existing = parseKeys(existingText);
  const newKeys = args.key.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/).filter((s) => s !== '' && !s.startsWith('#'));
  const wanted: string[] = [];
  const maxRank = existing.size;
  let write = false;
  for (const [rank, raw] of newKeys.entries()) {
    const parsed = parseKey(raw, rank);
    if (parsed === undefined || parsed === 'skipped') return failed(`invalid key specified: ${raw}`);
    if (args.key_options !== undefined) parsed.options = parseOptions(args.key_options);
    if (args.comment !== undefined) parsed.comment = args.comment;
    const old = existing.get(parsed.key);
    let matched = false;
    let replaced = false;
    if (old !== undefined) {
      const same = old.type === parsed.type && sameOptions(old.options, parsed.options) && old.comment === parsed.comment;
      if (!same && args.state === 'present') replaced = true;
      else matched = true;
    }
    if (args.state === 'present') {
      wanted.push(parsed.key);
      if (replaced) {
        existing.delete(parsed.key);
        write = true;
      }
      if (!matched) {
        existing.set(parsed.key, { ...parsed, rank: maxRank + rank });
        write = true;
      }
    } else if (matched) {
      existing.delete(parsed.key);
      write = true;
    }
  }
  if (args.state === 'present' && args.exclusive) {
    for (const k of [...existing.keys()]) {
      if (!wanted.includes(k)) {
        existing.delete(k);
        write = true;
      }
    }
  }
  const result: ModuleResult = { ...args, keyfile, changed: false };
  if (!write) return result;
  const after = serialize(existing);
  const target = args.follow ? targetPathOf(conn, host) : keyfile;
  if (ctx.diff) result.diff = { before_header: keyfile, after_header: target, before: existingText, after };
  result.changed = true;
  if (!check && user !== undefined) await writeKeys(ctx, user, target, after);
  return result;
}

// keyfile(write=True): the directory 0700 and the file 0600, owned by the user; then the new content replaces it.
async function writeKeys(ctx: ModuleContext<AuthArgs>, user: { uid: number; gid: number }, keyfile: string, content: string): Promise<void> {
  const { conn, args } = ctx;
  const dir = posix.dirname(keyfile);
  if (args.manage_dir) {
    const hostDir = await hostPathFollow(conn, dir);
    if ((await statOrUndefined(hostDir)) === undefined) {
      // Ansible makes only the last directory (os.mkdir) and fails if its parent is missing.
      const made = await mkdir(hostDir, { mode: 0o700 }).then(
        () => undefined,
        (err: unknown) => (isFsError(err) ? err : Promise.reject(err)),
      );
      if (made !== undefined) throw new ModuleFailure(`Failed to create directory ${dir} : ${describeFsError(made, dir)}`);
    }
    await chown(hostDir, user.uid, user.gid);
    await chmod(hostDir, 0o700);
  }
  const host = await hostPathNoFollow(conn, keyfile);
  if ((await statOrUndefined(host)) === undefined) {
    await mkdir(await hostPathFollow(conn, dir), { recursive: true });
    await writeFile(host, '');
  }
  await chown(host, user.uid, user.gid).catch(() => undefined);
  await chmod(host, 0o600).catch(() => undefined);
  await atomicWrite(host, { data: content });
}
