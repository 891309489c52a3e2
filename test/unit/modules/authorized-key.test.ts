import { describe } from 'vitest';
import { authorizedKey } from '../../../src/modules/authorized-key.js';
import { type Case, TEST_ACCOUNTS, cases } from '../../support/module-cases.js';

const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@example';
const K2 = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo';
const { user, uid, gid } = TEST_ACCOUNTS;


// Expected contents and messages were taken from ansible.posix 1.5's authorized_key (Debian's ansible 7.7) on the same inputs.
describe('authorized_key', () => {
  cases(
    authorizedKey,
    (
      [
      {
        name: 'adds a key to an existing file, keeping its lines',
        args: { user, path: '{root}/ak', key: K1 },
        before: { ak: '# by hand\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo two\n' },
        changed: true,
        after: { ak: { content: `# by hand\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo two\n${K1}\n`, mode: 0o600, uid, gid } },
        result: { keyfile: '{root}/ak' },
      },
      {
        name: 'writes a key without a comment with a trailing space, as Ansible does',
        args: { user, path: '{root}/d/ak', key: K2 },
        before: { d: { dir: true } },
        changed: true,
        after: { d: { dir: true, mode: 0o700, uid, gid }, 'd/ak': { content: `${K2} \n`, mode: 0o600, uid, gid } },
      },
      {
        name: 'puts options before the key and rewrites it when they change',
        args: { user, path: '{root}/ak', key: K1, key_options: 'no-pty,from="10.0.0.1,10.0.0.2"' },
        before: { ak: `${K1}\n# after\n` },
        changed: true,
        after: { ak: { content: `# after\nno-pty,from="10.0.0.1,10.0.0.2" ${K1}\n`, mode: 0o600 } },
      },
      {
        name: 'replaces the comment',
        args: { user, path: '{root}/ak', key: K1, comment: 'renamed' },
        before: { ak: `${K1}\n` },
        changed: true,
        after: { ak: { content: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne renamed\n', mode: 0o600 } },
      },
      {
        name: 'leaves a key that is there alone',
        args: { user, path: '{root}/ak', key: K1 },
        before: { ak: `${K1}\n\n${K1}\n` },
        changed: false,
      },
      {
        name: 'removes a key whatever its comment',
        args: { user, path: '{root}/ak', key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne', state: 'absent' },
        before: { ak: `# c\n${K1}\n${K2} x\n` },
        changed: true,
        after: { ak: { content: `# c\n${K2} x\n`, mode: 0o600 } },
      },
      {
        name: 'keeps only the given keys with exclusive, comments included',
        args: { user, path: '{root}/ak', key: K1, exclusive: true },
        before: { ak: `# c\n${K2} x\n${K1}\n` },
        changed: true,
        after: { ak: { content: `${K1}\n`, mode: 0o600 } },
      },
      {
        name: "looks the home up in the target's passwd and, as Ansible, makes only its .ssh",
        args: { user, key: K1 },
        error: 'Failed to create directory /home/imgtest/.ssh : [Errno 2] No such file or directory',
      },
      { name: 'refuses an invalid key', args: { user, path: '{root}/ak', key: 'not a key' }, before: { ak: '' }, error: 'invalid key specified: not a key' },
      { name: 'refuses a URL', args: { user, path: '{root}/ak', key: 'https://example.invalid/keys' }, before: { ak: '' }, error: 'imgplay does not fetch keys from URLs' },
      { name: 'fails for an unknown user', args: { user: 'nobody-here', key: K1 }, error: 'Failed to lookup user nobody-here' },
    ] as Case[]
    ).map((row) => ({ targets: ['confined' as const], ...row })),
  );
});
