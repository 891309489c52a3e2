// What `npm pack` ships is what `npx imgplay all.yml` needs, and package.json names nothing that is not there.
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[]; bin: Record<string, string> };

describe('the npm package', () => {
  it('names in "files" only what exists', () => {
    expect(pkg.files.filter((f) => !existsSync(f))).toEqual([]);
  });

  it('ships the command, the built code and the playbooks and roles all.yml runs', async () => {
    const r = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const files = new Set((JSON.parse(String(r.stdout)) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    for (const bin of Object.values(pkg.bin)) expect(files.has(bin.replace(/^\.\//, '')), bin).toBe(true);
    for (const f of ['dist/cli.js', 'playbooks/all.yml', 'playbooks/common/basefs.yml', 'hosts.yaml', 'package.json']) expect(files.has(f), f).toBe(true);
    expect([...files].filter((f) => f.startsWith('test/') || f.startsWith('src/'))).toEqual([]);
  }, 60_000);
});
