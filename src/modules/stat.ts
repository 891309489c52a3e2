// Reports facts about a path on the target (existence, type, mode, owner, checksum...), as Ansible's stat does.
import type { Stats } from 'node:fs';
import { access, constants, readlink } from 'node:fs/promises';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { CHECKSUM_ALGORITHMS, checksumFile } from '../host/checksum.js';
import { isFsError, strerror } from './support/fs-error.js';
import { statFields } from './support/stat-fields.js';
import { findTargetProgram } from './support/bin-path.js';
import { hostPathFollow, hostPathNoFollow, lstatOrUndefined, statOrUndefined, targetPathOf } from './support/target-path.js';
import type { ModuleContext } from './types.js';

const args = {
  path: { type: 'path', required: true, aliases: ['dest', 'name'], description: 'The path on the target.' },
  follow: { type: 'bool', default: false, description: 'Describe what a symlink points at.' },
  get_md5: { type: 'bool', default: false, description: 'Add `md5`.' },
  get_checksum: { type: 'bool', default: true, description: 'Add `checksum` for a readable regular file.' },
  get_mime: { type: 'bool', default: true, aliases: ['mime', 'mime_type', 'mime-type'], description: "Add `mimetype` and `charset`, from the target's own `file(1)` run on the path as given (`unknown` when the target has no `file`), as Ansible." },
  get_attributes: { type: 'bool', default: true, aliases: ['attr', 'attributes'], description: 'Add `attributes`, `attr_flags`, `version` (from `lsattr(1)`).' },
  checksum_algorithm: { default: 'sha1', choices: CHECKSUM_ALGORITHMS, aliases: ['checksum', 'checksum_algo'], description: 'The algorithm of `checksum`.' },
} as const satisfies Record<string, ArgSpec>;

type StatArgs = ArgsOf<typeof args>;

export const stat = defineModule(
  {
    name: 'stat',
    doc: {
      short: 'Reports facts about a path on the target (existence, type, mode, owner, checksum...).',
      returns:
        "`stat` with the same keys as Ansible: `exists`, `path`, `mode` (`'0644'`), `isdir`, `isreg`, `islnk`, `ischr`, `isblk`, `isfifo`, `issock`, `uid`, `gid`, `pw_name`, `gr_name` (omitted for ids the target does not know), `size`, `inode`, `dev`, `nlink`, `atime`, `mtime`, `ctime`, the `r/w/x` bits, `isuid`, `isgid`, `readable`, `writeable`, `executable`, `lnk_source`, `lnk_target`, `checksum`, `blocks`, `block_size`, `device_type`, and the mime and attribute keys. A missing path gives `{exists: false}`.",
      differences: ['`file` and `lsattr` run on the build host against the target\'s file, so the target does not need them installed.'],
    },
    args,
    checkMode: 'full',
  },
  async (ctx) => {
    const { args, conn } = ctx;
    const { path } = args;
    const host = args.follow ? await hostPathFollow(conn, path) : await hostPathNoFollow(conn, path);
    let st: Stats | undefined;
    try {
      st = args.follow ? await statOrUndefined(host) : await lstatOrUndefined(host);
    } catch (err) {
      if (!isFsError(err)) throw err;
      return { failed: true, changed: false, msg: strerror(err) };
    }
    if (st === undefined) return { changed: false, stat: { exists: false } };
    return { changed: false, stat: await describe(ctx, path, host, st) };
  },
);

async function describe(ctx: ModuleContext<StatArgs>, path: string, host: string, st: Stats): Promise<Record<string, unknown>> {
  const { args, conn } = ctx;
  const out: Record<string, unknown> = {
    exists: true,
    path,
    ...statFields(st),
    blocks: st.blocks,
    block_size: st.blksize,
    device_type: st.rdev,
  };
  // access(2) follows links, so a link is judged by what it points at, inside the target.
  const followed = await hostPathFollow(conn, path);
  for (const [key, mode] of [['readable', constants.R_OK], ['writeable', constants.W_OK], ['executable', constants.X_OK]] as const) {
    out[key] = await access(followed, mode).then(() => true, () => false);
  }
  if (st.isSymbolicLink()) {
    out.lnk_source = targetPathOf(conn, followed);
    out.lnk_target = await readlink(host);
  }
  const accounts = new Accounts(conn);
  const pwName = await accounts.userName(st.uid);
  if (pwName !== undefined) out.pw_name = pwName;
  const grName = await accounts.groupName(st.gid);
  if (grName !== undefined) out.gr_name = grName;
  if (st.isFile() && out.readable === true) {
    if (args.get_md5) out.md5 = await checksumFile(host, 'md5');
    if (args.get_checksum) out.checksum = await checksumFile(host, args.checksum_algorithm);
  }
  if (args.get_mime) Object.assign(out, await mimeOf(ctx, args.path));
  if (args.get_attributes) Object.assign(out, await attributesOf(ctx, host));
  return out;
}

// The target's own file(1) on the path as given, as Ansible runs it (its magic database, so its answer); a
// target without it gives 'unknown', as in Ansible.
async function mimeOf(ctx: ModuleContext<StatArgs>, path: string): Promise<{ mimetype: string; charset: string }> {
  const unknown = { mimetype: 'unknown', charset: 'unknown' };
  const file = await findTargetProgram(ctx, 'file');
  if ('missing' in file) return unknown;
  const res = await ctx.conn.exec([file.path, '--mime-type', '--mime-encoding', path], { env: ctx.environment }).catch(() => undefined);
  if (res?.rc !== 0) return unknown;
  // Ansible reads what follows the LAST colon, so a name with a colon in it is no trouble: "a: b: text/plain; charset=us-ascii".
  const colon = res.stdout.lastIndexOf(':');
  const parts = colon === -1 ? [] : res.stdout.slice(colon + 1).split(';');
  const charset = parts[1]?.split('=')[1];
  if (parts.length !== 2 || charset === undefined) return unknown;
  return { mimetype: (parts[0] as string).trim(), charset: charset.trim() };
}

const ATTRIBUTE_NAMES: Record<string, string> = {
  A: 'noatime', a: 'append', c: 'compressed', C: 'nocow', d: 'nodump', D: 'dirsync', e: 'extents', E: 'encrypted',
  h: 'blocksize', i: 'immutable', I: 'indexed', j: 'journalled', N: 'inline', s: 'zero', S: 'synchronous',
  t: 'notail', T: 'blockroot', u: 'undelete', X: 'compressedraw', Z: 'compresseddirty',
};

async function attributesOf(ctx: ModuleContext<StatArgs>, host: string): Promise<{ version: string | null; attributes: string[]; attr_flags: string }> {
  const res = await ctx.controller.exec(['lsattr', '-vd', host]).catch(() => undefined);
  const fields = res?.rc === 0 ? res.stdout.trim().split(/\s+/) : [];
  if (fields.length < 2) return { version: null, attributes: [], attr_flags: '' };
  const flags = (fields[1] as string).replace(/-/g, '');
  return { version: fields[0] as string, attributes: [...flags].flatMap((f) => ATTRIBUTE_NAMES[f] ?? []), attr_flags: flags };
}
