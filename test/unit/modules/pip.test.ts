// pip's reading of `name`: list items that are bare version specifiers belong to the name before them,
// as Ansible's pip module joins them; the rest of pip's work runs in a chroot (test/integration/side-by-side).
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../src/connection/local.js';
import { pip } from '../../../src/modules/pip.js';
import { recoverPackageNames } from '../../../src/modules/support/pip-packages.js';
import { makeContext, prepare } from '../../support/module-cases.js';

describe('pip package names', () => {
  it.each([
    [['flask'], ['flask']],
    [['flask>=2.0', '<3'], ['flask>=2.0,<3']],
    [['flask>=2.0,<3,requests'], ['flask>=2.0,<3', 'requests']],
    [['requests[socks,security]>=2', 'six'], ['requests[socks,security]>=2', 'six']],
    [['a==1', '!=1.1', 'b ~=2'], ['a==1,!=1.1', 'b ~=2']],
    [['/srv/wheels/x-1.0-py3-none-any.whl'], ['/srv/wheels/x-1.0-py3-none-any.whl']],
  ])('reads %j as the packages %j', (names, packages) => {
    expect(recoverPackageNames(names)).toEqual(packages);
  });
});

describe('pip arguments', () => {
  it('needs a name or a requirements file, not both', async () => {
    await expect(prepare(pip, {})).rejects.toThrow('one of the following is required: name, requirements');
    await expect(prepare(pip, { name: 'x', requirements: 'r.txt' })).rejects.toThrow('parameters are mutually exclusive: name|requirements');
    await expect(prepare(pip, { name: 'x', executable: 'pip3', virtualenv: '/opt/v' })).rejects.toThrow('parameters are mutually exclusive: executable|virtualenv');
  });

  it("refuses the local connection, whose Python is the build host's", async () => {
    const r = await pip.run(makeContext({ args: await prepare(pip, { name: 'flask' }), conn: new LocalConnection() }));
    expect(r).toMatchObject({ failed: true });
    expect(r.msg).toContain("build host's own Python packages");
  });
});
