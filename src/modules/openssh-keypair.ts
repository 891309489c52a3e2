// Generates an OpenSSH key pair on the target with its own ssh-keygen, as community.crypto.openssh_keypair
// does with its opensshbin backend: host keys an image ships, deploy keys a provisioner uses.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { AttrError, applyFileAttrs } from './support/file-attrs.js';
import { fileAttrArgs } from './support/file-args.js';
import { findTargetProgram } from './support/bin-path.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

const TYPES = ['rsa', 'dsa', 'rsa1', 'ecdsa', 'ed25519'] as const;

const args = {
  path: { type: 'path', required: true, description: 'The private key file on the target; the public key goes to `PATH.pub`.' },
  state: { choices: ['present', 'absent'], default: 'present', description: '`absent` removes both files.' },
  type: { choices: TYPES, default: 'rsa', description: 'The key type (`ssh-keygen -t`).' },
  size: { type: 'int', description: 'Bits (`ssh-keygen -b`): rsa defaults to 4096 (at least 1024), dsa is 1024, ecdsa 256, 384 or 521 (default 256); ignored for ed25519.' },
  comment: { description: 'The key comment (`ssh-keygen -C`); a kept key whose public file has another comment gets its public file written again and the comment set (`ssh-keygen -c`).' },
  force: { type: 'bool', default: false, description: 'Regenerate the key even when it matches.' },
  regenerate: {
    choices: ['never', 'fail', 'partial_idempotence', 'full_idempotence', 'always'],
    default: 'partial_idempotence',
    description:
      'What to do with an existing key that does not match `type` and `size`: `never` keeps it, `fail` fails, `partial_idempotence` and `full_idempotence` make it again, `always` makes it on every run (as `force`). A key ssh-keygen cannot load (protected, broken, or readable by others) fails under `never`, `fail` and `partial_idempotence`, and is made again under the others.',
  },
  passphrase: {
    description: 'Refused: imgplay writes keys without a passphrase.',
    refused: 'keys are written without one (an image must not carry a secret it cannot use)',
  },
  private_key_format: { choices: ['auto', 'opensshbin', 'openssh', 'pkcs1', 'pkcs8', 'SSH'], default: 'auto', description: "Only `auto` (ssh-keygen's own format) is accepted." },
  backend: {
    choices: ['auto', 'cryptography', 'opensshbin'],
    default: 'auto',
    description: '`auto` and `opensshbin` run the target\'s ssh-keygen; `cryptography` is refused.',
    refusedValues: { cryptography: "keys are made by the target's ssh-keygen (opensshbin)" },
  },
  ...fileAttrArgs,
} as const satisfies Record<string, ArgSpec>;

type KeypairArgs = ArgsOf<typeof args>;

export const opensshKeypair = defineModule(
  {
    name: 'openssh_keypair',
    collection: 'community.crypto',
    doc: {
      short: 'Generates an OpenSSH private and public key on the target with its own ssh-keygen.',
      description:
        "As community.crypto.openssh_keypair (2.14) with its `opensshbin` backend: the key is made by the target's `ssh-keygen` (openssh-client), under a temporary name beside the key and then renamed, so it stays inside the tree and is never half written. An existing key is read with `ssh-keygen -l` and `-y`: it is kept when its type and size match (a missing or different public file is written again from it), else `regenerate` decides. `mode`, `owner` and `group` apply to both files. Without ssh-keygen on the target the task fails as the module does when it has no backend.",
      returns: '`filename`, `fingerprint` (`SHA256:...`), `public_key` (type and key, without the comment), `comment`, `type` and `size` (those asked for), `changed`; empty strings for a key that is not there.',
      checkMode: 'Reports whether the key would be made or changed, and writes nothing.',
      differences: [
        '`passphrase` is refused, as are `private_key_format` other than `auto` and the `cryptography` backend: ssh-keygen writes its own format without a passphrase.',
        'As the module with its opensshbin backend, `full_idempotence` checks what `partial_idempotence` checks (type and size) but makes an unreadable key again.',
      ],
    },
    args,
    checkMode: 'full',
  },
  run,
);

interface PrivateKey {
  size: number;
  type: string;
  fingerprint: string;
}
interface PublicKey {
  typeString: string;
  data: string;
  /** undefined: not known (compared as equal to any). */
  comment: string | undefined;
}

const UNREADABLE =
  'Unable to read the key. The key is protected with a passphrase or broken. Will not proceed. To force regeneration, call the module with `generate` set to `full_idempotence` or `always`, or with `force=true`.';
const WRONG =
  'Key has wrong type and/or size. Will not proceed. To force regeneration, call the module with `generate` set to `partial_idempotence`, `full_idempotence` or `always`, or with `force=true`.';

// The key size the module asks for, or the module's refusal of it.
function keySize(type: string, size: number | undefined): number | string {
  if (type === 'rsa' || type === 'rsa1') {
    const n = size ?? 4096;
    return n < 1024 ? 'For RSA keys, the minimum size is 1024 bits and the default is 4096 bits. Attempting to use bit lengths under 1024 will cause the module to fail.' : n;
  }
  if (type === 'dsa') return (size ?? 1024) !== 1024 ? 'DSA keys must be exactly 1024 bits as specified by FIPS 186-2.' : 1024;
  if (type === 'ecdsa') {
    const n = size ?? 256;
    return [256, 384, 521].includes(n) ? n : 'For ECDSA keys, size determines the key length by selecting from one of three elliptic curve sizes: 256, 384 or 521 bits. Attempting to use bit lengths other than these three values for ECDSA keys will cause this module to fail.';
  }
  return 256;
}

async function run(ctx: ModuleContext<KeypairArgs>): Promise<ModuleResult> {
  const { args, conn, check } = ctx;
  if (args.private_key_format !== 'auto') return failed("'auto' is the only valid option for 'private_key_format' when 'backend' is not 'cryptography'");
  const path = args.path;
  const size = keySize(args.type, args.size ?? undefined);
  if (typeof size === 'string') return failed(size);
  const priv = await hostPathFollow(conn, path);
  const pub = await hostPathFollow(conn, `${path}.pub`);
  const privStat = await statOrUndefined(priv);
  if (privStat?.isDirectory()) return failed(`${path} is a directory. Please specify a path to a file.`);
  // What is there before the task changes anything: the module's decisions all rest on it.
  const privThere = privStat !== undefined;
  const pubThere = (await statOrUndefined(pub)) !== undefined;
  const keygen = await findTargetProgram(ctx, 'ssh-keygen');
  if ('missing' in keygen) return failed('Cannot find either the OpenSSH binary in the PATH or cryptography >= 2.6 installed on this system');
  const exec = (argv: string[]) => conn.exec([keygen.path, ...argv], { env: ctx.environment, signal: ctx.signal });
  const keyResult = (p: PrivateKey | undefined, q: PublicKey | undefined): ModuleResult => ({
    size,
    type: args.type,
    filename: path,
    fingerprint: p?.fingerprint ?? '',
    public_key: q ? `${q.typeString} ${q.data}` : '',
    comment: q?.comment ?? '',
  });

  const origPriv = privThere ? await readPrivate(exec, path) : undefined;
  const origPub = pubThere ? await readPublic(pub) : undefined;
  if (args.state === 'absent') {
    const there = privThere || pubThere;
    if (there && !check) await Promise.all([rm(priv, { force: true }), rm(pub, { force: true })]);
    return { changed: there, ...keyResult(origPriv, origPub) };
  }

  const regenerate = args.force ? 'always' : args.regenerate;
  const matching = origPriv === undefined ? undefined : await matchingPublic(exec, path);
  if (privThere && ['never', 'fail', 'partial_idempotence'].includes(regenerate) && (origPriv === undefined || matching === undefined)) return failed(UNREADABLE);
  const valid = origPriv !== undefined && origPriv.size === size && origPriv.type === args.type;
  let generate: boolean;
  if (origPriv === undefined) generate = true;
  else if (regenerate === 'never') generate = false;
  else if (regenerate === 'fail') {
    if (!valid) return failed(WRONG);
    generate = false;
  } else if (regenerate === 'always') generate = true;
  else generate = !valid;

  let changed = false;
  if (generate) {
    changed = true;
    if (!check) {
      // Made under a temporary name beside the key, then renamed over it: no half-written key is left.
      const temp = `${path}.imgplay-${process.pid}-${Date.now()}`;
      const tempHost = await hostPathFollow(conn, temp);
      try {
        const r = await exec(['-q', '-N', '', '-b', String(size), '-t', args.type, '-f', temp, '-C', args.comment ?? '']);
        if (r.rc !== 0) return failed(r.stderr.trim() || r.stdout.trim(), { rc: r.rc, stderr: r.stderr, stdout: r.stdout });
        await rename(tempHost, priv);
        await rename(`${tempHost}.pub`, pub);
      } finally {
        await Promise.all([rm(tempHost, { force: true }), rm(`${tempHost}.pub`, { force: true })]);
      }
    }
  } else if (!publicValid(origPub, matching, args.comment ?? undefined)) {
    // The public half is written again from the private key (keeping its file's mode), then the comment set.
    changed = true;
    if (!check && matching !== undefined) {
      const mode = (await statOrUndefined(pub))?.mode;
      const temp = `${pub}.imgplay-${process.pid}`;
      await writeFile(temp, `${matching.typeString} ${matching.data}\n`, { mode: mode === undefined ? 0o644 : mode & 0o7777 });
      await rename(temp, pub);
      if (args.comment) {
        const r = await exec(['-q', '-o', '-c', '-C', args.comment, '-f', path]);
        if (r.rc !== 0) return failed(r.stderr.trim() || r.stdout.trim(), { rc: r.rc });
      }
    }
  }
  const nowPriv = check ? undefined : await readPrivate(exec, path);
  const nowPub = check ? undefined : await readPublic(pub);
  // The file arguments apply to both files, as the module's _update_permissions does.
  try {
    const accounts = new Accounts(conn);
    for (const [host, target] of [[priv, path], [pub, `${path}.pub`]] as const) {
      if ((await statOrUndefined(host)) === undefined && !check) continue;
      if (await applyFileAttrs({ accounts, check, conn }, host, target, args)) changed = true;
    }
  } catch (err) {
    if (err instanceof AttrError) return failed(err.message, { path: err.path });
    throw err;
  }
  return { changed, ...keyResult(nowPriv ?? origPriv, nowPub ?? origPub) };
}

// `ssh-keygen -l`: the key's size, fingerprint and type (undefined when it cannot be read).
async function readPrivate(exec: (argv: string[]) => Promise<{ rc: number; stdout: string }>, path: string): Promise<PrivateKey | undefined> {
  const r = await exec(['-l', '-f', path]);
  if (r.rc !== 0) return undefined;
  const f = r.stdout.trim().split(/\s+/);
  const size = Number(f[0]);
  if (f.length < 3 || !Number.isInteger(size)) return undefined;
  return { size, fingerprint: f[1] as string, type: (f.at(-1) as string).slice(1, -1).toLowerCase() };
}

// `ssh-keygen -y`: the public half of a private key, when it can be loaded (not protected, not too open).
async function matchingPublic(exec: (argv: string[]) => Promise<{ rc: number; stdout: string; stderr: string }>, path: string): Promise<PublicKey | undefined> {
  const r = await exec(['-P', '', '-y', '-f', path]);
  if (r.rc === 255 || ['is not a public key file', 'incorrect passphrase', 'load failed'].some((w) => r.stderr.includes(w))) return undefined;
  const [typeString, data, ...rest] = r.stdout.replace(/\n$/, '').split(' ');
  if (typeString === undefined || data === undefined) return undefined;
  return { typeString, data, comment: rest.length > 0 ? rest.join(' ') : '' };
}

// A .pub file as the module loads it: type, data and the rest as the comment.
async function readPublic(pub: string): Promise<PublicKey | undefined> {
  const text = await readFile(pub, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parts = text.replace(/^[ \n]+|[ \n]+$/g, '').split(' ');
  if (parts.length < 2) return undefined;
  return { typeString: parts[0] as string, data: parts[1] as string, comment: parts.length > 2 ? parts.slice(2).join(' ') : '' };
}

// The module's PublicKey equality: type and data, and the comment only when both sides know one.
function publicValid(file: PublicKey | undefined, matching: PublicKey | undefined, comment: string | undefined): boolean {
  if (file === undefined || matching === undefined) return false;
  return file.typeString === matching.typeString && file.data === matching.data && (comment === undefined || file.comment === undefined || file.comment === comment);
}
