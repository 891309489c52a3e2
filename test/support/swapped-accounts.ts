// Account modules (user, group) in tables: the row's tree holds the account files, which are swapped
// into the real chroot's /etc for the run and carried back after, so every row starts from its own
// database while useradd and friends run for real inside the chroot.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module } from '../../src/modules/types.js';
import type { Case } from './module-cases.js';

/** The files a row's tree may hold under etc/; a file the row lacks is empty during the run. */
export const ACCOUNT_FILES = ['passwd', 'shadow', 'group', 'gshadow'];
// Written by useradd as a side effect; restored so rows cannot see each other's ranges.
const SIDE_FILES = ['subuid', 'subgid'];

/** The module run inside the chroot with the row's ({root}) account files in its /etc. */
export function swappedAccounts<A>(mod: Module<A>): Module<A> {
  return {
    ...mod,
    async run(ctx) {
      const root = ctx.vars.root;
      if (typeof root !== 'string') throw new Error('swappedAccounts(): give the row vars.root = "{root}" (see swappedRows)');
      const rowEtc = join(await ctx.conn.hostPath(root), 'etc');
      const etc = await ctx.conn.hostPath('/etc');
      const saved = new Map<string, string | null>();
      const given = new Map<string, string | null>();
      for (const f of [...ACCOUNT_FILES, ...SIDE_FILES]) saved.set(f, await readOrNull(join(etc, f)));
      try {
        for (const f of ACCOUNT_FILES) {
          const text = await readOrNull(join(rowEtc, f));
          given.set(f, text);
          await writeFile(join(etc, f), text ?? '');
        }
        return await mod.run(ctx);
      } finally {
        for (const f of ACCOUNT_FILES) {
          const now = await readOrNull(join(etc, f));
          // Only a real change is carried back, so an idempotent run leaves the row's files untouched.
          if (now !== null && now !== (given.get(f) ?? '')) await writeFile(join(rowEtc, f), now);
        }
        for (const [f, text] of saved) if (text !== null) await writeFile(join(etc, f), text);
      }
    },
  };
}

/** Rows for swappedAccounts(): told where their tree is, run on the chroot target only. */
export function swappedRows(rows: Case[]): Case[] {
  return rows.map((r) => ({ ...r, vars: { ...r.vars, root: '{root}' }, targets: ['chroot'] }));
}

async function readOrNull(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
}
