// Plain output says where the time went: profile_tasks' line after each task banner, then the slowest
// tasks and each stage (playbook file) after the recap. The live view's tool line is one clean line.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';
import { lastLine } from '../../../src/host/activity.js';
import { formatElapsed } from '../../../src/report/listr.js';
import { PlainReporter } from '../../../src/report/plain.js';
import { Timings } from '../../../src/report/timings.js';

describe('task and stage timings', () => {
  let now = Date.UTC(2026, 11, 5, 19, 36, 35);
  const clock = () => now;

  it('prints the time, the previous task and the whole run after each banner, then the slowest tasks and the stages', () => {
    now = Date.UTC(2026, 11, 5, 19, 36, 35);
    const t = new Timings(clock);
    t.note({ type: 'playbook_start', file: '/p/all.yml' });
    t.note({ type: 'play_start', name: 'bootstrap the base', hosts: ['localhost'], file: '/p/common/basefs.yml' });
    expect(t.note({ type: 'task_start', id: 1, name: 'bootstrap', handler: false, file: '/p/common/basefs.yml', line: 3 })).toMatch(
      /^\w+day \d\d December 2026  \d\d:36:35 [+-]\d{4} \(0:00:00\.000\)       0:00:00\.000 \*+ $/,
    );
    now += 61_500;
    t.note({ type: 'task_result', taskId: 1, task: 'bootstrap', action: 'imgplay_bootstrap', host: 'localhost', status: 'changed', ignored: false, loop: false, result: {}, durationMs: 61_500 });
    t.note({ type: 'play_start', name: 'squash the base', hosts: ['localhost'], file: '/p/common/basefs.yml' });
    const line = t.note({ type: 'task_start', id: 2, name: 'squash', handler: false, file: '/p/common/basefs.yml', line: 9 })!;
    expect(line).toContain('(0:01:01.500)       0:01:01.500 ');
    expect(line).toHaveLength(80);
    now += 2_000;
    t.note({ type: 'play_start', name: 'build the initrd', hosts: ['initrd'], file: '/p/common/initrd.yml' });
    t.note({ type: 'task_start', id: 3, name: 'initrd : mkinitramfs', handler: false, file: '/p/roles/x.yml', line: 1 });
    now += 500;
    t.note({ type: 'task_result', taskId: 3, task: 'mkinitramfs', action: 'command', host: 'initrd', status: 'failed', ignored: false, loop: false, result: {}, durationMs: 500 });
    const summary = t.summary(80).split('\n');
    expect(summary[1]).toBe(`${'='.repeat(79)} `);
    // Slowest first; every row as wide as the terminal, name and duration joined by dashes.
    expect(summary.slice(2, 5).map((l) => l.replace(/ -+ ?-* /, ' … '))).toEqual(['bootstrap … 61.50s', 'squash … 2.00s', 'initrd : mkinitramfs … 0.50s']);
    const rows = summary.filter((l) => / -+ +\d+\.\d\ds$/.test(l));
    expect(rows.map((l) => l.length)).toEqual(Array(rows.length).fill(80));
    expect(rows.map((l) => l.replace(/ -+ +/, ' … ')).slice(3)).toEqual([
      'common/basefs.yml (2 plays, 2 tasks, 1 changed, 0 failed) … 63.50s',
      'common/initrd.yml (1 play, 1 tasks, 0 changed, 1 failed) … 0.50s',
      'total … 64.00s',
    ]);
  });

  it('end with what the stage cache did with each stage, its last word per stage', () => {
    const t = new Timings(() => 0);
    t.note({ type: 'stage', stage: 'base', status: 'cached', seconds: 218.3 });
    t.note({ type: 'stage', stage: 'overlay/oem-example', status: 'build', reason: 'roles/oem changed' });
    t.note({ type: 'stage', stage: 'overlay/discovery', status: 'limited', reason: '--limit leaves out discovery' });
    t.note({ type: 'stage', stage: 'overlay/oem-example', status: 'built', seconds: 6.4 });
    const summary = t.summary(80).split('\n');
    expect(summary.slice(summary.indexOf(`STAGE CACHE ${'*'.repeat(67)}`))).toEqual([
      `STAGE CACHE ${'*'.repeat(67)}`,
      'base                 cached (218.3 s of building saved)',
      'overlay/oem-example  built in 6.4 s, kept',
      'overlay/discovery    not built (--limit)',
      '',
    ]);
  });

  it('are printed by plain output after the recap', () => {
    let text = '';
    const r = new PlainReporter({ write: (s) => void (text += s), verbosity: 0, color: false, diff: false, timings: true });
    r.emit({ type: 'playbook_start', file: '/p/site.yml' });
    r.emit({ type: 'play_start', name: 'one', hosts: ['localhost'], file: '/p/site.yml' });
    r.emit({ type: 'task_start', id: 1, name: 'a task', handler: false, file: '/p/site.yml', line: 4 });
    r.emit({ type: 'recap', hosts: [] });
    expect(text).toMatch(/TASK \[a task\] \*+\n\w+day .* \(0:00:00\.\d{3}\)       0:00:00\.\d{3} \*+ \n/);
    expect(text).toMatch(/PLAY RECAP \*+\n\n.*\n=+ \na task -+ +0\.\d\ds\n\nSTAGES \*+\nsite\.yml \(1 play, 1 tasks, 0 changed, 0 failed\) -+ 0\.\d\ds\ntotal -+ 0\.\d\ds\n$/);
  });
});

describe('imgplay run --no-timings', () => {
  it('prints the plain output without the time lines and the closing tables', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imgplay-timings-'));
    try {
      await writeFile(join(dir, 'site.yml'), '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: a task\n      debug: msg=hi\n');
      const outputs: string[] = [];
      for (const extra of [[], ['--no-timings']]) {
        let text = '';
        expect(await main(['node', 'imgplay', join(dir, 'site.yml'), ...extra], { stdout: (s) => void (text += s), stderr: (s) => void (text += s) })).toBe(0);
        outputs.push(text);
      }
      const [timed, plain] = outputs as [string, string];
      expect(timed).toMatch(/STAGES \*+/);
      expect(timed).toMatch(/ \(0:00:0\d\.\d{3}\) /);
      expect(plain).toMatch(/TASK \[a task\] \*+\nok: \[localhost\] => \{/);
      expect(plain).not.toMatch(/STAGES|\(0:00:|total -/);
      expect(plain).toMatch(/PLAY RECAP \*+\nlocalhost +: ok=1 /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the live view', () => {
  it('counts a task\'s time in seconds, then minutes, then hours', () => {
    expect([formatElapsed(7_900), formatElapsed(125_000), formatElapsed(3_720_000)]).toEqual(['7s', '2m05s', '1h02m']);
  });

  it('shows the last line a tool drew, without its escape sequences or progress-bar returns', () => {
    expect(lastLine('Unpacking libc6 ...\nSetting up libc6 ...\n')).toBe('Setting up libc6 ...');
    expect(lastLine('[=====>      ] 40%\r[=======>    ] 60%\r')).toBe('[=======>    ] 60%');
    expect(lastLine('\x1b[1;32mdone\x1b[0m\n\n  \n')).toBe('done');
    expect(lastLine('\n \r\n')).toBeUndefined();
    expect(lastLine('x'.repeat(500))).toHaveLength(200);
  });
});
