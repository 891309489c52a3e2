import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { knownHosts } from '../../../src/modules/known-hosts.js';
import { type Case, cases, makeContext, prepare, sandbox, type Target, type TreeSpec } from '../../support/module-cases.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG2XGuxw1jIRGQmXirLJbh58NIvhcyi7VWoV9RxtR7px';
const K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEfU5pu0ENC9edYv8whVWMAutB32c5AkR6c1Tw8KzPKP';
const K3 = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIOMKYfhOxtmhg+QFMEIYbUxJ3f3gMpSCAMK0FqnuNq8IC2J5m8/GXfzzePUpEq7EuPtCMdenuURvirqoALuvl4=';

// The module runs the target's ssh-keygen, so rows run on the local target (the build host's ssh-keygen).
// Expected contents and messages were taken from ansible-core 2.14's known_hosts on the same inputs.
describe('known_hosts', () => {
  if (skipWithout(lacking(file('/usr/bin/ssh-keygen', 'openssh-client')))) return;
  cases(
    knownHosts,
    [
      {
        name: 'adds a host key to a new file, mode 0644',
        args: { name: 'git.example', key: `git.example ${K1}`, path: '{root}/kh' },
        changed: true,
        after: { kh: { content: `git.example ${K1}\n`, mode: 0o644 } },
        result: { name: 'git.example', path: '{root}/kh', state: 'file', diff: { before_header: '/dev/null', before: '', after: `git.example ${K1}\n` } },
      },
      {
        name: 'replaces the key of the same type by a line at the end',
        args: { name: 'git.example', key: `git.example ${K2}`, path: '{root}/kh' },
        before: { kh: `other.example ${K2}\ngit.example ${K1}\nlast.example ${K3}\n` },
        changed: true,
        after: { kh: `other.example ${K2}\nlast.example ${K3}\ngit.example ${K2}\n` },
      },
      {
        name: 'adds a key of another type beside the one there',
        args: { name: 'git.example', key: `git.example ${K3}`, path: '{root}/kh' },
        before: { kh: `git.example ${K1}\n` },
        changed: true,
        after: { kh: `git.example ${K1}\ngit.example ${K3}\n` },
      },
      {
        name: 'rewrites a line whose host field names more hosts, lower-casing the name',
        args: { name: 'GIT.example', key: `git.example ${K1}`, path: '{root}/kh' },
        before: { kh: `git.example,10.0.0.1 ${K1}\n` },
        changed: true,
        after: { kh: `git.example ${K1}\n` },
      },
      { name: 'leaves an identical line alone', args: { name: 'git.example', key: `git.example ${K1}`, path: '{root}/kh' }, before: { kh: `a.example ${K2}\ngit.example ${K1}\n` }, changed: false },
      {
        name: 'removes one key of a host',
        args: { name: 'git.example', key: `git.example ${K1}`, path: '{root}/kh', state: 'absent' },
        before: { kh: `a.example ${K2}\ngit.example ${K1}\ngit.example ${K3}\n` },
        changed: true,
        after: { kh: `a.example ${K2}\ngit.example ${K3}\n` },
      },
      {
        name: 'removes every key of a host with ssh-keygen -R, which keeps the old file',
        args: { name: 'git.example', path: '{root}/kh', state: 'absent' },
        before: { kh: `a.example ${K2}\ngit.example ${K1}\ngit.example ${K3}\n` },
        changed: true,
        after: <TreeSpec>{ kh: `a.example ${K2}\n`, 'kh.old': `a.example ${K2}\ngit.example ${K1}\ngit.example ${K3}\n` },
      },
      { name: 'leaves a host without the key absent', args: { name: 'other.example', key: `other.example ${K1}`, path: '{root}/kh', state: 'absent' }, before: { kh: `git.example ${K1}\n` }, changed: false },
      {
        name: 'removes, as Ansible does, the line of the same type even when its key differs',
        args: { name: 'git.example', key: `git.example ${K2}`, path: '{root}/kh', state: 'absent' },
        before: { kh: `git.example ${K1}\n` },
        changed: true,
        after: { kh: '' },
      },
      { name: "refuses a key whose host field is another host", args: { name: 'git.example', key: `other.example ${K1}`, path: '{root}/kh' }, error: 'Host parameter does not match hashed host field in supplied key' },
      { name: 'refuses a list of names', args: { name: 'a,b', key: `a ${K1}`, path: '{root}/kh' }, error: 'Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file.' },
      { name: 'needs a key to add', args: { name: 'git.example', path: '{root}/kh' }, error: 'No key specified when adding a host' },
      { name: 'fails where the directory is missing', args: { name: 'git.example', key: `git.example ${K1}`, path: '{root}/nodir/kh' }, error: 'Failed to write to file {root}/nodir/kh: [Errno 2] No such file or directory' },
      {
        name: 'fails as Ansible does where the target has no ssh-keygen',
        args: { name: 'git.example', key: `git.example ${K1}`, path: '/kh' },
        error: 'Failed to find required executable "ssh-keygen" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        targets: ['confined'] as Target[],
      },
    ].map((c): Case => ({ targets: ['local'], ...c })),
  );

  it('hashes the host name with a random salt, which ssh-keygen finds, and leaves a hashed line alone', async () => {
    const sb = await sandbox('local');
    const path = join(sb.treeDir, 'kh');
    const run = async (check = false) => knownHosts.run(makeContext({ args: await prepare(knownHosts, { name: '[git.example]:2222', key: `[git.example]:2222 ${K1}`, path, hash_host: true }), conn: sb.conn, check }));
    expect(await run()).toMatchObject({ changed: true });
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(new RegExp(`^\\|1\\|[A-Za-z0-9+/]{27}=\\|[A-Za-z0-9+/]{27}= ${K1.replaceAll('+', '\\+')}\n$`));
    expect((await execa('ssh-keygen', ['-F', '[git.example]:2222', '-f', path])).stdout).toContain(K1);
    expect(await run()).toMatchObject({ changed: false });
    expect(await run(true)).toMatchObject({ changed: false });
    expect(await readFile(path, 'utf8')).toBe(text);
  });
});
