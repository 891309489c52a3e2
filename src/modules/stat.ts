// Reports facts about a path on the target (existence, type, mode, owner, checksum...), as Ansible's stat does.
import type { Stats } from 'node:fs';
import { access, constants, readlink } from 'node:fs/promises';
import { Accounts } from './support/accounts.js';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, checksumFile } from './support/checksum.js';
import { isFsError, strerror } from './support/fs-error.js';
import { boolArg, firstSet, strArg } from './support/schema.js';
import { statFields } from './support/stat-fields.js';
import { hostPathFollow, hostPathNoFollow, lstatOrUndefined, statOrUndefined, targetPathOf } from './support/target-path.js';
import type { Module, ModuleContext } from './types.js';

/** stat's arguments as they arrive; several have aliases (dest/name, checksum/checksum_algo, mime..., attr...). */
export interface StatArgs {
  path?: string;
  dest?: string;
  name?: string;
  follow: boolean;
  get_checksum: boolean;
  get_md5: boolean;
  checksum_algorithm?: ChecksumAlgorithm;
  checksum?: ChecksumAlgorithm;
  checksum_algo?: ChecksumAlgorithm;
  get_mime?: boolean;
  mime?: boolean;
  mime_type?: boolean;
  'mime-type'?: boolean;
  get_attributes?: boolean;
  attr?: boolean;
  attributes?: boolean;
}

const algorithm = { enum: [...CHECKSUM_ALGORITHMS] };

export const stat: Module<StatArgs> = {
  name: 'stat',
  aliases: ['ansible.builtin.stat', 'ansible.legacy.stat'],
  schema: {
    type: 'object',
    properties: {
      path: strArg,
      dest: strArg,
      name: strArg,
      follow: boolArg(false),
      get_checksum: boolArg(true),
      get_md5: boolArg(false),
      checksum_algorithm: algorithm,
      checksum: algorithm,
      checksum_algo: algorithm,
      // Without a default, so an alias given alone is not overridden by the canonical name's default.
      get_mime: boolArg(),
      mime: boolArg(),
      mime_type: boolArg(),
      'mime-type': boolArg(),
      get_attributes: boolArg(),
      attr: boolArg(),
      attributes: boolArg(),
    },
    additionalProperties: false,
  },
  checkMode: true,
  async run(ctx) {
    const { args, conn } = ctx;
    const path = firstSet(args.path, args.dest, args.name);
    if (path === undefined) return { failed: true, changed: false, msg: 'missing required arguments: path' };
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
};

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
    if (args.get_checksum) out.checksum = await checksumFile(host, firstSet(args.checksum_algorithm, args.checksum, args.checksum_algo) ?? 'sha1');
  }
  if (firstSet(args.get_mime, args.mime, args.mime_type, args['mime-type']) ?? true) Object.assign(out, await mimeOf(ctx, host));
  if (firstSet(args.get_attributes, args.attr, args.attributes) ?? true) Object.assign(out, await attributesOf(ctx, host));
  return out;
}

// file(1) and lsattr(1) run on the build host against the host path: the target need not have them.
async function mimeOf(ctx: ModuleContext<StatArgs>, host: string): Promise<{ mimetype: string; charset: string }> {
  const res = await ctx.controller.exec(['file', '--mime-type', '--mime-encoding', host]).catch(() => undefined);
  const m = res?.rc === 0 ? /:\s*([^;]+);\s*charset=(\S+)\s*$/.exec(res.stdout) : null;
  return m ? { mimetype: (m[1] as string).trim(), charset: m[2] as string } : { mimetype: 'unknown', charset: 'unknown' };
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
