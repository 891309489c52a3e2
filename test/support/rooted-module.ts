// Modules that edit fixed system paths (/etc/hostname, /etc/systemd/system) run in tables with the
// row's own tree as the target's root, so no row can ever reach the build host's /etc.
import type { Module } from '../../src/modules/types.js';
import { type Case, ConfinedConnection } from './module-cases.js';

/** The module run with a target whose root is the row's tree ({root}, passed as the task variable `root`). */
export function rooted<A>(mod: Module<A>): Module<A> {
  return {
    ...mod,
    async run(ctx) {
      const root = ctx.vars.root;
      if (typeof root !== 'string') throw new Error('rooted(): give the row vars.root = "{root}" (see rootedRows)');
      return mod.run({ ...ctx, conn: new ConfinedConnection(await ctx.conn.hostPath(root)) });
    },
  };
}

/** Rows that tell rooted() where their tree is. */
export function rootedRows(rows: Case[]): Case[] {
  return rows.map((r) => ({ ...r, vars: { ...r.vars, root: '{root}' } }));
}
