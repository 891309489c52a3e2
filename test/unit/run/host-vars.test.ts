import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imgplayVersion } from '../../../src/host/version.js';
import { loadInventory, type Inventory } from '../../../src/inventory/inventory.js';
import type { Playbook, TaskNode } from '../../../src/playbook/model.js';
import { loadPlaybook } from '../../../src/playbook/resolve.js';
import { HostVars } from '../../../src/run/host-vars.js';
import { emptyScope, innerScope } from '../../../src/run/scope.js';
import type { PlayRun } from '../../../src/run/state.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-host-vars-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, text: string): string {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

// `who` is set at every layer up to the one a test looks at; each layer names itself.
write('hosts.yaml', 'all:\n  children:\n    web:\n      hosts:\n        web1.example: { who: inventory-host, only_inv: 1 }\n        web2: {}\n      vars: { who: inventory-group }\n');
write('roles/r/defaults/main.yml', 'who: role-defaults\nrole_default_only: d\n');
write('roles/r/vars/main.yml', 'role_var: v\n');
write('roles/r/tasks/main.yml', '- debug: msg=x\n  vars: { who: task-vars }\n');
const playFile = write('play.yml', '- hosts: web\n  gather_facts: false\n  vars: { who: play-vars, play_only: p }\n  roles: [r]\n');

let playbook: Playbook;
let inventory: Inventory;
beforeAll(async () => {
  playbook = await loadPlaybook(playFile);
  inventory = await loadInventory([join(dir, 'hosts.yaml')]);
});

function setUp(extraVars: Record<string, unknown> = {}) {
  const hv = new HostVars(playbook.file, inventory, { check: true, diff: false, tags: [], skipTags: ['slow'], verbosity: 2, forks: 5, extraVars });
  const play = playbook.plays[0]!;
  const hosts = inventory.select('web').map((inv) => hv.hostRun(inv));
  const pr: PlayRun = { play, hosts, allHosts: hosts, ended: false, broken: false, handlers: [], forceHandlers: false, free: false };
  const roleTask = (play.tasks[0] as unknown as { block: TaskNode[] }).block[0]!;
  return { hv, pr, web1: hosts[0]!, web2: hosts[1]!, roleTask };
}

describe("a task's variables on a host", () => {
  it("take a play's vars over the inventory's and a role's defaults", () => {
    const { hv, pr, web1 } = setUp();
    const vars = hv.forTask(pr, web1, undefined, emptyScope());
    expect(vars.who).toBe('play-vars');
    expect(vars.only_inv).toBe(1);
    expect(vars.role_default_only).toBe('d');
  });

  it("take a task's vars over the play's, facts under them and set_fact's variables over them", () => {
    const { hv, pr, web1, roleTask } = setUp();
    expect(hv.forTask(pr, web1, roleTask, emptyScope()).who).toBe('task-vars');
    web1.facts.who = 'a-fact';
    expect(hv.forTask(pr, web1, undefined, emptyScope()).who).toBe('play-vars');
    web1.nonPersistent.who = 'set-fact';
    expect(hv.forTask(pr, web1, roleTask, emptyScope()).who).toBe('set-fact');
  });

  it('take block vars over the play but under the task', () => {
    const { hv, pr, web1, roleTask } = setUp();
    const scope = innerScope(emptyScope(), { ...roleTask, vars: { who: 'block-vars' } });
    expect(hv.forTask(pr, web1, undefined, scope).who).toBe('block-vars');
    expect(hv.forTask(pr, web1, roleTask, scope).who).toBe('task-vars');
  });

  it('take extra vars over everything but the magic variables', () => {
    const { hv, pr, web1, roleTask } = setUp({ who: 'extra', inventory_hostname: 'spoofed' });
    web1.nonPersistent.who = 'set-fact';
    const vars = hv.forTask(pr, web1, roleTask, emptyScope());
    expect(vars.who).toBe('extra');
    expect(vars.inventory_hostname).toBe('web1.example');
  });

  it("name the host, its groups, the play's hosts and the run's options", () => {
    const { hv, pr, web1, web2 } = setUp();
    web2.failed = true;
    const vars = hv.forTask(pr, web1, undefined, emptyScope());
    expect(vars).toMatchObject({
      inventory_hostname: 'web1.example',
      inventory_hostname_short: 'web1',
      group_names: ['web'],
      ansible_play_hosts: ['web1.example'],
      ansible_play_hosts_all: ['web1.example', 'web2'],
      ansible_check_mode: true,
      ansible_run_tags: ['all'],
      ansible_skip_tags: ['slow'],
      ansible_verbosity: 2,
      playbook_dir: dir,
      role_names: ['r'],
    });
    expect((vars.groups as Record<string, string[]>).web).toEqual(['web1.example', 'web2']);
  });

  it("say imgplay's version as package.json does", () => {
    const { hv, pr, web1 } = setUp();
    expect(hv.forTask(pr, web1, undefined, emptyScope()).imgplay_version).toBe(imgplayVersion());
  });

  it("name a role task's role and read the role's vars", () => {
    const { hv, pr, web1, roleTask } = setUp();
    const vars = hv.forTask(pr, web1, roleTask, emptyScope());
    expect(vars).toMatchObject({ role_name: 'r', role_var: 'v', role_path: join(dir, 'roles', 'r') });
  });

  it("reach other hosts' variables through hostvars", () => {
    const { hv, pr, web1, web2 } = setUp();
    web2.nonPersistent.mine = 'web2-value';
    const hostvars = hv.forTask(pr, web1, undefined, emptyScope()).hostvars as Record<string, Record<string, unknown>>;
    expect(hostvars.web2!.mine).toBe('web2-value');
    expect(hostvars['web1.example']!.inventory_hostname).toBe('web1.example');
  });

  it('know whose variables an object is only while the stage cache asks', () => {
    const { hv, pr, web1 } = setUp();
    expect(hv.ownerOf(hv.forTask(pr, web1, undefined, emptyScope()))).toBeUndefined();
    hv.trackOwners = true;
    const vars = hv.forTask(pr, web1, undefined, emptyScope());
    expect(hv.ownerOf(Object.create(vars) as object)).toBe('web1.example');
  });

  it('give a stage key the raw inventory, facts and set variables, unrendered', () => {
    const { hv, web1 } = setUp({ x: 'extra' });
    web1.nonPersistent.later = '{{ who }}';
    expect(hv.rawVars(web1)).toMatchObject({ who: 'inventory-host', later: '{{ who }}', x: 'extra', inventory_hostname: 'web1.example', playbook_dir: dir });
  });

  it('treat localhost as the implicit localhost when the inventory has none', () => {
    const { hv } = setUp();
    expect(hv.inventoryHost('localhost')?.implicit).toBe(true);
    expect(hv.inventoryHost('nowhere')).toBeUndefined();
  });
});
