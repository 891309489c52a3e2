// A boot server in a process of its own, so a test can see it survive abuse (or kill it mid-write):
// argv is the builds folder (catalogs go beside it, in <dir>.catalogs) and a JSON object of startBootServer options; prints the port, logs to stderr.
import { startBootServer } from '../../../src/serve/server.js';

const [dir, json] = process.argv.slice(2);
const server = await startBootServer({ dir: dir!, catalogs: `${dir}.catalogs`, port: 0, ...(JSON.parse(json ?? '{}') as object), log: (line) => process.stderr.write(`${line}\n`) });
process.stdout.write(`${server.port}\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
