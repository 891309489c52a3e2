import { describe, expect, it } from 'vitest';
import { parseListUnits, parseStatusAll } from '../../../src/modules/service-facts.js';

describe('service_facts', () => {
  it('reads running and stopped SysV scripts from service --status-all, leaving out those that cannot tell', () => {
    const out = ' [ + ]  cron\n [ - ]  ssh\n [ ? ]  hwclock.sh\n [ - ]  with space\n';
    expect(parseStatusAll(out)).toEqual({
      cron: { name: 'cron', state: 'running', source: 'sysv' },
      ssh: { name: 'ssh', state: 'stopped', source: 'sysv' },
      'with space': { name: 'with space', state: 'stopped', source: 'sysv' },
    });
    expect(parseStatusAll('')).toEqual({});
  });

  it("reads systemctl list-units as Ansible does: active/inactive, and the units systemd cannot run", () => {
    const out = [
      '  UNIT                 LOAD      ACTIVE   SUB     DESCRIPTION',
      '  cron.service         loaded    active   running Regular background program processing daemon',
      '  e2scrub_reap.service loaded    inactive dead    Remove Stale Online ext4 Metadata Check Snapshots',
      '● gone.service         not-found inactive dead    gone.service',
      '',
      'LOAD   = Reflects whether the unit definition was properly loaded.',
    ].join('\n');
    expect(parseListUnits(out)).toEqual({
      'cron.service': { name: 'cron.service', state: 'running', status: 'active', source: 'systemd' },
      'e2scrub_reap.service': { name: 'e2scrub_reap.service', state: 'stopped', status: 'inactive', source: 'systemd' },
      'gone.service': { name: 'gone.service', state: 'stopped', status: 'not-found', source: 'systemd' },
    });
  });
});
