import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ImgplayError, OptionsError, ParseError, ValidationError } from '../../../src/errors.js';
import { applyLimit, loadInventory, type Inventory, type VarLayers } from '../../../src/inventory/inventory.js';
import { lacking, skipWithout } from '../../support/needs.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/inventory');
const fixture = (...parts: string[]) => join(FIXTURES, ...parts);

/** Writes files (path -> text) into a fresh directory and returns its path. */
const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
});

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-inventory-'));
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

/** Loads one inventory text written to a file called `name`. */
async function inventoryOf(text: string, name = 'hosts'): Promise<Inventory> {
  const dir = await tree({ [name]: text });
  return loadInventory([join(dir, name)], {});
}

/** The error a promise (or function) rejects with. */
async function failure(run: () => unknown): Promise<ImgplayError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof ImgplayError) return err;
    throw err;
  }
  throw new Error('expected an error, got none');
}

const names = (hosts: { name: string }[]) => hosts.map((h) => h.name);

function merged(layers: VarLayers): Record<string, unknown> {
  return {
    ...layers.groupVarsFile,
    ...layers.groupVarsAllInventory,
    ...layers.groupVarsAllPlaybook,
    ...layers.groupVarsInventory,
    ...layers.groupVarsPlaybook,
    ...layers.hostVarsFile,
    ...layers.hostVarsInventory,
    ...layers.hostVarsPlaybook,
  };
}

describe('the YAML inventory form', () => {
  it('reads groups nested to any depth under children', async () => {
    const inv = await loadInventory([fixture('yaml/hosts.yml')], {});
    const inner = inv.groups().find((g) => g.name === 'inner')!;
    expect(inner.parents).toEqual(['build', 'other']);
    expect(inner.depth).toBe(2);
    expect(inv.groupMap().build).toEqual(['{{ build_root }}/rootfs', 'web01', 'deep1']);
  });

  it('puts a host named in several groups in all of them and merges its vars', async () => {
    const inv = await loadInventory([fixture('yaml/hosts.yml')], {});
    const web01 = inv.host('web01')!;
    expect(web01.groups).toEqual(['build', 'inner', 'other']);
    expect(web01.vars).toMatchObject({ role: 'inner', extra: 3 });
  });

  it('accepts hosts and groups written with no value', async () => {
    const inv = await loadInventory([fixture('yaml/hosts.yml')], {});
    expect(inv.host('zz')?.groups).toEqual(['other']);
    expect(inv.groupMap().empty).toEqual([]);
  });

  it('keeps templated host names and ansible_host raw for the executor to render', async () => {
    const inv = await loadInventory([fixture('yaml/hosts.yml')], {});
    const chroot = inv.host('{{ build_root }}/rootfs')!;
    expect(chroot.vars).toMatchObject({ ansible_connection: 'chroot', ansible_host: '{{ build_root }}/rootfs' });
  });

  it('expands host ranges and ports in YAML host keys', async () => {
    const inv = await loadInventory([fixture('yaml/hosts.yml')], {});
    expect(inv.groupMap().web).toEqual(['web02', 'web03']);
    expect(inv.host('web03')?.vars).toMatchObject({ ansible_port: 2222, role: 'web' });
  });

  it('takes ansible_group_priority out of the vars and into the priority', async () => {
    const inv = await loadInventory([fixture('yaml/hosts.yml')], {});
    const build = inv.groups().find((g) => g.name === 'build')!;
    expect(build.priority).toBe(5);
    expect(build.vars).toEqual({ stage: 'build' });
  });

  it('rejects a misspelt key with its path, position and a suggestion', async () => {
    const err = await failure(() => inventoryOf('all:\n  children:\n    web:\n      host:\n        web1:\n', 'hosts.yml'));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe("unknown key 'host' in group 'web' at all.children.web.host");
    expect(err.pos).toMatchObject({ line: 4, col: 7 });
    expect(err.hint).toBe("did you mean 'hosts'?");
  });

  it('explains that a group inside a group belongs under children', async () => {
    const err = await failure(() => inventoryOf('all:\n  web:\n    hosts:\n      web1:\n', 'hosts.yml'));
    expect(err.message).toBe("unknown key 'web' in group 'all' at all.web");
    expect(err.hint).toMatch(/goes under 'children:'/);
  });

  it('rejects hosts written as a list, showing the mapping form', async () => {
    const err = await failure(() => inventoryOf('web:\n  hosts:\n    - web1\n    - web2\n', 'hosts.yml'));
    expect(err.message).toBe("'hosts' of group 'web' at web.hosts must be a mapping, got a list");
    expect(err.pos?.line).toBe(2);
  });

  it('rejects a host mapped to a bare value', async () => {
    const err = await failure(() => inventoryOf('web:\n  hosts:\n    web1: 10.0.0.1\n', 'hosts.yml'));
    expect(err.message).toMatch(/^host 'web1' at web.hosts.web1 must map to its variables/);
    expect(err.hint).toMatch(/ansible_host: 10.0.0.1/);
  });

  it('reports YAML syntax errors in a .yml inventory with their position', async () => {
    const err = await failure(() => inventoryOf('all:\n  hosts:\n    a: [\n', 'hosts.yml'));
    expect(err).toBeInstanceOf(ParseError);
    expect(err.pos?.file).toMatch(/hosts\.yml$/);
  });

  it('refuses an inventory plugin configuration', async () => {
    const err = await failure(() => inventoryOf('plugin: aws_ec2\nregions: [x]\n', 'aws.yml'));
    expect(err.message).toMatch(/inventory plugin configuration/);
  });

  it('refuses a loop between groups', async () => {
    const err = await failure(() => inventoryOf('a:\n  children:\n    b:\n      children:\n        a:\n', 'hosts.yml'));
    expect(err.message).toMatch(/creates a loop/);
  });
});

describe('the INI inventory form', () => {
  it('is detected by content in a file without an extension', async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    expect(inv.groupMap().servers).toEqual(['web01', 'web02', 'web03', 'db-a', 'db-b', 'db-c', 'late1']);
  });

  it('reads host variables as Python literals', async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    expect(inv.host('top1')?.vars).toMatchObject({
      a: 5, b: 5, c: '5', d: true, e: 'yes', f: 'hello world', g: [1, 2], k: null, l: '{{ x }}', m: '0644',
    });
  });

  it('reads [group:vars] values as Python literals too, as ansible-core 2.14 does', async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    const db = inv.groups().find((g) => g.name === 'db')!;
    expect(db.vars).toEqual({ port: 5432, enabled: true, quoted: 'quoted', list: [1, 2], text: 'v # not a comment here' });
    expect(db.priority).toBe(10);
  });

  it("ends a host line at '#'", async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    expect(inv.host('top2')?.vars).toMatchObject({ x: 'a' });
  });

  it('expands numeric and letter ranges and applies the port to each host', async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    expect(inv.groupMap().web).toEqual(['web01', 'web02', 'web03']);
    expect(inv.groupMap().db).toEqual(['db-a', 'db-b', 'db-c']);
    expect(inv.host('web02')?.vars).toMatchObject({ ansible_port: 2222, role: 'web' });
  });

  it('accepts [group:children] naming a group declared further down', async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    expect(inv.groups().find((g) => g.name === 'later')?.parents).toEqual(['servers']);
  });

  it('rejects [group:children] naming a group never declared, at its line', async () => {
    const err = await failure(() => inventoryOf('[web]\nw1\n[all_servers:children]\nweb\nweb1\n'));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe("section [all_servers:children] includes 'web1', which is not declared as a group");
    expect(err.pos?.line).toBe(5);
  });

  it('rejects [group:vars] for a group never declared', async () => {
    const err = await failure(() => inventoryOf('[web]\nw1\n[wbe:vars]\nx=1\n'));
    expect(err.message).toBe('section [wbe:vars] is for a group that is never declared');
    expect(err.pos?.line).toBe(3);
  });

  it('rejects a word on a host line that is not key=value', async () => {
    const err = await failure(() => inventoryOf('[web]\nw1 ansible_host 10.0.0.1\n'));
    expect(err.message).toBe("expected key=value host variables after 'w1', got 'ansible_host'");
    expect(err.pos?.line).toBe(2);
  });

  it('rejects a section with an unknown type', async () => {
    const err = await failure(() => inventoryOf('[web:child]\nw1\n'));
    expect(err.message).toBe("section [web:child] has an unknown type 'child'");
  });

  it('rejects a malformed host range', async () => {
    const err = await failure(() => inventoryOf('[web]\nweb[01:3]\n'));
    expect(err.message).toMatch(/same number of digits/);
  });

  it('is used for a .ini file even when it would parse as YAML', async () => {
    const inv = await inventoryOf('h1\nh2\n', 'hosts.ini');
    expect(names(inv.select('all'))).toEqual(['h1', 'h2']);
  });
});

describe('groups all and ungrouped', () => {
  it('files hosts with no group under ungrouped and takes them out once they have one', async () => {
    const inv = await inventoryOf('loose\ngrouped\n[web]\ngrouped\n');
    expect(inv.groupMap().ungrouped).toEqual(['loose']);
    expect(inv.host('grouped')?.groups).toEqual(['web']);
  });

  it('puts every group without a parent under all', async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    expect(inv.groups().find((g) => g.name === 'all')?.children).toEqual(['ungrouped', 'servers']);
  });

  it('orders group vars by depth, then ansible_group_priority, then name', async () => {
    const inv = await loadInventory([fixture('precedence/inventory/hosts')], {});
    // servers (depth 1) < db (depth 2, priority 0) < web (depth 2, priority 1)
    expect(inv.varLayers('w1').groupVarsFile).toEqual({ a: 'file_all', gf: 'web', s: 'servers' });
  });
});

describe('group_vars and host_vars', () => {
  const load = () => loadInventory([fixture('precedence/inventory/hosts')], { playbookDir: fixture('precedence/playbook') });

  it('keeps each inventory layer of the variable precedence apart', async () => {
    const layers = (await load()).varLayers('w1');
    expect(layers).toEqual({
      groupVarsFile: { a: 'file_all', gf: 'web', s: 'servers' },
      groupVarsAllInventory: { a: 'inv_all_noext' },
      groupVarsAllPlaybook: { a: 'pb_all' },
      groupVarsInventory: { g: 'inv_web_json', five: true, ten: 10 },
      groupVarsPlaybook: { g: 'pb_db', d: 'pb_db' },
      hostVarsFile: {
        inventory_file: fixture('precedence/inventory/hosts'),
        inventory_dir: fixture('precedence/inventory'),
        hv: 'file',
      },
      hostVarsInventory: { hv: 'inv_host' },
      hostVarsPlaybook: { hv: 'pb_host' },
    });
  });

  it('uses only the first of <name>, <name>.yml, <name>.yaml, <name>.json', async () => {
    const layers = (await load()).varLayers('w1');
    expect(layers.groupVarsAllInventory).not.toHaveProperty('only_yml');
  });

  it('merges a <name>/ directory in sorted order, skipping hidden, backup and unknown files', async () => {
    const inv = await load();
    // db.yml sorts before the web/ files but db (priority 0) is merged before web.
    expect(inv.varLayers('w1').groupVarsInventory.g).toBe('inv_web_json');
    expect(inv.sources).not.toContain(fixture('precedence/inventory/group_vars/web/30.txt'));
    expect(inv.sources).not.toContain(fixture('precedence/inventory/group_vars/web/40.yml~'));
  });

  it("gives the implicit localhost all's vars and its own host_vars, but no group's", async () => {
    const layers = (await load()).varLayers('localhost');
    expect(layers.groupVarsFile).toEqual({ a: 'file_all', gf: 'all' });
    expect(layers.groupVarsAllPlaybook).toEqual({ a: 'pb_all' });
    expect(layers.groupVarsInventory).toEqual({});
    expect(layers.hostVarsFile).toMatchObject({ ansible_connection: 'local' });
    expect(layers.hostVarsPlaybook).toEqual({ lv: 'from_host_vars' });
  });

  it('records every file it read', async () => {
    const inv = await load();
    expect(inv.sources).toContain(fixture('precedence/inventory/hosts'));
    expect(inv.sources).toContain(fixture('precedence/inventory/group_vars/web/20.json'));
    expect(inv.sources).toContain(fixture('precedence/playbook/host_vars/w1'));
  });

  it('rejects a vars file that is not a mapping', async () => {
    const dir = await tree({ hosts: 'h1\n', 'group_vars/all.yml': '- a\n- b\n' });
    const err = await failure(() => loadInventory([join(dir, 'hosts')], {}));
    expect(err.message).toMatch(/group_vars\/all\.yml must hold a mapping of variable names to values, got a list$/);
  });

  it('refuses vault-encrypted files by name', async () => {
    const dir = await tree({ hosts: 'h1\n', 'host_vars/h1.yml': '$ANSIBLE_VAULT;1.1;AES256\n6162\n' });
    const err = await failure(() => loadInventory([join(dir, 'hosts')], {}));
    expect(err.message).toMatch(/encrypted with ansible-vault/);
  });

  it('rejects a host that is not in the inventory, suggesting a near name', async () => {
    const err = await failure(async () => (await load()).varLayers('w2'));
    expect(err.message).toBe("host 'w2' is not in the inventory");
    expect(err.hint).toBe("did you mean 'w1'?");
  });
});

describe('inventory sources', () => {
  it('gives only the implicit localhost when there is no source', async () => {
    const inv = await loadInventory([], {});
    expect(inv.hosts()).toEqual([
      { name: 'localhost', groups: [], vars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3' }, implicit: true },
    ]);
    expect(inv.groupMap()).toEqual({ all: [], ungrouped: [] });
  });

  it('reads every file of a directory in order, skipping the ones Ansible ignores', async () => {
    const inv = await loadInventory([fixture('directory')], {});
    expect(inv.groupMap()).toEqual({ all: ['web1', 'web2', 'db1'], ungrouped: [], web: ['web1', 'web2'], db: ['db1'] });
    expect(inv.varLayers('web2').groupVarsInventory).toEqual({ from_dir: true });
  });

  it('reads a comma-separated host list', async () => {
    const inv = await loadInventory(['build1, build2:2222,'], {});
    expect(names(inv.select('ungrouped'))).toEqual(['build1', 'build2']);
    expect(inv.host('build2')?.vars).toMatchObject({ ansible_port: 2222, inventory_file: 'build1, build2:2222,' });
  });

  it('merges several sources in order', async () => {
    const inv = await loadInventory([fixture('ini/hosts'), fixture('directory')], {});
    expect(inv.groupMap().web).toEqual(['web01', 'web02', 'web03', 'web1', 'web2']);
  });

  it('fails on a source that does not exist', async () => {
    const err = await failure(() => loadInventory(['/nonexistent/hosts'], {}));
    expect(err).toBeInstanceOf(OptionsError);
    expect(err.message).toBe('inventory source not found: /nonexistent/hosts');
  });

  it('hands out frozen hosts so a caller cannot change the inventory', async () => {
    const inv = await loadInventory([fixture('yaml/hosts.yml')], {});
    expect(() => {
      (inv.host('web01')!.vars as Record<string, unknown>).role = 'x';
    }).toThrow(TypeError);
  });
});

describe('host patterns', () => {
  const ini = () => loadInventory([fixture('ini/hosts')], {});
  const cases: [string | string[], string[]][] = [
    ['all', ['top1', 'top2', 'web01', 'web02', 'web03', 'db-a', 'db-b', 'db-c', 'late1']],
    ['*', ['top1', 'top2', 'web01', 'web02', 'web03', 'db-a', 'db-b', 'db-c', 'late1']],
    ['web01', ['web01']],
    ['db', ['db-a', 'db-b', 'db-c']],
    ['db:web', ['db-a', 'db-b', 'db-c', 'web01', 'web02', 'web03']],
    ['db,web01', ['db-a', 'db-b', 'db-c', 'web01']],
    [['web02', 'db-a'], ['web02', 'db-a']],
    ['servers:&web', ['web01', 'web02', 'web03']],
    ['servers:!db', ['web01', 'web02', 'web03', 'late1']],
    ['!servers', ['top1', 'top2']],
    ['web0*', ['web01', 'web02', 'web03']],
    ['db-[ab]', ['db-a', 'db-b']],
    ['~web0[12]', ['web01', 'web02']],
    // the regex also matches the group 'later', whose hosts come first
    ['~(top|late)', ['late1', 'top1', 'top2']],
    ['web[0]', ['web01']],
    ['web[-1]', ['web03']],
    ['web[1:]', ['web02', 'web03']],
    ['servers[1:2]', ['web02', 'web03']],
    ['web01:web01:db-a', ['web01', 'db-a']],
    ['nosuch', []],
    ['ungrouped', ['top1', 'top2']],
  ];
  for (const [pattern, expected] of cases) {
    it(`selects ${JSON.stringify(expected)} for ${JSON.stringify(pattern)}`, async () => {
      expect(names((await ini()).select(pattern))).toEqual(expected);
    });
  }

  it('matches the implicit localhost by name but never as part of all', async () => {
    const inv = await ini();
    expect(inv.select('localhost')).toEqual([expect.objectContaining({ name: 'localhost', implicit: true })]);
    expect(names(inv.select('all:localhost')).at(-1)).toBe('localhost');
    expect(names(inv.select('all'))).not.toContain('localhost');
    expect(inv.groupMap().all).not.toContain('localhost');
  });

  it('lets any localhost name reach an inventory host called localhost', async () => {
    const inv = await inventoryOf('localhost ansible_connection=local\n');
    const [local, ...rest] = inv.select('127.0.0.1');
    expect(rest).toEqual([]);
    expect(local).toMatchObject({ name: 'localhost', groups: ['ungrouped'] });
    expect(local?.implicit).toBeUndefined();
    expect(names(inv.select('all'))).toEqual(['localhost']);
  });

  it('rejects an invalid regular expression', async () => {
    const err = await failure(async () => (await ini()).select('~web('));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/^invalid regular expression in host pattern '~web\('/);
  });

  it('rejects a subscript past the end of the group', async () => {
    const err = await failure(async () => (await ini()).select('web[5]'));
    expect(err.message).toBe("no hosts matched the subscripted pattern 'web[5]'");
    expect(err.hint).toBe("'web' matches 3 hosts, numbered from 0");
  });

  it("rejects a '!' with nothing after it", async () => {
    const err = await failure(async () => (await ini()).select('all:!'));
    expect(err.message).toBe("host pattern '!' has nothing after '!'");
  });
});

describe('applyLimit', () => {
  it('keeps the hosts the limit pattern also selects, in the original order', async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    expect(names(await applyLimit(inv, inv.select('servers'), 'db-c,web*:!web02'))).toEqual(['web01', 'web03', 'db-c']);
  });

  it('drops the implicit localhost under a limit of all, as Ansible does', async () => {
    const inv = await loadInventory([], {});
    expect(await applyLimit(inv, inv.select('localhost'), 'all')).toEqual([]);
    expect(names(await applyLimit(inv, inv.select('localhost'), 'localhost'))).toEqual(['localhost']);
  });

  it('reads patterns from a file named with @', async () => {
    const inv = await loadInventory([fixture('ini/hosts')], {});
    const dir = await tree({ retry: 'web03\ndb-a\n' });
    expect(names(await applyLimit(inv, inv.select('all'), `@${join(dir, 'retry')}`))).toEqual(['web03', 'db-a']);
  });

  it('fails clearly on a missing limit file', async () => {
    const inv = await loadInventory([], {});
    const err = await failure(() => applyLimit(inv, inv.hosts(), '@/nonexistent/retry'));
    expect(err).toBeInstanceOf(ImgplayError);
    expect(err.message).toBe('limit file not found: /nonexistent/retry');
    expect((err as ImgplayError).exitCode).toBe(1);
  });

  it('refuses a limit file that never ends (/dev/zero) at the input size limit, with exit 1 as Ansible', async () => {
    const inv = await loadInventory([], {});
    const started = Date.now();
    const err = await failure(() => applyLimit(inv, inv.hosts(), '@/dev/zero'));
    expect(err.message).toBe('cannot read limit file /dev/zero: /dev/zero is larger than the 2.0 MiB imgplay reads from one YAML or inventory input');
    expect((err as ImgplayError).exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

// The installed ansible-core is the reference: the same inventory, patterns and limits must give the same answers.
const PYTHON = '/usr/bin/python3';
const haveAnsible = existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/ansible/inventory/manager.py');

interface OracleAnswer {
  patterns: (string[] | { error: string })[];
  groups: Record<string, string[]>;
  vars: Record<string, Record<string, unknown>>;
}

async function askAnsible(request: { sources: string[]; playbookDir?: string; patterns: [string, string | null][]; hosts: string[] }): Promise<OracleAnswer> {
  const { stdout } = await execa(PYTHON, [fixture('ansible-oracle.py')], {
    input: JSON.stringify(request),
    env: { ANSIBLE_HOST_PATTERN_MISMATCH: 'ignore', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' },
  });
  return JSON.parse(stdout.slice(stdout.indexOf('{'))) as OracleAnswer;
}

const MAGIC = ['inventory_hostname', 'inventory_hostname_short', 'group_names', 'groups', 'ansible_facts', 'playbook_dir', 'ansible_playbook_python', 'ansible_config_file', 'omit', 'ansible_version'];

describe.skipIf(skipWithout(lacking([haveAnsible, 'ansible-core (Debian package ansible)'])))('agreement with ansible-core', () => {
  const scenarios: { name: string; sources: string[]; playbookDir?: string; patterns: [string, string | null][] }[] = [
    {
      name: 'the INI fixture',
      sources: [fixture('ini/hosts')],
      patterns: [
        ['all', null], ['*', null], ['servers:!db', null], ['servers:&web:db-a', null], ['db-[ab]:~top', null], ['web[1:]', null],
        ['all', 'db*:!db-b'], ['localhost', null], ['127.0.0.1,web01', null], ['!web', 'servers'], ['later,servers[0]', null],
      ],
    },
    {
      name: 'the YAML fixture',
      sources: [fixture('yaml/hosts.yml')],
      patterns: [['all', null], ['inner:&other', null], ['other:!inner', null], ['ungrouped', null], ['web*', null], ['*', 'build']],
    },
    { name: 'the precedence fixture', sources: [fixture('precedence/inventory/hosts')], playbookDir: fixture('precedence/playbook'), patterns: [['all', null]] },
    { name: 'a directory with a host list', sources: [fixture('directory'), 'extra1,extra2:2200,'], patterns: [['all', null], ['ungrouped', null]] },
  ];
  const texts: { name: string; files: Record<string, string>; patterns: [string, string | null][] }[] = [
    {
      name: 'an INI file with an explicit localhost and a group declared only by its children',
      files: {
        hosts: [
          'localhost ansible_connection=local',
          '10.0.0.5:2200 dict="{\'a\': 1}"',
          '[all:vars]',
          'shared={"k": [1, 2]}',
          '[ungrouped]',
          'both',
          '[g1]',
          'both',
          '[parent:children]',
          'g1',
          '[parent:vars]',
          'p=1',
          '[g1:vars]',
          'p=2',
        ].join('\n'),
      },
      patterns: [['all', null], ['127.0.0.1', null], ['::1:parent', null], ['10.0.0.*', null], ['ungrouped', null], ['~^b', null]],
    },
    {
      name: 'YAML with string sections, equal priorities and a deep chain',
      files: {
        'hosts.yaml': [
          'all:',
          '  children:',
          '    a:',
          '      hosts: h1',
          '      vars: {v: a}',
          '      children:',
          '        b:',
          '          vars: {v: b}',
          '          children:',
          '            c:',
          '              hosts: {h2: {own: 1}}',
          '              vars: {v: c, ansible_group_priority: 3}',
          '    z:',
          '      hosts: {h2: null, h1: null}',
          '      vars: {v: z}',
          '    w:',
          '      hosts: {h1: {own: 2}}',
          '      vars: {v: w}',
        ].join('\n'),
        'group_vars/w.yml': 'gv: w\n',
        'group_vars/z/main.yml': 'gv: z\n',
        'host_vars/h2/a.yml': 'hv: a\n',
        'host_vars/h2/b.yaml': 'hv: b\n',
      },
      patterns: [['all', null], ['a', null], ['c:z', null], ['a:!c', 'h*'], ['*[0]', null], ['z[0:0]', null]],
    },
  ];
  for (const t of texts) {
    it(`agrees on ${t.name}`, async () => {
      const dir = await tree(t.files);
      const sources = [join(dir, Object.keys(t.files)[0]!)];
      const inv = await loadInventory(sources, {});
      const hosts = inv.hosts().map((h) => h.name);
      const ref = await askAnsible({ sources, patterns: t.patterns, hosts });
      expect(await Promise.all(t.patterns.map(async ([p, limit]) => names(limit === null ? inv.select(p) : await applyLimit(inv, inv.select(p), limit))))).toEqual(ref.patterns);
      expect(Object.entries(inv.groupMap())).toEqual(Object.entries(ref.groups));
      for (const h of hosts) {
        const theirs = Object.fromEntries(Object.entries(ref.vars[h]!).filter(([k]) => !MAGIC.includes(k)));
        expect({ host: h, vars: merged(inv.varLayers(h)) }).toEqual({ host: h, vars: theirs });
      }
    });
  }
  for (const s of scenarios) {
    it(`agrees on ${s.name}`, async () => {
      const inv = await loadInventory(s.sources, { playbookDir: s.playbookDir });
      const hosts = inv.hosts().map((h) => h.name);
      const ref = await askAnsible({ sources: s.sources, playbookDir: s.playbookDir, patterns: s.patterns, hosts });
      const mine = await Promise.all(s.patterns.map(async ([p, limit]) => {
        const selected = inv.select(p);
        return names(limit === null ? selected : await applyLimit(inv, selected, limit));
      }));
      expect(mine).toEqual(ref.patterns);
      expect(Object.entries(inv.groupMap())).toEqual(Object.entries(ref.groups));
      for (const h of hosts) {
        const theirs = Object.fromEntries(Object.entries(ref.vars[h]!).filter(([k]) => !MAGIC.includes(k)));
        expect({ host: h, vars: merged(inv.varLayers(h)) }).toEqual({ host: h, vars: theirs });
        expect(inv.host(h)!.groups).toEqual(ref.vars[h]!.group_names);
      }
    });
  }
});
