import { describe, expect, it } from 'vitest';
import { fnmatchToRegExp, globExists } from '../../../../src/modules/support/glob.js';
import { buildTree, sandbox } from '../../../support/module-cases.js';

describe('globExists', () => {
  it('finds matches inside the target, for absolute and relative patterns', async () => {
    const sb = await sandbox('confined');
    await buildTree(sb.treeDir, { 'etc/a.conf': '', 'etc/.hidden': '', 'var/log/x.log': '', dangling: { link: 'nowhere' } });
    const r = sb.rootArg;
    expect(await globExists(sb.conn, `${r}/etc/*.conf`, '/')).toBe(true);
    expect(await globExists(sb.conn, `${r}/*/log/*.log`, '/')).toBe(true);
    expect(await globExists(sb.conn, 'etc/a.conf', r)).toBe(true);
    expect(await globExists(sb.conn, `${r}/etc/*.cfg`, '/')).toBe(false);
    // As in Python, * does not match a leading dot, and a plain path matches a dangling link.
    expect(await globExists(sb.conn, `${r}/etc/*hidden`, '/')).toBe(false);
    expect(await globExists(sb.conn, `${r}/etc/.h*`, '/')).toBe(true);
    expect(await globExists(sb.conn, `${r}/dangling`, '/')).toBe(true);
  });

  it('translates fnmatch classes', () => {
    expect(fnmatchToRegExp('[!a]?.c').test('bx.c')).toBe(true);
    expect(fnmatchToRegExp('[!a]?.c').test('ax.c')).toBe(false);
    expect(fnmatchToRegExp('[abc').test('[abc')).toBe(true);
  });
});
