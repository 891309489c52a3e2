// Plans the roles that `include_role` names with a variable, before anything runs. Ansible loads them when
// the include is reached (a typo in an overlay role fails minutes into a build, after the base was made);
// when the name depends only on what is known before the run (inventory vars, play vars, extra vars, loop
// items drawn from those), imgplay loads the role at planning, so its mistakes end the run with exit 4.
import { dirname } from 'node:path';
import { ImgplayError, InternalError, TemplateError, UndefinedVariableError } from '../errors.js';
import { findModule } from '../modules/index.js';
import { traitsOf } from '../modules/spec.js';
import { loopItems } from './loop.js';
import { selectedByTags } from './tags.js';
import { evaluateCondition, OMIT } from '../jinja/expr.js';
import { lazyVars } from '../jinja/scope.js';
import { templateValue } from '../jinja/template.js';
import { expandLimit } from '../inventory/host-pattern.js';
import { type Inventory, inventoryLayersInOrder } from '../inventory/inventory.js';
import type { IncludeNode, Node, Play, Playbook, RoleInstance } from './model.js';
import { loadRoleEntry, type ParseContext } from './resolve.js';

/** What the run will use: the same selection of hosts and tasks as the executor's. */
export interface PreflightOptions {
  extraVars: Record<string, unknown>;
  limit?: string | undefined;
  tags?: readonly string[];
  skipTags?: readonly string[];
}

/** What planning the dynamic includes found: the roles it loaded (for -v and tests). */
export interface PreflightReport {
  roles: string[];
}

// Included roles nest; a role that includes itself is the executor's to stop (its when: may end it).
const MAX_DEPTH = 20;

type Vars = Record<string, unknown>;

interface Walk {
  play: Play;
  host: string;
  when: unknown[];
  tags: string[];
  vars: Vars[];
  roles: RoleInstance[];
  depth: number;
  /** Under ignore_errors: a failure there does not end the run, so planning must not end it either. */
  lenient: boolean;
}

/**
 * Loads every role an include_role names through variables known before the run, for each host the play
 * runs on, and throws the first planning error met in one (located in the role's files). Names that depend
 * on facts, registered results or anything a task sets are left to the run, as are includes whose
 * conditions or loops cannot be decided before it.
 */
export async function planDynamicIncludes(playbook: Playbook, inventory: Inventory, opts: PreflightOptions): Promise<PreflightReport> {
  const limit = opts.limit ? new Set(inventory.select(await expandLimit(opts.limit)).map((h) => h.name)) : undefined;
  const setAtRunTime = new Set<string>();
  for (const play of playbook.plays) for (const n of [...play.pre_tasks, ...play.tasks, ...play.post_tasks, ...play.handlers]) collectSetNames(n, setAtRunTime);
  const groups = inventory.groupMap();
  const planned = new Set<string>();
  const roles: string[] = [];
  const seen = new Set<string>();

  const varsFor = (w: Walk, extra: Vars): Vars => {
    const inv = inventory.varLayers(w.host);
    const layers: Vars[] = [
      ...w.roles.map((r) => r.defaults),
      ...inventoryLayersInOrder(inv),
      w.play.vars,
      ...w.roles.map((r) => r.vars),
      ...w.vars,
      ...w.roles.map((r) => r.params),
    ].map((layer) => withoutNames(layer, setAtRunTime));
    // Extra vars outrank whatever a task sets: they stay known.
    layers.push(opts.extraVars);
    const hostInv = inventory.host(w.host);
    const vars = lazyVars(layers, {
      inventory_hostname: w.host,
      inventory_hostname_short: w.host.split('.')[0],
      group_names: (hostInv?.groups ?? []).filter((g) => g !== 'all' && g !== 'ungrouped').sort(),
      groups,
      playbook_dir: dirname(playbook.file),
      omit: OMIT,
      ...extra,
    });
    // A name a task sets is neither defined nor undefined before the run: any use of it (`x is defined`
    // too) makes what uses it unknown, and the include is left to the run.
    for (const name of setAtRunTime) {
      if (name === ANY || name in opts.extraVars || name in extra) continue;
      Object.defineProperty(vars, name, {
        enumerable: false,
        configurable: true,
        get: () => {
          throw new TemplateError(`'${name}' is set while the run goes on`);
        },
      });
    }
    return vars;
  };

  const walk = async (nodes: readonly Node[], w: Walk): Promise<void> => {
    for (const node of nodes) {
      const inner: Walk = {
        ...w,
        when: [...w.when, ...node.when],
        tags: [...w.tags, ...node.tags],
        vars: Object.keys(node.vars).length > 0 ? [...w.vars, node.vars] : w.vars,
        lenient: w.lenient || node.ignore_errors !== undefined,
      };
      if (node.kind === 'block') {
        const roleHere = node.origin === 'role' && node.role && !w.roles.includes(node.role) ? [...w.roles, node.role] : w.roles;
        // rescue: runs only after a failure, which planning cannot foresee; and a failure a rescue: catches
        // (a role that is not there, say) is the run's to meet, as in Ansible.
        if (node.rescue.length > 0) continue;
        await walk([...node.block, ...node.always], { ...inner, roles: roleHere });
        continue;
      }
      if (node.kind !== 'include' || node.action !== 'include_role') continue;
      if (!selectedByTags(inner.tags, opts.tags ?? [], opts.skipTags ?? [])) continue;
      if (inner.lenient) continue;
      for (const target of resolvable(node, inner, varsFor)) {
        // Per host and item: the include's vars (and the includes inside the role) may differ for each.
        const key = `${node.pos.file}:${node.pos.line}:${node.pos.col}\0${w.host}\0${target.key}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const ctx: ParseContext = {
          playbookDir: w.play.baseDir,
          baseDir: node.baseDir,
          role: node.role,
          staticVars: settled(target.vars),
          files: new Set(),
          seenRoles: new Set(),
          roleHandlers: [],
          dynamic: true,
          warnings: [],
        };
        let loaded: Awaited<ReturnType<typeof loadRoleEntry>>;
        try {
          loaded = await loadRoleEntry({ role: target.args.name, _import: { ...target.args, allow_duplicates: true } }, ctx, node.pos, undefined, 'include_role');
        } catch (err) {
          // Only a mistake located in the playbook or role is refused here; anything else is the run's to meet.
          // So is a name inside the role (an import_tasks file, a dependency) that needs a value planning lacks.
          if (err instanceof ImgplayError && !(err instanceof InternalError) && err.pos && !fromTemplating(err)) throw withIncludeHint(err, node, w.host, String(target.args.name));
          continue;
        }
        const instance = loaded.instances.at(-1);
        if (instance && !planned.has(instance.path)) {
          planned.add(instance.path);
          roles.push(instance.path);
        }
        for (const b of loaded.blocks) collectSetNames(b, setAtRunTime);
        if (w.depth < MAX_DEPTH) {
          const params = withoutNames(node.vars, setAtRunTime);
          await walk(loaded.blocks, { ...inner, when: [], vars: [...inner.vars, params, target.loopVars], depth: w.depth + 1 });
        }
      }
    }
  };

  for (const play of playbook.plays) {
    let hosts: string[];
    try {
      hosts = inventory.select([...play.hosts]).map((h) => h.name);
    } catch {
      continue; // a templated hosts: is the executor's to resolve and report
    }
    if (limit) hosts = hosts.filter((h) => limit.has(h));
    for (const host of hosts) {
      const w: Walk = { play, host, when: [...play.when], tags: [...play.tags], vars: [], roles: [], depth: 0, lenient: play.ignore_errors !== undefined };
      await walk([...play.pre_tasks, ...play.tasks, ...play.post_tasks], w);
    }
  }
  return { roles };
}

// The variables that render, as plain values: a role's planning copies them, and one variable that cannot be
// rendered before the run (a path built from a fact) must not stop the others from being used.
function settled(vars: Vars): Vars {
  const out: Vars = {};
  for (const key of Object.keys(vars)) {
    try {
      out[key] = vars[key];
    } catch {
      // left out: unknown before the run
    }
  }
  return out;
}

// Whether an error comes from rendering a template (a variable planning cannot know), however it was wrapped.
function fromTemplating(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e instanceof Error && i < 10; e = e.cause, i++) if (e instanceof TemplateError || e instanceof UndefinedVariableError) return true;
  return false;
}

// Says which include brought the role in, and why it was planned before the run (Ansible would load it later).
function withIncludeHint(err: unknown, node: IncludeNode, host: string, role: string): unknown {
  if (!(err instanceof ImgplayError) || err instanceof InternalError) return err;
  const at = `${node.pos.file}:${node.pos.line}:${node.pos.col}`;
  const why = `in role '${role}', which include_role at ${at} runs for ${host} (planned before the run: its name depends only on inventory, play and extra vars)`;
  Object.defineProperty(err, 'hint', { value: err.hint ? `${err.hint}\n${why}` : why, enumerable: true, configurable: true, writable: true });
  return err;
}

interface Target {
  key: string;
  args: Vars;
  vars: Vars;
  loopVars: Vars;
}

// The include's arguments for each loop item whose conditions hold before the run; nothing when anything
// it needs is unknown until then.
function resolvable(node: IncludeNode, w: Walk, varsFor: (w: Walk, extra: Vars) => Vars): Target[] {
  const out: Target[] = [];
  try {
    const base = varsFor(w, {});
    const items = node.loop === undefined ? [undefined] : loopItems(node.loopKind ?? 'loop', node.loop, node, base);
    const loopVar = String(node.loop_control?.loop_var ?? 'item');
    for (const item of items) {
      const loopVars: Vars = node.loop === undefined ? {} : { [loopVar]: item, ansible_loop_var: loopVar };
      const vars = varsFor(w, loopVars);
      if (!w.when.every((cond) => evaluateCondition(cond, vars))) continue;
      const args = templateValue(node.args, vars) as Vars;
      if (typeof args.name !== 'string' || args.name === '') continue;
      out.push({ key: JSON.stringify([args, loopVars]), args, vars, loopVars });
    }
  } catch {
    // Whatever fails here (an undefined variable above all) fails, or not, when the run reaches it.
    return [];
  }
  return out;
}

// Names a task may give a value while the run goes on (register, and what its module declares it sets:
// set_fact, include_vars): a role name built from one of them is not known before the run, whatever the
// inventory says.
function collectSetNames(node: Node, out: Set<string>): void {
  if (node.kind === 'block') {
    for (const n of [...node.block, ...node.rescue, ...node.always]) collectSetNames(n, out);
    return;
  }
  if (node.kind !== 'task') return;
  if (node.register) out.add(node.register);
  const names = traitsOf(findModule(node.action)).namesSet?.(node.args) ?? [];
  if (names === 'any') out.add(ANY);
  else for (const k of names) out.add(k);
}

// A module that may set any variable (include_vars without `name:`): then nothing is taken as known before the run.
const ANY = '\0any';

function withoutNames(layer: Readonly<Vars> | undefined, names: ReadonlySet<string>): Vars {
  if (!layer) return {};
  if (names.has(ANY)) return {};
  const out: Vars = {};
  for (const [k, v] of Object.entries(layer)) if (!names.has(k)) out[k] = v;
  return out;
}
