import { describe, expect, it } from 'vitest';
import { connectionKinds, openConnection } from '../../../src/connection/index.js';
import { LocalConnection } from '../../../src/connection/local.js';
import { UnreachableError } from '../../../src/errors.js';

describe('openConnection', () => {
  it('opens the build host for local, whatever the target', async () => {
    const conn = await openConnection('local', 'localhost');
    expect(conn).toBeInstanceOf(LocalConnection);
    expect(conn.describe()).toBe('local');
  });

  it('passes the target of a chroot on to ChrootConnection.open', async () => {
    await expect(openConnection('chroot', '/nonexistent/imgplay-tree')).rejects.toThrow(
      /^cannot open chroot \/nonexistent\/imgplay-tree: /,
    );
  });

  it('names the known kinds and suggests the nearest for a misspelt one', async () => {
    const err = await openConnection('chroto', '/srv/tree').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as UnreachableError).message).toBe("unknown connection type 'chroto' (imgplay knows: chroot, local)");
    expect((err as UnreachableError).hint).toBe("did you mean 'chroot'?");
    expect((err as UnreachableError).exitCode).toBe(4);
  });

  it('offers no suggestion for a kind nothing like the known ones', async () => {
    const err = (await openConnection('ssh', 'host').catch((e: unknown) => e)) as UnreachableError;
    expect(err.hint).toBeUndefined();
  });

  it('does not mistake inherited object keys for kinds', async () => {
    await expect(openConnection('toString', 'x')).rejects.toBeInstanceOf(UnreachableError);
  });

  it('lists its kinds sorted', () => {
    expect(connectionKinds).toEqual(['chroot', 'local']);
  });
});
