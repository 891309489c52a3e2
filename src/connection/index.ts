// Opens a connection by the name a play uses for it (`connection: chroot`).
import { UnreachableError, didYouMean } from '../errors.js';
import { ChrootConnection } from './chroot.js';
import { LocalConnection } from './local.js';
import type { Connection } from './types.js';

const openers: Record<string, (target: string) => Promise<Connection>> = {
  chroot: (target) => ChrootConnection.open(target),
  local: async () => new LocalConnection(),
};

/** The connection kinds imgplay knows, sorted, for messages and validation. */
export const connectionKinds: readonly string[] = Object.keys(openers).sort();

/** Opens a 'local' connection (target ignored) or a 'chroot' one (target = the tree's path). */
export async function openConnection(kind: string, target: string): Promise<Connection> {
  const open = Object.hasOwn(openers, kind) ? openers[kind] : undefined;
  if (open === undefined) {
    const near = didYouMean(kind, connectionKinds);
    throw new UnreachableError(`unknown connection type '${kind}' (imgplay knows: ${connectionKinds.join(', ')})`, {
      hint: near === undefined ? undefined : `did you mean '${near}'?`,
    });
  }
  return open(target);
}
