import { describe, expect, it } from 'vitest';
import { editModules, kernelModules } from '../../../src/modules/kernel-modules.js';
import { cases } from '../../support/module-cases.js';
import { rooted, rootedRows } from '../../support/rooted-module.js';

const conf = 'etc/modules-load.d/imgplay.conf';

describe('kernel_modules', () => {
  cases(
    rooted(kernelModules),
    rootedRows([
      {
        name: 'creates the default file with one module per line, in the order given',
        args: { names: ['overlay', 'br_netfilter', 'overlay'] },
        changed: true,
        after: { [conf]: 'overlay\nbr_netfilter\n' },
        result: { file: '/etc/modules-load.d/imgplay.conf', diff: { before: '', after: 'overlay\nbr_netfilter\n' } },
      },
      {
        name: 'adds only the missing modules, keeping comments and order',
        args: { names: ['loop', 'overlay'] },
        before: { [conf]: '# mine\noverlay\n' },
        changed: true,
        after: { [conf]: '# mine\noverlay\nloop\n' },
      },
      { name: 'leaves a file that lists the modules alone', args: { names: ['overlay'] }, before: { [conf]: 'loop\n  overlay\n' }, changed: false },
      {
        name: 'writes the file given',
        args: { names: ['8021q'], file: '/etc/modules' },
        before: { 'etc/modules': '# /etc/modules\n' },
        changed: true,
        after: { 'etc/modules': '# /etc/modules\n8021q\n' },
      },
      {
        name: 'removes modules with state=absent',
        args: { names: ['loop', 'nbd'], state: 'absent' },
        before: { [conf]: '# mine\nloop\noverlay\n' },
        changed: true,
        after: { [conf]: '# mine\noverlay\n' },
      },
      { name: 'leaves a missing file missing with state=absent', args: { names: ['loop'], state: 'absent' }, changed: false },
      { name: 'refuses a name that is not a module name', args: { names: ['loop nbd'] }, error: "invalid kernel module name 'loop nbd'" },
      { name: 'needs names', args: {}, invalid: 'missing required arguments: names' },
    ]),
  );

  it('ends an unterminated last line only when it adds one', () => {
    expect(editModules('loop', ['loop'], 'present')).toBe('loop');
    expect(editModules('loop', ['nbd'], 'present')).toBe('loop\nnbd\n');
    expect(editModules('loop\n', ['loop'], 'absent')).toBe('');
  });
});
