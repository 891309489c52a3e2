// Answers pong: proves the target can be reached and a module can run there, as Ansible's ping does.
import { defineModule } from './spec.js';

export const ping = defineModule(
  {
    name: 'ping',
    doc: {
      short: 'Proves the connection works: returns `ping: pong` (or `data`).',
      description: 'For a chroot it runs `true` inside the tree, so a tree without a shell fails here, where every later task would.',
      returns: '`ping`: the `data` given.',
    },
    args: {
      data: { default: 'pong', description: 'What to return; `crash` makes the module fail, as in Ansible (for testing error handling).' },
    },
    checkMode: 'full',
  },
  async ({ args, conn }) => {
    const r = await conn.exec(['true']);
    if (r.rc !== 0) return { failed: true, changed: false, msg: `cannot run a command on ${conn.describe()}: ${r.stderr.trim() || `rc ${r.rc}`}` };
    if (args.data === 'crash') return { failed: true, changed: false, msg: 'boom', exception: 'Exception: boom' };
    return { changed: false, ping: args.data };
  },
);
