import { describe } from 'vitest';
import { pamd } from '../../../src/modules/pamd.js';
import { cases } from '../../support/module-cases.js';

const SVC = '# svc\nauth       required     pam_env.so\nsession    optional     pam_motd.so motd=/run/motd.dynamic\nsession    required     pam_limits.so\n';

// The module's layout and messages are community.general.pamd's (differential case 277 runs the module itself);
// these rows pin what that case cannot: the time line at SOURCE_DATE_EPOCH, from the task's environment.
describe('pamd', () => {
  cases(pamd, [
    {
      name: 'removes a rule and dates its mark at SOURCE_DATE_EPOCH from the task environment',
      args: { name: 'svc', path: '{root}', type: 'session', control: 'optional', module_path: 'pam_motd.so', state: 'absent' },
      environment: { SOURCE_DATE_EPOCH: '86400' },
      before: { svc: SVC },
      changed: true,
      after: { svc: '# svc\n# Updated by Ansible - 1970-01-02T00:00:00\nauth       required pam_env.so\nsession    required pam_limits.so\n' },
      result: { change_count: 1, backupdest: '' },
    },
    {
      name: 'names a missing service file as Python does',
      args: { name: 'nothere', path: '{root}', type: 'auth', control: 'required', module_path: 'pam_env.so', state: 'absent' },
      error: "Unable to open/read PAM module file {root}/nothere with error [Errno 2] No such file or directory: '{root}/nothere'.",
    },
  ]);
});
