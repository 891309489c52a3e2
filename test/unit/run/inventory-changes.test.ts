import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/inventory.js';
import { HostVars } from '../../../src/run/host-vars.js';
import { applyInventoryChange } from '../../../src/run/inventory-changes.js';

const dir = mkdtempSync(join(tmpdir(), 'imgplay-inventory-changes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'hosts.yaml'), 'all:\n  hosts:\n    web1: { ansible_connection: local }\n');
mkdirSync(join(dir, 'group_vars'));
writeFileSync(join(dir, 'group_vars', 'has_vars.yml'), 'x: 1\n');

async function setUp() {
  const inventory = await loadInventory([join(dir, 'hosts.yaml')]);
  const hv = new HostVars(join(dir, 'play.yml'), inventory, { check: false, diff: false, tags: [], skipTags: [], verbosity: 0, forks: 5, extraVars: {} });
  return { hv, web1: hv.hostRun(inventory.host('web1')!) };
}

describe("add_host's result", () => {
  it('adds the host with its variables and groups, changed once', async () => {
    const { hv, web1 } = await setUp();
    const r = { changed: false, add_host: { host_name: 'img:2200', groups: ['trees'], host_vars: { ansible_connection: 'chroot', ansible_host: '/srv/t' } } };
    applyInventoryChange(hv, web1, r);
    expect(r.changed).toBe(true);
    expect(r.add_host.host_name).toBe('img');
    expect(hv.inventory.select('trees').map((h) => h.name)).toEqual(['img']);
    expect(hv.groupMap().trees).toEqual(['img']);
    expect(hv.inventory.varLayers('img').hostVarsFile).toMatchObject({ ansible_connection: 'chroot', ansible_host: '/srv/t', ansible_ssh_port: 2200 });
    const again = { changed: false, add_host: { host_name: 'img', groups: ['trees'], host_vars: { ansible_host: '/srv/t' } } };
    applyInventoryChange(hv, web1, again);
    expect(again.changed).toBe(false);
  });

  it('changes nothing for a failed result', async () => {
    const { hv, web1 } = await setUp();
    applyInventoryChange(hv, web1, { failed: true, add_host: { host_name: 'x', groups: [], host_vars: {} } });
    expect(hv.inventory.host('x')).toBeUndefined();
  });
});

describe("group_by's result", () => {
  it('puts the host in the group under its parents, and the host sees its new groups', async () => {
    const { hv, web1 } = await setUp();
    const r = { changed: false, add_group: 'kind_web', parent_groups: ['workers'] };
    applyInventoryChange(hv, web1, r);
    expect(r.changed).toBe(true);
    expect(web1.inv.groups).toEqual(['kind_web', 'workers']);
    expect(hv.inventory.select('workers').map((h) => h.name)).toEqual(['web1']);
    const again = { changed: false, add_group: 'kind_web', parent_groups: ['workers'] };
    applyInventoryChange(hv, web1, again);
    expect(again.changed).toBe(false);
  });

  it('refuses a group whose group_vars file imgplay would not read', async () => {
    const { hv, web1 } = await setUp();
    expect(() => applyInventoryChange(hv, web1, { add_group: 'has_vars', parent_groups: ['all'] })).toThrow(/made at run time \(group_by, add_host\) are not implemented in imgplay/);
  });
});
