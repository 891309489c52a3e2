// Roles that include_role names with a variable are planned before the run when the name is known then:
// a mistake in an overlay role ends `imgplay all.yml` with exit 4 in seconds, not minutes into the build.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';
import { loadInventory } from '../../../src/inventory/inventory.js';
import { planDynamicIncludes } from '../../../src/playbook/preflight.js';
import { loadPlaybook } from '../../../src/playbook/resolve.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'imgplay-preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, text: string): string {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

write('roles/good/tasks/main.yml', '- debug: msg=fine\n');
write('roles/typo/tasks/main.yml', '- name: unpack the tool\n  unarchve:\n    src: a.tgz\n    dest: /opt\n');
write('roles/imports-registered/tasks/main.yml', '- command: echo x\n  register: picked\n- import_tasks: "{{ picked.stdout }}.yml"\n');
write('roles/nested/tasks/main.yml', '- include_role:\n    name: "{{ inner_role }}"\n');

const inventory = (overlays: Record<string, string>) =>
  write(
    `hosts-${Object.values(overlays).join('-')}.yml`,
    `all:\n  children:\n    build_local:\n      hosts:\n        localhost: { ansible_connection: local }\n    overlays:\n      hosts:\n${Object.entries(overlays)
      .map(([h, p]) => `        ${h}: { ansible_connection: local, provisioner: ${p} }\n`)
      .join('')}`,
  );

async function plan(playbookText: string, overlays: Record<string, string>, opts: { limit?: string; extraVars?: Record<string, unknown> } = {}) {
  const file = write(`pb-${Math.random().toString(36).slice(2)}.yml`, playbookText);
  const playbook = await loadPlaybook(file, { extraVars: opts.extraVars });
  const inv = await loadInventory([inventory(overlays)], { playbookDir: dir });
  return planDynamicIncludes(playbook, inv, { extraVars: opts.extraVars ?? {}, limit: opts.limit });
}

const overlayPlay = `- hosts: overlays:build_local
  gather_facts: false
  tasks:
    - when: inventory_hostname in groups['overlays']
      block:
        - include_role:
            name: "{{ provisioner }}"
`;

describe('planning the roles include_role names with variables', () => {
  it('loads the role each overlay host names in the inventory', async () => {
    const r = await plan(overlayPlay, { one: 'good', two: 'good' });
    expect(r.roles).toEqual([join(dir, 'roles/good')]);
  });

  it('refuses a mistake in such a role with exit 4, at its file:line:col, naming the include', async () => {
    const err = await plan(overlayPlay, { one: 'good', two: 'typo' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 4, pos: { file: join(dir, 'roles/typo/tasks/main.yml'), line: 2, col: 3 } });
    expect((err as Error).message).toContain("unknown module 'unarchve'");
    expect((err as { hint: string }).hint).toMatch(/did you mean 'unarchive'\?\nin role 'typo', which include_role at .*:6:11 runs for two/);
  });

  it('refuses a role name that is not a role, at the include', async () => {
    const err = await plan(overlayPlay, { one: 'missing' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 4, message: "the role 'missing' was not found" });
    expect((err as { pos: { line: number } }).pos.line).toBe(6);
  });

  it('leaves a host outside --limit alone', async () => {
    const r = await plan(overlayPlay, { one: 'good', two: 'typo' }, { limit: 'localhost,one' });
    expect(r.roles).toEqual([join(dir, 'roles/good')]);
  });

  it('skips hosts whose when: is false before the run', async () => {
    const r = await plan(overlayPlay.replace("groups['overlays']", "['one']"), { one: 'good', two: 'typo' });
    expect(r.roles).toEqual([join(dir, 'roles/good')]);
  });

  it('leaves to the run a name that a task sets, registers, or that comes from facts', async () => {
    const setByTask = `- hosts: overlays
  gather_facts: false
  tasks:
    - set_fact: { provisioner: good }
    - command: echo typo
      register: picked
    - include_role: { name: "{{ provisioner }}" }
    - include_role: { name: "{{ picked.stdout }}" }
    - include_role: { name: "{{ ansible_distribution }}" }
`;
    expect((await plan(setByTask, { one: 'typo' })).roles).toEqual([]);
  });

  it('leaves to the run an include whose condition asks whether a task set a variable yet', async () => {
    const asks = `- hosts: overlays
  gather_facts: false
  tasks:
    - include_role: { name: "{{ provisioner }}" }
      when: done is not defined
    - set_fact: { done: true }
`;
    expect((await plan(asks, { one: 'typo' })).roles).toEqual([]);
  });

  it('leaves to the run a role whose own imports need a value known only then', async () => {
    const r = await plan(overlayPlay, { one: 'imports-registered' });
    expect(r.roles).toEqual([]);
  });

  it('leaves to the run an include whose condition needs a fact', async () => {
    const r = await plan(overlayPlay.replace("inventory_hostname in groups['overlays']", "ansible_os_family == 'Debian'"), { one: 'typo' });
    expect(r.roles).toEqual([]);
  });

  it('leaves to the run an include whose failure a rescue: or ignore_errors would catch, as Ansible does', async () => {
    const caught = `- hosts: overlays
  gather_facts: false
  tasks:
    - block:
        - include_role: { name: "{{ provisioner }}" }
      rescue:
        - debug: msg=rescued
    - include_role: { name: "{{ provisioner }}" }
      ignore_errors: true
`;
    expect((await plan(caught, { one: 'missing' })).roles).toEqual([]);
  });

  it('plans roles named by extra vars, in loops over inventory groups, and nested includes', async () => {
    const looped = `- hosts: localhost
  gather_facts: false
  tasks:
    - include_role: { name: "{{ hostvars_free }}" }
    - include_role: { name: nested }
      vars: { inner_role: "{{ item }}" }
      loop: "{{ groups['overlays'] }}"
`;
    const err = await plan(looped, { good: 'x', typo: 'y' }, { extraVars: { hostvars_free: 'good' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 4, pos: { file: join(dir, 'roles/typo/tasks/main.yml') } });
    const ok = await plan(looped, { good: 'x' }, { extraVars: { hostvars_free: 'good' } });
    expect(ok.roles).toEqual([join(dir, 'roles/good'), join(dir, 'roles/nested')]);
  });
});

describe('imgplay all.yml with a typo in an overlay role', () => {
  const hosts = write(
    'all-hosts.yaml',
    `all:\n  children:\n    build_local:\n      hosts:\n        localhost: { ansible_connection: local }\n    overlays:\n      vars: { ansible_connection: local }\n      hosts:\n        discovery: { provisioner: overlay/provision_discovery_overlay }\n        vendor: { provisioner: ${join(dir, 'roles/typo')} }\n`,
  );
  const run = async (...args: string[]) => {
    let stderr = '';
    const started = Date.now();
    const code = await main(['node', 'imgplay', join(root, 'playbooks/all.yml'), '-i', hosts, ...args], { stdout: () => {}, stderr: (s) => void (stderr += s) });
    return { code, stderr, ms: Date.now() - started };
  };

  it('fails --syntax-check with exit 4 and the typo located (ansible-playbook --syntax-check does not see it)', async () => {
    const r = await run('--syntax-check');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`ERROR! ${join(dir, 'roles/typo/tasks/main.yml')}:2:3: unknown module 'unarchve' in task "unpack the tool"\n   2 |   unarchve:\n     |   ^\n`);
    expect(r.stderr).toContain('runs for vendor');
  });

  it('fails the build itself within seconds, before any task runs', async () => {
    // --start-at-task a task that does not exist: should planning let the run start, it runs nothing.
    const r = await run('-e', `build_dir=${join(dir, 'never')}`, '-e', `artifact_dir=${join(dir, 'never-builds')}`, '--start-at-task', 'no such task');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("unknown module 'unarchve'");
    expect(r.ms).toBeLessThan(10_000);
  });

  it('passes with --limit leaving the broken overlay out', async () => {
    expect((await run('--syntax-check', '--limit', 'localhost,discovery')).code).toBe(0);
  });
});
