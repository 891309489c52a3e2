// playbooks/common/overlays.yml must reach its archive play even when every overlay fails: Ansible ends
// a run when every host of a play has failed, and that play is the one that removes the overlay trees.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/inventory.js';
import type { BlockNode } from '../../../src/playbook/model.js';
import { loadPlaybook } from '../../../src/playbook/resolve.js';
import { evaluateCondition } from '../../../src/jinja/expr.js';
import { templateValue } from '../../../src/jinja/template.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

describe('the overlays playbook', async () => {
  const playbook = await loadPlaybook(join(root, 'playbooks', 'common', 'overlays.yml'));
  const inventory = await loadInventory([join(root, 'hosts.yaml')], { playbookDir: join(root, 'playbooks', 'common') });
  const groups = inventory.groupMap();
  const provision = playbook.plays.find((p) => p.name === 'provision the overlays')!;
  const archive = playbook.plays.find((p) => p.name === 'archive the overlays')!;

  it('provisions the overlays in a play that build_local, which runs the archive play, is also in', () => {
    const hosts = inventory.select([...provision.hosts]).map((h) => h.name);
    expect(hosts).toEqual(expect.arrayContaining(groups.overlays!));
    const archivers = inventory.select([...archive.hosts]).map((h) => h.name);
    expect(archivers.length).toBeGreaterThan(0);
    for (const h of archivers) expect(hosts).toContain(h);
  });

  it('puts each overlay in a stage of its own and keeps build_local out of every stage', () => {
    for (const play of playbook.plays) {
      for (const h of inventory.select([...play.hosts])) {
        const vars = { inventory_hostname: h.name, group_names: h.groups.filter((g) => g !== 'all' && g !== 'ungrouped') };
        const stage = templateValue(play.vars.imgplay_stage, vars);
        expect({ play: play.name, host: h.name, stage }).toEqual({ play: play.name, host: h.name, stage: groups.overlays!.includes(h.name) ? `overlay/${h.name}` : '' });
      }
    }
  });

  it('runs no provisioning task on build_local, so it can never fail there', () => {
    const tasks = provision.tasks;
    expect(tasks).toHaveLength(1);
    const block = tasks[0] as BlockNode;
    expect(block.kind).toBe('block');
    expect(block.rescue).toEqual([]);
    expect(block.always).toEqual([]);
    for (const h of inventory.select([...provision.hosts])) {
      const vars = { inventory_hostname: h.name, groups, group_names: h.groups.filter((g) => g !== 'all' && g !== 'ungrouped') };
      const runs = block.when.every((cond) => evaluateCondition(cond, vars));
      expect({ host: h.name, runs }).toEqual({ host: h.name, runs: groups.overlays!.includes(h.name) });
    }
  });
});
