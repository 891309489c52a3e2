import { describe } from 'vitest';
import { opensshKeypair } from '../../../src/modules/openssh-keypair.js';
import { cases } from '../../support/module-cases.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

// The module runs the target's ssh-keygen, so rows run on the local target (the build host's ssh-keygen).
// Messages are community.crypto 2.14's. Making, keeping and making again random keys is compared with the
// module itself in differential case 276 (what it returns, and both files' presence and modes).
describe('openssh_keypair', () => {
  if (skipWithout(lacking(file('/usr/bin/ssh-keygen', 'openssh-client')))) return;
  cases(
    opensshKeypair,
    [
      { name: 'refuses an RSA size under 1024', args: { path: '{root}/id', size: 512 }, error: 'For RSA keys, the minimum size is 1024 bits and the default is 4096 bits. Attempting to use bit lengths under 1024 will cause the module to fail.' },
      { name: 'refuses a DSA size other than 1024', args: { path: '{root}/id', type: 'dsa', size: 2048 }, error: 'DSA keys must be exactly 1024 bits as specified by FIPS 186-2.' },
      { name: 'refuses a passphrase, saying why', args: { path: '{root}/id', passphrase: 'x' }, invalid: 'passphrase is not supported by imgplay: keys are written without one (an image must not carry a secret it cannot use)' },
      { name: 'refuses the cryptography backend, saying why', args: { path: '{root}/id', backend: 'cryptography' }, invalid: "backend=cryptography is not supported by imgplay: keys are made by the target's ssh-keygen (opensshbin)" },
      { name: 'removes nothing that is not there', args: { path: '{root}/id', state: 'absent' }, changed: false },
    ].map((row) => ({ ...row, targets: ['local' as const] })),
  );
});
