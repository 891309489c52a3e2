// Playbooks that must fail (or list) in a precise way: each folder in playbooks/ holds a playbook and
// expect.yaml (exit code, recap counts, lines that stdout/stderr must contain).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const here = fileURLToPath(new URL('.', import.meta.url));
// IMGPLAY_BIN runs another build (a private outDir), as the differential harness allows.
const imgplay = process.env.IMGPLAY_BIN || join(here, '..', '..', 'bin', 'imgplay.js');
const cases = readdirSync(join(here, 'playbooks'));

interface Expect {
  args?: string[];
  exit: number;
  stdout?: string[];
  stderr?: string[];
  recap?: Record<string, Record<string, number>>;
}

function recapOf(stdout: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of stdout.matchAll(/^(\S+)\s+: (ok=.*)$/gm)) {
    out[m[1]!] = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
  }
  return out;
}

describe('imgplay on playbooks with a known outcome', () => {
  for (const name of cases) {
    const dir = join(here, 'playbooks', name);
    const exp = parse(readFileSync(join(dir, 'expect.yaml'), 'utf8')) as Expect;
    it(`${name}: exits ${exp.exit} with the expected output`, async () => {
      const r = await execa('node', [imgplay, 'playbook.yml', ...(exp.args ?? [])], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
      const context = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
      expect(r.exitCode, context).toBe(exp.exit);
      for (const line of exp.stdout ?? []) expect(r.stdout, context).toContain(line);
      for (const line of exp.stderr ?? []) expect(r.stderr, context).toContain(line);
      expect(r.stderr, 'no stack traces for user mistakes').not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
      if (exp.recap) {
        const recap = recapOf(r.stdout);
        for (const [host, counts] of Object.entries(exp.recap)) expect(recap[host], context).toMatchObject(counts);
      }
    });
  }
});
