// A process that mounts a tmpfs through a guard and then ends without releasing it, the way the
// test asks (argv[2]: 'exit' calls process.exit, 'signal' waits to be killed, 'throw' crashes).
import { MountGuard } from '../../../src/host/mount-guard.js';

const [how, dir] = process.argv.slice(2) as [string, string];
const guard = new MountGuard('child');
await guard.mount({ source: 'imgplay-child', target: dir, fstype: 'tmpfs', options: ['size=1m'] });
process.stdout.write('mounted\n');
if (how === 'exit') process.exit(3);
if (how === 'throw') throw new Error('crash while mounted');
setInterval(() => {}, 1000);
