// imgplay_bootstrap: a minimal Debian system in a directory, from the build host's own mirror unless
// told otherwise; a tree that is already bootstrapped is left as it is.
import { BootstrapError, bootstrap, treeState } from '../image/bootstrap.js';
import { hostAptMirror } from '../image/mirror.js';
import { DebCacheError } from '../host/deb-cache.js';
import { MountedTreeError, removeTree } from '../host/mount-table.js';
import { noteRead } from '../host/reads.js';
import { defineModule } from './spec.js';
import { failed } from './types.js';

export const imgplayBootstrap = defineModule(
  {
    name: 'imgplay_bootstrap',
    collection: 'imgplay',
    doc: {
      short: 'Bootstraps a minimal Debian system into a directory (imgplay only).',
      description:
        "Runs on the build host (a play with `connection: local`). Bootstraps a Debian system into `root` with `mmdebstrap --mode=unshare` (its own mounts live in a private namespace and cannot leak onto the host), or with debootstrap when `exclude` is set (mmdebstrap cannot leave packages out) or `tool: debootstrap`. A `root` that already holds a system is no change: one this module finished (marked by `.<root name>.imgplay-bootstrapped` beside it, written last), or a complete system made otherwise (dpkg's status, `/bin/sh`, `apt-get` and `dpkg` present). A tree an interrupted or killed run left unfinished is deleted (never across a mount) and bootstrapped again. The build host's `/etc/resolv.conf` and `/etc/hostname`, which both tools copy in, are removed from the new tree (no image carries them; see [artifacts.md](artifacts.md#reproducible-builds)).",
      returns: '`root`; after a bootstrap, the `tool` and `mirror` it used and the `seconds` it took.',
      checkMode: 'Says whether it would bootstrap; nothing is downloaded or written.',
      differences: ['There is no Ansible equivalent; the arguments are named after on-imagebuilder\'s `debootstrap_*` variables.'],
    },
    args: {
      root: { type: 'path', required: true, description: 'An empty or missing directory.' },
      release: { default: 'bookworm', description: 'The Debian release.' },
      arch: { default: 'amd64', description: 'The architecture.' },
      variant: { default: 'minbase', description: 'The bootstrap variant.' },
      mirror: { description: "A Debian archive URL (never a built-in host name); by default (or `''`) the build host's apt mirror." },
      components: { type: 'list', elements: 'str', default: ['main'], description: 'The archive components.' },
      include: { type: 'list', elements: 'str', default: [], description: 'Extra packages.' },
      exclude: { type: 'list', elements: 'str', default: [], description: 'Packages to leave out (debootstrap).' },
      proxy: { description: "An HTTP proxy URL for the bootstrap's downloads (not written into the tree; `''`: none)." },
      no_docs: { type: 'bool', default: true, description: 'dpkg path-excludes for docs, man and info pages (copyright files kept), kept in the tree for later installs.' },
      no_recommends: { type: 'bool', default: true, description: 'An apt.conf in the tree without recommends and suggests.' },
      tool: { choices: ['mmdebstrap', 'debootstrap'], description: 'The bootstrap tool (default: mmdebstrap, debootstrap when `exclude` is set).' },
      deb_cache: {
        type: 'path',
        description:
          "A host folder of .debs shared with every stage (all.yml passes `imgplay_deb_cache`): mmdebstrap starts from what is there and adds what it downloads; the tree keeps none. debootstrap downloads its own. `''`: none.",
      },
    },
    checkMode: 'full',
  },
  async ({ conn, args, check, signal, log }) => {
    if (conn.kind !== 'local') return failed('imgplay_bootstrap runs on the build host (a play with connection: local)');
    // What the tree is made of depends on the archive's state: the stage cache keys on its Release file.
    const mirror = args.mirror === '' || args.mirror === undefined ? (await hostAptMirror())?.uri : args.mirror;
    if (mirror !== undefined) noteRead({ kind: 'archive', uri: mirror, suite: args.release, proxy: args.proxy === '' ? undefined : args.proxy });
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
        debCache: args.deb_cache === '' ? undefined : args.deb_cache,
        signal,
        onLine: log,
      });
      return { changed: true, root: args.root, tool: r.tool, mirror: r.mirror, seconds: r.seconds };
    } catch (err) {
      if (err instanceof BootstrapError || err instanceof MountedTreeError || err instanceof DebCacheError) return failed(err.message + (err.hint ? `\n${err.hint}` : ''));
      throw err;
    }
  },
);
