// Owner, group and mode of a target path, set and reported as Ansible's set_fs_attributes_if_different and add_path_info do.
import { chmod, lchown, lstat } from 'node:fs/promises';
import type { Connection } from '../../connection/types.js';
import { currentUmask } from '../../host/atomic-write.js';
import type { Accounts } from './accounts.js';
import { findTargetProgram } from './bin-path.js';
import { ModuleFailure } from './module-failure.js';
import { ModeError, formatMode, parseMode } from './mode.js';
import { hostPathFollow, hostPathNoFollow, lstatOrUndefined, pathState, statOrUndefined } from './target-path.js';

/** The attribute arguments applyFileAttrs reads (mode is Ansible's raw type: parseMode judges it). */
export interface FileAttrArgs {
  mode?: unknown;
  owner?: string | number | null | undefined;
  group?: string | number | null | undefined;
  /** chattr(1) flags: `=` (the default), `+` or `-` then letters, e.g. `+d`. */
  attributes?: string | null | undefined;
}

/** What changed, for diff mode: Ansible records the old and new value of each attribute it touches. */
export interface AttrDiff {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** An attribute that cannot be applied: the module fails with this message, naming the path (and the details). */
export class AttrError extends ModuleFailure {
  constructor(
    message: string,
    readonly path: string,
    readonly details?: string,
  ) {
    super(message, { path, ...(details === undefined ? {} : { details }) });
  }
}

/**
 * Brings a path's owner, group and mode to what `attrs` asks for (unset ones are left alone) and says
 * whether anything differed. In check mode nothing is changed, and a path that does not exist yet
 * counts as changed for every attribute asked for. Symlinks keep their own mode (Linux has no lchmod).
 */
export async function applyFileAttrs(
  opts: { accounts: Accounts; check: boolean; conn: Connection },
  host: string,
  target: string,
  attrs: FileAttrArgs,
  diff?: AttrDiff,
): Promise<boolean> {
  const wanted = [attrs.owner, attrs.group, attrs.mode, attrs.attributes].filter((a) => a !== undefined && a !== null);
  if (wanted.length === 0) return false;
  if (opts.check && (await lstatOrUndefined(host)) === undefined) return true;
  let changed = false;
  if (attrs.owner !== undefined && attrs.owner !== null) {
    const uid = await opts.accounts.uid(attrs.owner);
    if (uid === undefined) throw new AttrError(`chown failed: failed to look up user ${attrs.owner}`, target);
    const st = await lstat(host);
    if (st.uid !== uid) {
      record(diff, 'owner', st.uid, uid);
      if (!opts.check) await lchown(host, uid, st.gid);
      changed = true;
    }
  }
  if (attrs.group !== undefined && attrs.group !== null) {
    const gid = await opts.accounts.gid(attrs.group);
    if (gid === undefined) throw new AttrError(`chgrp failed: failed to look up group ${attrs.group}`, target);
    const st = await lstat(host);
    if (st.gid !== gid) {
      record(diff, 'group', st.gid, gid);
      if (!opts.check) await lchown(host, st.uid, gid);
      changed = true;
    }
  }
  if (attrs.mode !== undefined && attrs.mode !== null) {
    const st = await lstat(host);
    let mode: number;
    try {
      mode = parseMode(attrs.mode, st.mode, currentUmask());
    } catch (err) {
      if (err instanceof ModeError) throw new AttrError(err.message, target, err.details);
      throw err;
    }
    const prev = st.mode & 0o7777;
    if (prev !== mode && !st.isSymbolicLink()) {
      record(diff, 'mode', formatMode(prev), formatMode(mode));
      if (!opts.check) await chmod(host, mode);
      changed = true;
    }
  }
  if (attrs.attributes !== undefined && attrs.attributes !== null) {
    changed = (await applyChattr(opts.conn, opts.check, target, attrs.attributes, diff)) || changed;
  }
  return changed;
}

// Ansible's set_attributes_if_different: the flags `lsattr -d` shows (dashes dropped) against the
// letters asked for; `+` compares the same way, so it changes whenever other flags are set, and `-`
// always runs chattr. Both programs are the target's own (e2fsprogs); without them nothing is done.
async function applyChattr(conn: Connection, check: boolean, target: string, attributes: string, diff: AttrDiff | undefined): Promise<boolean> {
  const lsattr = await findTargetProgram({ conn, environment: {} }, 'lsattr');
  let existing: string | undefined;
  if ('path' in lsattr) {
    const r = await conn.exec([lsattr.path, '-d', target]);
    if (r.rc === 0) existing = (r.stdout.trim().split(/\s+/)[0] ?? '').replaceAll('-', '');
  }
  let op = '=';
  let letters = attributes;
  if (attributes.startsWith('-') || attributes.startsWith('+')) {
    op = attributes.charAt(0);
    letters = attributes.slice(1);
  }
  if ((existing ?? '') === letters && op !== '-') return false;
  const chattr = await findTargetProgram({ conn, environment: {} }, 'chattr');
  if (!('path' in chattr)) return false;
  record(diff, 'attributes', existing ?? null, `${op}${letters}`);
  if (!check) {
    const r = await conn.exec([chattr.path, `${op}${letters}`, target], { keepFinalNewline: true });
    if (r.rc !== 0 || r.stderr !== '') throw new AttrError('chattr failed', target, `Error while setting attributes: ${r.stdout}${r.stderr}`);
  }
  return true;
}

function record(diff: AttrDiff | undefined, key: string, before: unknown, after: unknown): void {
  if (diff === undefined) return;
  diff.before[key] = before;
  diff.after[key] = after;
}

/** The facts Ansible adds to a result about the path it returns: uid, gid, owner, group, mode, state, size. */
export interface PathInfo {
  uid: number;
  gid: number;
  owner: string;
  group: string;
  mode: string;
  state: 'file' | 'directory' | 'link' | 'hard';
  size: number;
}

/** PathInfo for a target path, or nothing if it does not exist (a dangling link counts as missing, as in Ansible). */
export async function pathInfo(conn: Connection, accounts: Accounts, target: string): Promise<PathInfo | Record<string, never>> {
  if ((await statOrUndefined(await hostPathFollow(conn, target))) === undefined) return {};
  const host = await hostPathNoFollow(conn, target);
  const st = await lstatOrUndefined(host);
  if (st === undefined) return {};
  const state = await pathState(host);
  return {
    uid: st.uid,
    gid: st.gid,
    owner: (await accounts.userName(st.uid)) ?? String(st.uid),
    group: (await accounts.groupName(st.gid)) ?? String(st.gid),
    mode: formatMode(st.mode),
    state: state === 'absent' ? 'file' : state,
    size: st.size,
  };
}
