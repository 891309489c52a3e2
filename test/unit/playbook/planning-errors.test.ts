import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-planning-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hosts = join(dir, 'hosts.yml');
writeFileSync(hosts, 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n');

// Runs `imgplay <playbook> --syntax-check` in-process, as the command line does.
async function syntaxCheck(name: string, text: string, ...extra: string[]): Promise<{ code: number; stderr: string }> {
  const file = join(dir, name);
  writeFileSync(file, text);
  let stderr = '';
  const code = await main(['node', 'imgplay', file, '-i', hosts, '--syntax-check', ...extra], { stdout: () => {}, stderr: (s) => void (stderr += s) });
  return { code, stderr };
}

const play = '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n';

describe('planning a hostile playbook', () => {
  it('refuses a billion laughs playbook with exit 4 and the alias located, in bounded time', async () => {
    const levels = ['- hosts: localhost', '  vars:', '    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 9; i++) levels.push(`    a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    const started = Date.now();
    const { code, stderr } = await syntaxCheck('laughs.yml', `${levels.join('\n')}\n`);
    expect(code).toBe(4);
    expect(stderr).toMatch(/^ERROR! .*laughs\.yml:\d+:\d+: YAML aliases expand to more than 1000000 values\n/);
    expect(stderr).toContain('^');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('refuses a 1500-deep block mapping with exit 4, not a stack trace', async () => {
    const deep = `- hosts: localhost\n  vars:\n${Array.from({ length: 1500 }, (_, i) => `${' '.repeat(i + 4)}k:\n`).join('')}`;
    const { code, stderr } = await syntaxCheck('deep.yml', deep);
    expect(code).toBe(4);
    expect(stderr).toMatch(/deep\.yml:\d+:\d+: YAML nested more than 100 collections deep/);
    expect(stderr).not.toMatch(/internal error|RangeError|    at /);
  });

  it('accepts !!binary values', async () => {
    expect((await syntaxCheck('binary.yml', `- hosts: localhost\n  vars:\n    x: !!binary aGVsbG8=\n  tasks: []\n`)).code).toBe(0);
  });

  it('names the import_playbook that is not a file name, at its key', async () => {
    const { code, stderr } = await syntaxCheck('import.yml', '- import_playbook: {a: 1}\n');
    expect(code).toBe(4);
    expect(stderr).toBe(
      `ERROR! ${join(dir, 'import.yml')}:1:3: import_playbook takes the name of a playbook file, got a mapping\n` +
        '   1 | - import_playbook: {a: 1}\n     |   ^\n',
    );
  });

  it('names the import_playbook whose name uses an undefined variable, at its key', async () => {
    const { code, stderr } = await syntaxCheck('undefined-import.yml', '- import_playbook: "{{ nope }}.yml"\n');
    expect(code).toBe(4);
    expect(stderr).toMatch(/^ERROR! \S+undefined-import\.yml:1:3: import_playbook: 'nope' is undefined/);
  });

  it('names the import_playbook whose file is missing, at its key', async () => {
    const { code, stderr } = await syntaxCheck('missing.yml', '- name: first\n  import_playbook: nowhere.yml\n');
    expect(code).toBe(4);
    expect(stderr).toMatch(/^ERROR! \S+missing\.yml:2:3: import_playbook: there is no playbook file \S+nowhere\.yml\n/);
  });

  it('refuses an -e @file over the size limit with exit 4, naming its size', async () => {
    const big = join(dir, 'big-vars.yml');
    writeFileSync(big, '');
    truncateSync(big, 200 * 1024 * 1024);
    const { code, stderr } = await syntaxCheck('ok.yml', play, '-e', `@${big}`);
    expect(code).toBe(4);
    expect(stderr).toContain(`${big} is 200.0 MiB, over the 2.0 MiB imgplay reads from one YAML or inventory input`);
  });

  it('refuses an inline -e value with an alias bomb, located in <extra vars>', async () => {
    const bomb = `{a: &a [x,x,x,x,x,x,x,x,x,x], b: &b [${Array(10).fill('*a').join(',')}], c: &c [${Array(10).fill('*b').join(',')}], d: &d [${Array(10).fill('*c').join(',')}], e: &e [${Array(10).fill('*d').join(',')}], f: &f [${Array(10).fill('*e').join(',')}], g: [${Array(10).fill('*f').join(',')}]}`;
    const { code, stderr } = await syntaxCheck('ok2.yml', play, '-e', bomb);
    expect(code).toBe(4);
    expect(stderr).toMatch(/<extra vars>:1:\d+: YAML aliases expand/);
  });

  it('refuses a vars file of an inventory that holds a !vault value, located', async () => {
    const inv = join(dir, 'inv');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(inv, 'group_vars'), { recursive: true });
    writeFileSync(join(inv, 'hosts.yml'), 'all:\n  hosts:\n    localhost:\n');
    writeFileSync(join(inv, 'group_vars', 'all.yml'), 'secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n');
    const file = join(dir, 'ok3.yml');
    writeFileSync(file, play);
    let stderr = '';
    const code = await main(['node', 'imgplay', file, '-i', inv, '--syntax-check'], { stdout: () => {}, stderr: (s) => void (stderr += s) });
    expect(code).toBe(4);
    expect(stderr).toContain(`${join(inv, 'group_vars', 'all.yml')}:1:16: this value is encrypted with ansible-vault (!vault)`);
  });

  it('names the import_tasks whose file name uses an undefined variable, at its key, with exit 4 as Ansible', async () => {
    const { code, stderr } = await syntaxCheck('undefined-tasks.yml', '- hosts: localhost\n  tasks:\n    - import_tasks: "{{ nope }}.yml"\n');
    expect(code).toBe(4);
    expect(stderr).toMatch(/^ERROR! \S+undefined-tasks\.yml:3:7: import_tasks: 'nope' is undefined\n {3}3 \| {5}- import_tasks: .*\n {5}\| {7}\^\n/);
  });

  it('names the import_role whose name uses an undefined variable, at its key, with exit 1 as Ansible', async () => {
    const { code, stderr } = await syntaxCheck('undefined-import-role.yml', '- hosts: localhost\n  tasks:\n    - import_role:\n        name: "{{ nope }}"\n');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^ERROR! \S+undefined-import-role\.yml:3:7: import_role: 'nope' is undefined\n/);
  });

  it('names the roles entry that uses an undefined variable, at the roles key, with exit 1 as Ansible', async () => {
    const { code, stderr } = await syntaxCheck('undefined-role.yml', '- hosts: localhost\n  roles:\n    - "{{ nope }}"\n');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^ERROR! \S+undefined-role\.yml:2:3: roles: 'nope' is undefined\n/);
  });

  it('refuses a role named by a mapping, at its key, with exit 1 as Ansible', async () => {
    const { code, stderr } = await syntaxCheck('role-map.yml', '- hosts: localhost\n  roles:\n    - role: {a: 1}\n');
    expect(code).toBe(1);
    expect(stderr).toBe(`ERROR! ${join(dir, 'role-map.yml')}:3:7: a role is named by a string, got a mapping\n   3 |     - role: {a: 1}\n     |       ^\n`);
  });

  it('prints the escape sequence of a hostile key as a visible character, never to the terminal', async () => {
    const { code, stderr } = await syntaxCheck('escape-key.yml', '- hosts: localhost\n  "\\e[2J\\rclear": 1\n');
    expect(code).toBe(4);
    expect(stderr).toContain("escape-key.yml:2:3: '\ufffd[2J\ufffdclear' is not a valid keyword for a play\n");
    expect(stderr).not.toMatch(/[\u001b\r]/);
  });

  it('refuses a role entry without a role name, located, with exit 1 as Ansible', async () => {
    const { code, stderr } = await syntaxCheck('role-nameless.yml', '- hosts: localhost\n  roles:\n    - {a: 1}\n');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^ERROR! \S+role-nameless\.yml:3:7: a role entry needs 'role'\n/);
  });
});

describe('planning errors of a whole playbook', () => {
  it('reports every planning error at once, each located, then their count', async () => {
    const text = '- hosts: localhost\n  tasks:\n    - assemble: { src: x, dest: y }\n    - cpoy: { src: a, dest: b }\n- hosts: localhost\n  strategy: debug\n  tasks: []\n';
    const { code, stderr } = await syntaxCheck('many.yml', text);
    expect(code).toBe(4);
    expect(stderr).toMatch(/many\.yml:3:7: the module 'ansible\.builtin\.assemble' is not implemented in imgplay/);
    expect(stderr).toMatch(/many\.yml:4:7: unknown module 'cpoy'[\s\S]*did you mean 'copy'\?/);
    expect(stderr).toMatch(/many\.yml:6:3: strategy: the "debug" strategy is not supported \(the debug strategy is an interactive debugger\)/);
    expect(stderr).toContain('3 errors in the playbook; nothing ran');
  });

  it('refuses a value only imgplay refuses, but leaves it to the run in a task that runs under a condition', async () => {
    const refused = await syntaxCheck('use.yml', '- hosts: localhost\n  tasks:\n    - service: { name: x, use: sysvinit, state: started }\n');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/use\.yml:3:\d+: service: use=sysvinit is not supported by imgplay/);
    const branch = await syntaxCheck('branch.yml', "- hosts: localhost\n  tasks:\n    - service: { name: x, use: sysvinit, state: started }\n      when: ansible_service_mgr == 'sysvinit'\n");
    expect(branch.code).toBe(0);
  });

  it('refuses literal arguments the module would refuse, but leaves them to the run in a task written to fail', async () => {
    const refused = await syntaxCheck('args.yml', '- hosts: localhost\n  tasks:\n    - file: { state: directory }\n    - group: { name: g, non_unique: true }\n');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/args\.yml:3:\d+: file: missing required arguments: path/);
    expect(refused.stderr).toMatch(/args\.yml:4:\d+: group: non_unique is True but all of the following are missing: gid/);
    const onPurpose = [
      '- hosts: localhost',
      '  tasks:',
      '    - file: { state: directory }',
      '      ignore_errors: true',
      '    - group: { name: g, non_unique: true }',
      '      failed_when: false',
      '    - block:',
      '        - lineinfile: { path: /x, bogus: 1 }',
      '      rescue:',
      '        - debug: msg=rescued',
      '    - block:',
      '        - file: { state: touch }',
      "      ignore_errors: '{{ maybe }}'",
      '',
    ].join('\n');
    expect(await syntaxCheck('purpose.yml', onPurpose)).toEqual({ code: 0, stderr: '' });
    const rescueOnly = await syntaxCheck('rescue.yml', '- hosts: localhost\n  tasks:\n    - block:\n        - debug: msg=x\n      rescue:\n        - file: { state: directory }\n');
    expect(rescueOnly.stderr, 'a task in the rescue itself is judged at planning').toMatch(/rescue\.yml:6:\d+: file: missing required arguments: path/);
  });

  it('plans an Ansible module imgplay lacks in a task that runs only under a condition, and still refuses a typo there', async () => {
    const branch = '- hosts: localhost\n  tasks:\n    - yum: { name: foo }\n      when: ansible_os_family == "RedHat"\n    - block:\n        - dnf: name=bar\n      when: false\n';
    expect(await syntaxCheck('branch.yml', branch)).toEqual({ code: 0, stderr: '' });
    const typo = await syntaxCheck('typo.yml', '- hosts: localhost\n  tasks:\n    - yumm: { name: foo }\n      when: false\n');
    expect(typo.code).toBe(4);
    expect(typo.stderr).toContain("unknown module 'yumm'");
    const unsupported = await syntaxCheck('async.yml', '- hosts: localhost\n  tasks:\n    - yum: { name: foo }\n      async: 10\n      when: false\n');
    expect(unsupported.code, 'a keyword imgplay refuses is refused in such a task too').toBe(4);
    expect(unsupported.stderr).toContain("'async' is not supported by imgplay");
  });

  it('stops looking after 20 errors', async () => {
    const tasks = Array.from({ length: 30 }, (_, i) => `    - nosuch${i}: {}\n`).join('');
    const { code, stderr } = await syntaxCheck('many20.yml', `- hosts: localhost\n  tasks:\n${tasks}`);
    expect(code).toBe(4);
    expect(stderr.match(/^ERROR! /gm)).toHaveLength(20);
    expect(stderr).toContain('20 (or more: planning stopped there) errors in the playbook');
  });

  it('names an Ansible module imgplay lacks as not implemented, without a far-fetched suggestion', async () => {
    const { code, stderr } = await syntaxCheck('uri.yml', '- hosts: localhost\n  tasks:\n    - uri: { url: "http://127.0.0.1/" }\n');
    expect(code).toBe(4);
    expect(stderr).toContain("the module 'ansible.builtin.uri' is not implemented in imgplay");
    expect(stderr).not.toContain('did you mean');
  });
});
