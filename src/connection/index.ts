// Opens a connection by the name a play uses for it (`connection: chroot`).
import { UnreachableError, didYouMean } from '../errors.js';
import { ChrootConnection } from './chroot.js';
import { LocalConnection } from './local.js';
import type { Connection } from './types.js';

/** Connection settings from the host's variables. */
export interface ConnectionOptions {
  /** chroot: mount /proc, /sys, /dev, /dev/pts and lend resolv.conf for the session (var imgplay_chroot_mounts, default true). */
  systemMounts?: boolean;
  /** chroot: the host folder of .debs shared by every tree (var imgplay_deb_cache; unset or '' shares none). */
  debCache?: string | undefined;
}

const openers: Record<string, (target: string, opts: ConnectionOptions) => Promise<Connection>> = {
  chroot: (target, opts) => ChrootConnection.open(target, opts),
  local: async () => new LocalConnection(),
};

/** The connection kinds imgplay knows, sorted, for messages and validation. */
export const connectionKinds: readonly string[] = Object.keys(openers).sort();

/** Opens a 'local' connection (target ignored) or a 'chroot' one (target = the tree's path). */
export async function openConnection(kind: string, target: string, opts: ConnectionOptions = {}): Promise<Connection> {
  const open = Object.hasOwn(openers, kind) ? openers[kind] : undefined;
  if (open === undefined) {
    const near = didYouMean(kind, connectionKinds);
    throw new UnreachableError(`unknown connection type '${kind}' (imgplay knows: ${connectionKinds.join(', ')})`, {
      hint: near === undefined ? undefined : `did you mean '${near}'?`,
    });
  }
  return open(target, opts);
}
