// Waits for a file in the target (to appear, hold a pattern, or go) or a TCP port (to open, answer with a
// pattern, or close), as Ansible's wait_for does; a port is reached from the build host, whose network a
// chroot shares.
import { readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineModule } from './spec.js';
import { Accounts } from './support/accounts.js';
import { pathInfo } from './support/file-attrs.js';
import { failed, type ModuleResult } from './types.js';

// The TCP states Ansible's wait_for knows by name (for active_connection_states).
const TCP_STATES = ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'];
const DRAINED = "counting a port's active connections (Ansible reads the kernel's connection table with psutil or /proc/net/tcp) is not implemented in imgplay";

/** A Python regular expression as JavaScript reads it (named groups), multi-line as wait_for compiles it. */
function pyRegex(source: string): RegExp {
  return new RegExp(source.replace(/\(\?P<([A-Za-z_]\w*)>/g, '(?<$1>').replace(/\(\?P=([A-Za-z_]\w*)\)/g, '\\k<$1>'), 'm');
}

/** Whether a TCP connection to host:port opens within ms; with a pattern, whether what it sends matches before `end`. */
function probe(host: string, port: number, ms: number, re: RegExp | undefined, end: number, signal: AbortSignal): Promise<{ open: boolean; match?: RegExpExecArray }> {
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: ms });
    let data = '';
    let done = false;
    const finish = (r: { open: boolean; match?: RegExpExecArray }) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    const onAbort = () => finish({ open: false });
    signal.addEventListener('abort', onAbort);
    const deadline = setTimeout(() => finish({ open: re === undefined }), Math.max(0, (re === undefined ? Date.now() + ms : end) - Date.now()));
    sock.on('connect', () => {
      sock.setTimeout(0);
      if (re === undefined) finish({ open: true });
    });
    sock.on('timeout', () => finish({ open: false }));
    sock.on('error', () => finish({ open: false }));
    sock.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const m = re?.exec(data);
      if (m) finish({ open: true, match: m });
    });
    sock.on('end', () => finish({ open: false }));
  });
}

export const waitFor = defineModule(
  {
    name: 'wait_for',
    doc: {
      short: "Waits for a file of the target or a TCP port, as Ansible's wait_for does.",
      description:
        "`path`: the file in the target (for a chroot, inside the tree) to exist (`present`/`started`), optionally to match `search_regex` (multi-line, Python syntax: `(?P<name>...)` groups), or to be gone (`absent`). `port`: a TCP connection to `host:port` to open (`started`), optionally to send data matching `search_regex`, or to be refused (`stopped`); the port is reached from the build host, whose network a chroot shares. Neither: it waits `timeout` seconds. Checks repeat every `sleep` seconds until `timeout`, after `delay`.",
      returns: '`elapsed` (whole seconds), `state`, `path`, `port`, `search_regex`, `match_groups`, `match_groupdict`; with a path, the file\'s `uid`, `gid`, `owner`, `group`, `mode`, `size` and a `state` of `file`, `directory`, `link` or `hard` when it exists, as Ansible\'s module framework adds them; on a timeout Ansible\'s message (or `msg`).',
      checkMode: 'Waits as in a normal run (Ansible\'s module does not support check mode and is skipped there).',
      differences: ['`state: drained` and `exclude_hosts` are refused: ' + DRAINED + '.'],
    },
    args: {
      host: { default: '127.0.0.1', description: 'The host whose port to wait for.' },
      timeout: { type: 'int', default: 300, description: 'Seconds to wait at most.' },
      connect_timeout: { type: 'int', default: 5, description: 'Seconds a connection attempt may take.' },
      delay: { type: 'int', default: 0, description: 'Seconds to wait before the first check.' },
      port: { type: 'int', description: 'The TCP port.' },
      active_connection_states: {
        type: 'list',
        elements: 'str',
        default: ['ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'SYN_RECV', 'SYN_SENT', 'TIME_WAIT'],
        description: 'Only used by `drained` (refused); names are checked as Ansible checks them.',
      },
      path: { type: 'path', description: 'The file in the target.' },
      search_regex: { description: 'A pattern the file or what the port sends must match.' },
      state: {
        default: 'started',
        choices: ['absent', 'drained', 'present', 'started', 'stopped'],
        refusedValues: { drained: DRAINED },
        description: '`present`/`started`, `absent`/`stopped` (`stopped` only with a port).',
      },
      exclude_hosts: { type: 'list', elements: 'str', refused: DRAINED, description: 'Only used by `drained` (refused).' },
      sleep: { type: 'int', default: 1, description: 'Seconds between checks.' },
      msg: { description: 'The message of a timeout, instead of the default.' },
    },
    checkMode: 'full',
  },
  async ({ args, conn, signal }) => {
    let re: RegExp | undefined;
    if (args.search_regex !== undefined) {
      try {
        re = pyRegex(args.search_regex);
      } catch (err) {
        return failed(`Invalid regular expression: ${(err as Error).message}`);
      }
    }
    const { port, path, state } = args;
    if (port !== undefined && path !== undefined) return failed('port and path parameter can not both be passed to wait_for', { elapsed: 0 });
    if (path !== undefined && state === 'stopped') return failed('state=stopped should only be used for checking a port in the wait_for module', { elapsed: 0 });
    const unknownState = args.active_connection_states.find((s) => !TCP_STATES.includes(s));
    if (unknownState !== undefined) return failed(`unknown active_connection_state (${unknownState}) defined`, { elapsed: 0 });
    const start = Date.now();
    const elapsed = () => Math.floor((Date.now() - start) / 1000);
    const pause = (s: number) => sleep(s * 1000, undefined, { signal }).catch(() => undefined);
    const interrupted = () => (signal.aborted ? failed('interrupted', { elapsed: elapsed() }) : undefined);
    if (args.delay > 0) await pause(args.delay);
    const end = start + args.timeout * 1000;
    let groups: (string | undefined)[] = [];
    let groupdict: Record<string, string | undefined> = {};
    const fail = (fallback: string) => failed(args.msg ?? fallback, { elapsed: elapsed() });
    if (port === undefined && path === undefined) {
      await pause(args.timeout);
    } else if (state === 'absent' || state === 'stopped') {
      for (;;) {
        if (Date.now() >= end) return fail(port !== undefined ? `Timeout when waiting for ${args.host}:${port} to stop.` : `Timeout when waiting for ${path} to be absent.`);
        if (path !== undefined) {
          const gone = await stat(await conn.hostPath(path)).then(() => false, () => true);
          if (gone) break;
        } else if (!(await probe(args.host, port as number, args.connect_timeout * 1000, undefined, end, signal)).open) break;
        await pause(args.sleep);
        const stop = interrupted();
        if (stop) return stop;
      }
    } else {
      for (;;) {
        if (Date.now() >= end) {
          const where = port !== undefined ? `${args.host}:${port}` : path;
          if (re !== undefined) return fail(`Timeout when waiting for search string ${args.search_regex} in ${where}`);
          return fail(port !== undefined ? `Timeout when waiting for ${where}` : `Timeout when waiting for file ${path}`);
        }
        if (path !== undefined) {
          const host = await conn.hostPath(path);
          const st = await stat(host).catch((err: NodeJS.ErrnoException) => err);
          if (st instanceof Error) {
            if (st.code !== 'ENOENT') return fail(`Failed to stat ${path}, ${st.message}`);
          } else if (re === undefined) break;
          else {
            const text = await readFile(host, 'latin1').catch(() => undefined);
            const m = text === undefined ? null : re.exec(text);
            if (m) {
              groups = m.slice(1);
              groupdict = { ...m.groups };
              break;
            }
          }
        } else {
          const left = Math.ceil((end - Date.now()) / 1000);
          const r = await probe(args.host, port as number, Math.min(args.connect_timeout, left) * 1000, re, end, signal);
          if (r.open) {
            if (r.match) groups = r.match.slice(1);
            break;
          }
        }
        await pause(args.sleep);
        const stop = interrupted();
        if (stop) return stop;
      }
    }
    const result: ModuleResult = {
      changed: false,
      state,
      port: port ?? null,
      search_regex: args.search_regex ?? null,
      match_groups: groups.map((g) => g ?? null),
      match_groupdict: Object.fromEntries(Object.entries(groupdict).map(([k, v]) => [k, v ?? null])),
      path: path ?? null,
      elapsed: elapsed(),
    };
    // Ansible's module framework adds the file's facts to any result naming a path (state becomes 'file', ...).
    if (path !== undefined) Object.assign(result, await pathInfo(conn, new Accounts(conn), path));
    return result;
  },
);
