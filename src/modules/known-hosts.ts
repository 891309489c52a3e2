// Adds or removes a host's key in an ssh known_hosts file on the target, as ansible.builtin.known_hosts does.
import { createHmac, randomBytes } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { posix } from 'node:path';
import { CHROOT_ENV } from '../connection/chroot.js';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { findUser, readAccountDb } from './support/account-db.js';
import { Accounts } from './support/accounts.js';
import { atomicWrite } from '../host/atomic-write.js';
import { findTargetProgram } from './support/bin-path.js';
import { pathInfo } from './support/file-attrs.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { makeTargetTemp } from './support/target-temp.js';
import { ModuleFailure } from './support/module-failure.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const args = {
  name: { required: true, aliases: ['host'], description: 'The host to look up (lower-cased), as ssh-keygen -F takes it: a name, an address, or `[host]:port`. One name only.' },
  key: { description: 'The line for the file: `HOST TYPE KEY` (or `@cert-authority HOST TYPE KEY`); its host must match `name`. Required with `state: present`.' },
  path: { type: 'path', default: '~/.ssh/known_hosts', description: "The file. `~` is the home of the user running the module on the target (root: `/root` in a chroot), `~user` that user's home in the target's passwd. Its directory must exist." },
  hash_host: { type: 'bool', default: false, description: "Hash the host name in the line written (`|1|salt|hash`, a random salt, as ssh-keygen -H does). A hashed entry already there is kept as it is." },
  state: { default: 'present', choices: ['absent', 'present'], description: 'Whether the key is there. `absent` without `key` removes every line of the host (ssh-keygen -R, which leaves `PATH.old`).' },
} as const satisfies Record<string, ArgSpec>;

type KnownHostsArgs = ArgsOf<typeof args>;

export const knownHosts = defineModule(
  {
    name: 'known_hosts',
    doc: {
      short: "Adds or removes a host's key in an ssh known_hosts file on the target.",
      description:
        "As ansible-core 2.14 does it, with the target's own `ssh-keygen` (openssh-client): `ssh-keygen -F` checks that the key's host field matches `name` and finds the lines of the host (hashed ones too); a line of the same key type with another key (or another host field, unless both are hashed) is removed and the new line appended at the end; an identical line is left alone; other lines stay as they are. As in Ansible, `state: absent` with a `key` removes the host's line of that key type even when its key differs. Without ssh-keygen on the target the task fails as Ansible's does (`Failed to find required executable \"ssh-keygen\" in paths: ...`).",
      returns: '`name`, `key`, `path` (with `~` expanded), `hash_host`, `changed`, `diff` (always, as Ansible: the file before and after), and, as Ansible adds them to a result with a path, the file\'s `uid`, `gid`, `owner`, `group`, `mode`, `size` and `state` (`file`; `present`/`absent` when the file is not there). In check mode only `changed` and `diff`.',
      checkMode: 'Reports the change and writes nothing (ssh-keygen still reads the file).',
      differences: ['`$VAR` in `path` is not expanded (Ansible expands environment variables in paths).'],
    },
    args,
    checkMode: 'full',
    diff: true,
  },
  run,
);

/** Python's os.path.expanduser on the target: ~ is the module user's home, ~name that user's. */
async function expandUser(ctx: ModuleContext<KnownHostsArgs>, path: string): Promise<string> {
  const m = /^~([^/]*)(.*)$/s.exec(path);
  if (m === null) return path;
  const [, who, rest] = m as unknown as [string, string, string];
  let home: string | undefined;
  if (who === '') home = ctx.environment.HOME ?? (ctx.conn.kind === 'chroot' ? CHROOT_ENV.HOME : (process.env.HOME ?? homedir()));
  else home = findUser(await readAccountDb(ctx.conn), who)?.home;
  if (home === undefined) return path;
  return rest === '' ? home : `${home.replace(/\/+$/, '')}${rest}`;
}

type Normalized = { options?: string; host: string; type: string; key: string };

function normalize(line: string): Normalized {
  const k = line.trim().split(/\s+/);
  if (k[0]?.startsWith('@')) return { options: k[0], host: k[1] ?? '', type: k[2] ?? '', key: k[3] ?? '' };
  return { host: k[0] ?? '', type: k[1] ?? '', key: k[2] ?? '' };
}

function same(a: Normalized, b: Normalized): boolean {
  return a.options === b.options && a.host === b.host && a.type === b.type && a.key === b.key;
}

// ssh-keygen -H's form: |1|base64(salt)|base64(HMAC-SHA1(salt, host)), in place of the host field.
function hashHostKey(host: string, key: string): string {
  const salt = randomBytes(20);
  const hashed = createHmac('sha1', salt).update(host).digest();
  const parts = key.trim().split(/\s+/);
  const i = parts[0]?.startsWith('@') ? 1 : 0;
  parts[i] = `|1|${salt.toString('base64')}|${hashed.toString('base64')}`;
  return parts.join(' ');
}

// Python reads the file in text mode: universal newlines.
async function readText(host: string): Promise<string | undefined> {
  try {
    return (await readFile(host, 'utf8')).replace(/\r\n?/g, '\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function linesKeepingEnds(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

async function run(ctx: ModuleContext<KnownHostsArgs>): Promise<ModuleResult> {
  const result = await enforce(ctx);
  // Ansible adds the file's attributes to a result that has a path (its `state` then says `file`).
  if (result.failed || typeof result.path !== 'string') return result;
  return { ...result, ...(await pathInfo(ctx.conn, new Accounts(ctx.conn), result.path)) };
}

async function enforce(ctx: ModuleContext<KnownHostsArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  const host = args.name.toLowerCase();
  const path = await expandUser(ctx, args.path);
  const state = args.state;
  const sshKeygen = await findTargetProgram(ctx, 'ssh-keygen');
  if ('missing' in sshKeygen) return failed(sshKeygen.missing);
  const keygen = (argv: string[]) => conn.exec([sshKeygen.path, ...argv], { env: ctx.environment, signal: ctx.signal, keepFinalNewline: true });

  let key = args.key === '' ? undefined : args.key;
  if (key === undefined && state !== 'absent') return failed('No key specified when adding a host');
  if (key !== undefined && args.hash_host) key = hashHostKey(host, key);
  if (key !== undefined && !key.endsWith('\n')) key += '\n';

  if (key !== undefined) {
    if (/\S+(\s+)?,(\s+)?/.test(host)) {
      return failed('Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file.');
    }
    // ssh-keygen itself judges whether the key's host field (hashed or not) is this host.
    const tmp = await makeTargetTemp(ctx, 'tmp', key);
    try {
      if ((await keygen(['-F', host, '-f', tmp])).stdout === '') return failed('Host parameter does not match hashed host field in supplied key');
    } finally {
      await unlink(await hostPathFollow(conn, tmp)).catch(() => undefined);
    }
  }

  const hostFile = await hostPathFollow(conn, path);
  let found = false;
  let replaceOrAdd = false;
  let foundLine: number | undefined;
  if ((await statOrUndefined(hostFile)) !== undefined) {
    const r = await keygen(['-F', host, '-f', path]);
    if (!(r.stdout === '' && r.stderr === '' && (r.rc === 0 || r.rc === 1))) {
      if (r.rc !== 0) return failed(`ssh-keygen failed (rc=${r.rc}, stdout='${r.stdout}',stderr='${r.stderr}')`);
      found = true;
      if (key !== undefined) {
        [replaceOrAdd, foundLine] = match(r.stdout, key);
      }
    }
  }

  const text = await readText(hostFile);
  const lines = linesKeepingEnds(text ?? '');
  const diff = { before_header: text === undefined ? '/dev/null' : path, after_header: path, before: text ?? '', after: '' };
  const after = [...lines];
  if ((replaceOrAdd || state === 'absent') && foundLine !== undefined && foundLine >= 1 && foundLine <= after.length) after.splice(foundLine - 1, 1);
  if (state === 'present' && (replaceOrAdd || foundLine === undefined)) after.push(key as string);
  diff.after = after.join('');

  const result: ModuleResult = { name: args.name, key: args.key, path, hash_host: args.hash_host, state, changed: false, diff };
  if (state === 'absent' && foundLine === undefined && key !== undefined) return result;
  if (check) return { changed: replaceOrAdd || (state === 'present') !== found, diff };

  if (found && key === undefined && state === 'absent') {
    const r = await keygen(['-R', host, '-f', path]);
    if (r.rc !== 0) return failed(r.stderr || r.stdout, { cmd: `${sshKeygen.path} -R ${host} -f ${path}`, rc: r.rc, stdout: r.stdout, stderr: r.stderr });
    result.changed = true;
  }
  if (replaceOrAdd || found !== (state === 'present')) {
    // Read again: ssh-keygen -R may just have rewritten it.
    const current = linesKeepingEnds((await readText(hostFile)) ?? '');
    const out = current.filter((_, i) => !(foundLine === i + 1 && (replaceOrAdd || state === 'absent')));
    if (state === 'present') out.push(key as string);
    try {
      await atomicWrite(hostFile, { data: out.join('') });
    } catch (err) {
      if (isFsError(err)) return failed(`Failed to write to file ${path}: ${describeFsError(err, posix.join(posix.dirname(path), 'tmp'))}`);
      throw err;
    }
    result.changed = true;
  }
  return result;
}

/** From ssh-keygen -F's output: whether the key must replace or join the host's lines, and the line of the same key type. */
function match(stdout: string, key: string): [replaceOrAdd: boolean, line: number | undefined] {
  const wanted = normalize(key);
  let line: number | undefined;
  for (const l of stdout.split('\n')) {
    if (l === '') continue;
    if (l.startsWith('#')) {
      const m = /found: line (\d+)/.exec(l);
      if (m === null) throw new ModuleFailure(`failed to parse output of ssh-keygen for line number: '${l}'`);
      line = Number(m[1]);
      continue;
    }
    const have = normalize(l);
    // A hashed host stays as it is hashed: the salt differs each time.
    if (wanted.host.startsWith('|1|') && have.host.startsWith('|1|')) wanted.host = have.host;
    if (same(wanted, have)) return [false, line];
    if (wanted.type === have.type) return [true, line];
  }
  return [true, undefined];
}
