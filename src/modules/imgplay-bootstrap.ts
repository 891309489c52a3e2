// imgplay_bootstrap: a minimal Debian system in a directory, from the build host's own mirror unless
// told otherwise; a tree that is already bootstrapped is left as it is.
import { BootstrapError, bootstrap, treeState } from '../image/bootstrap.js';
import { MountedTreeError, removeTree } from '../image/mount-table.js';
import { boolArg, strArg } from './support/schema.js';
import { type Module, failed } from './types.js';

/** imgplay_bootstrap's arguments (named after on-imagebuilder's debootstrap_* variables). */
export interface BootstrapArgs {
  root: string;
  release: string;
  arch: string;
  variant: string;
  mirror?: string;
  components: string[];
  include: string[];
  exclude: string[];
  proxy?: string;
  no_docs: boolean;
  no_recommends: boolean;
  tool?: 'mmdebstrap' | 'debootstrap';
}

const list = { type: 'array', items: strArg, default: [] };

export const imgplayBootstrap: Module<BootstrapArgs> = {
  name: 'imgplay_bootstrap',
  schema: {
    type: 'object',
    required: ['root'],
    properties: {
      root: strArg,
      release: { type: 'string', default: 'bookworm' },
      arch: { type: 'string', default: 'amd64' },
      variant: { type: 'string', default: 'minbase' },
      mirror: strArg,
      components: { ...list, default: ['main'] },
      include: list,
      exclude: list,
      proxy: strArg,
      no_docs: boolArg(true),
      no_recommends: boolArg(true),
      tool: { enum: ['mmdebstrap', 'debootstrap'] },
    },
    additionalProperties: false,
  },
  checkMode: true,
  async run({ conn, args, check, signal, log }) {
    if (conn.kind !== 'local') return failed('imgplay_bootstrap runs on the build host (a play with connection: local)');
    const state = await treeState(args.root);
    if (state === 'complete') return { changed: false, root: args.root, msg: 'already bootstrapped' };
    if (state === 'foreign') return { changed: false, root: args.root, msg: 'already bootstrapped (a complete system imgplay did not make)' };
    if (check) return { changed: true, root: args.root };
    try {
      // An interrupted or killed run's half-extracted tree is never built upon: the stage starts clean.
      if (state === 'unfinished') {
        log(`removing the unfinished bootstrap an earlier run left in ${args.root}`);
        await removeTree(args.root);
      }
      const r = await bootstrap({
        root: args.root,
        release: args.release,
        arch: args.arch,
        variant: args.variant,
        mirror: args.mirror === '' ? undefined : args.mirror,
        components: args.components,
        include: args.include,
        exclude: args.exclude,
        proxy: args.proxy === '' ? undefined : args.proxy,
        noDocs: args.no_docs,
        noRecommends: args.no_recommends,
        tool: args.tool,
        signal,
        onLine: log,
      });
      return { changed: true, root: args.root, tool: r.tool, mirror: r.mirror, seconds: r.seconds };
    } catch (err) {
      if (err instanceof BootstrapError || err instanceof MountedTreeError) return failed(err.message + (err.hint ? `\n${err.hint}` : ''));
      throw err;
    }
  },
};
