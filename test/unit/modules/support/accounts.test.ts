import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Accounts } from '../../../../src/modules/support/accounts.js';
import { ConfinedConnection, sandbox } from '../../../support/module-cases.js';

async function targetWith(passwd: string, group: string): Promise<ConfinedConnection> {
  const sb = await sandbox('confined');
  const root = (sb.conn as ConfinedConnection).root;
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), passwd);
  await writeFile(join(root, 'etc/group'), group);
  return new ConfinedConnection(root);
}

describe('Accounts', () => {
  it("resolves names from the target's files, not the host's", async () => {
    const conn = await targetWith('root:x:0:0::/root:/bin/sh\nbuilder:x:1500:1600::/:/bin/sh\n', 'root:x:0:\nbuilders:x:1600:\n');
    const a = new Accounts(conn);
    expect(await a.uid('builder')).toBe(1500);
    expect(await a.gid('builders')).toBe(1600);
    expect(await a.userName(1500)).toBe('builder');
    expect(await a.groupName(1600)).toBe('builders');
    expect(await a.uid('nobody')).toBeUndefined();
  });

  it('takes numbers and numeric strings as ids without looking them up', async () => {
    const a = new Accounts(await targetWith('', ''));
    expect(await a.uid(1234)).toBe(1234);
    expect(await a.uid('1234')).toBe(1234);
    expect(await a.gid('0')).toBe(0);
  });

  it('takes the first entry for a duplicated name or id, as getpwnam does', async () => {
    const a = new Accounts(await targetWith('x:x:1:1::/:/bin/sh\nx:x:2:2::/:/bin/sh\ny:x:1:1::/:/bin/sh\n', ''));
    expect(await a.uid('x')).toBe(1);
    expect(await a.userName(1)).toBe('x');
  });

  it('knows no names in a tree without /etc/passwd', async () => {
    const sb = await sandbox('confined');
    const a = new Accounts(new ConfinedConnection(join((sb.conn as ConfinedConnection).root, 'empty')));
    expect(await a.uid('root')).toBeUndefined();
    expect(await a.userName(0)).toBeUndefined();
  });
});
