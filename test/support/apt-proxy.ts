// The apt proxy the build tests download through. IMGPLAY_TEST_APT_PROXY=host:port names one (.ci/run
// sets it to the apt-cacher-ng it starts on 127.0.0.1:3142); the tests never start one themselves.
// A proxy changes where the .debs come from, not what is built: nothing keyed on a build's inputs
// (the shared artifact set's marker) includes it.
import { aptProxyFromEnv } from '../../src/image/mirror.js';

// host:port or [v6]:port, the form all.yml's apt_proxy takes (the playbooks add http://).
const HOST_PORT = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

/** IMGPLAY_TEST_APT_PROXY as host:port, or undefined when unset; a malformed value is an error that says so. */
export function testAptProxy(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.IMGPLAY_TEST_APT_PROXY?.trim();
  if (!value) return undefined;
  const port = Number(value.slice(value.lastIndexOf(':') + 1));
  if (!HOST_PORT.test(value) || port < 1 || port > 65535) {
    throw new Error(`IMGPLAY_TEST_APT_PROXY=${JSON.stringify(value)} is not host:port (for example 127.0.0.1:3142)`);
  }
  return value;
}

/** The proxy URL for a tool run on the host (mmdebstrap, debootstrap, apt-get): IMGPLAY_TEST_APT_PROXY, else http_proxy. */
export function testProxyUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const hostPort = testAptProxy(env);
  return hostPort !== undefined ? `http://${hostPort}` : aptProxyFromEnv(env);
}

/** The `-e apt_proxy=...` all.yml takes for IMGPLAY_TEST_APT_PROXY, or nothing. */
export function aptProxyVars(env: NodeJS.ProcessEnv = process.env): string[] {
  const hostPort = testAptProxy(env);
  return hostPort !== undefined ? ['-e', `apt_proxy=${hostPort}`] : [];
}
