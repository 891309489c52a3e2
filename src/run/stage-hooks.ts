// Where the run meets the stage cache (stages.ts): whether it is on for this run, what it may ask of the
// run's hosts, and each host's stage as a play begins.
import { basename, dirname } from 'node:path';
import { ImgplayError } from '../errors.js';
import type { Play } from '../playbook/model.js';
import { templateValue } from '../jinja/template.js';
import { markUnsafe, pyRepr } from '../jinja/values.js';
import { posOf } from '../yaml/load.js';
import type { RunContext } from './context.js';
import { emptyScope } from './scope.js';
import { DEFAULT_CACHE_DIR, LOCATION_VARS, STAGE_VAR, StageCache } from './stages.js';
import type { HostRun, PlayRun } from './state.js';

/** The stage cache, when on: a play names a stage and the run builds stages whole (not under --check,
 *  --tags, --skip-tags or --start-at-task). With --no-cache it keys stages but reuses and keeps none. */
export function makeStageCache(ctx: RunContext): StageCache | undefined {
  const { opts, playbook, reporter, vars } = ctx;
  if (!playbook.plays.some((p) => Object.hasOwn(p.vars, STAGE_VAR))) return undefined;
  const partial = opts.check ? '--check' : opts.tags.length > 0 ? '--tags' : opts.skipTags.length > 0 ? '--skip-tags' : opts.startAtTask !== undefined ? '--start-at-task' : undefined;
  if (partial !== undefined) {
    reporter.emit({ type: 'warning', message: `the stage cache is off for this run: with ${partial} a stage may not be built whole` });
    return undefined;
  }
  // on-imagebuilder's layout keeps playbooks/ beside roles/: the project is the folder holding both.
  const dir = dirname(playbook.file);
  const root = basename(dir) === 'playbooks' ? dirname(dir) : dir;
  vars.trackOwners = true;
  return new StageCache(root, {
    rawVars: (name) => {
      const inv = vars.inventoryHost(name);
      return inv ? vars.rawVars(vars.hostRun(inv)) : undefined;
    },
    hostNames: () => vars.inventory.hosts().map((h) => h.name),
    scopeOwner: (scope) => vars.ownerOf(scope),
    setFact: (f) => {
      const inv = vars.inventoryHost(f.host);
      if (!inv) return;
      const h = vars.hostRun(inv);
      if (f.layer === 'facts') h.facts[f.name] = f.value;
      else h.nonPersistent[f.name] = f.unsafe ? markUnsafe(f.value) : f.value;
    },
    factState: (name) => {
      const h = vars.hosts.get(name);
      return { facts: h?.facts ?? {}, vars: h?.nonPersistent ?? {} };
    },
    hostFailed: (name) => {
      const h = vars.hosts.get(name);
      return h !== undefined && (h.failed || h.unreachable);
    },
    emit: (ev) => reporter.emit(ev),
  }, !opts.noCache, opts.cacheDir);
}

/** The stage cache's view of the plays: each host's stage as a play begins. */
export class StagePlays {
  private locationsKnown = false;

  constructor(
    private readonly ctx: RunContext,
    private readonly cache: StageCache,
  ) {}

  /** Tells the stage cache each host's stage in this play (the play's imgplay_stage, rendered for it); returns
   *  the hosts whose stage it put back. The first play also settles the cache's locations. */
  async begin(play: Play, hosts: HostRun[], limitedOut: HostRun[]): Promise<Set<string>> {
    const stages = new Map<string, string | undefined>();
    if (Object.hasOwn(play.vars, STAGE_VAR)) {
      const probe: PlayRun = { play, hosts: [...hosts, ...limitedOut], allHosts: [...hosts, ...limitedOut], ended: false, broken: false, handlers: [], forceHandlers: false, free: false };
      for (const h of [...hosts, ...limitedOut]) {
        const vars = this.ctx.vars.forTask(probe, h, undefined, emptyScope());
        if (!this.locationsKnown) {
          setLocations(this.ctx, this.cache, vars);
          this.locationsKnown = true;
        }
        stages.set(h.name, stageOf(play, vars));
      }
    }
    const outside = new Map<string, string>();
    for (const h of limitedOut) {
      const stage = stages.get(h.name);
      stages.delete(h.name);
      if (stage !== undefined) outside.set(h.name, stage);
    }
    return this.cache.beginPlay(stages, [...play.files, ...play.roles.map((r) => r.path)], outside);
  }
}

// The folders the cache shortens paths by, and the cache's own folder, from the first host's variables.
function setLocations(ctx: RunContext, cache: StageCache, vars: Record<string, unknown>): void {
  const where: Record<string, string> = {};
  for (const name of LOCATION_VARS) {
    try {
      const v = templateValue(vars[name], vars);
      if (typeof v === 'string') where[name] = v;
    } catch {
      // A location that cannot be rendered yet is simply not used to shorten paths.
    }
  }
  cache.setLocations(where, ctx.opts.cacheDir ?? where.cache_dir ?? DEFAULT_CACHE_DIR);
}

// A host's stage in the play; an empty name keeps a host out of every stage (a helper host in a play of per-host stages).
function stageOf(play: Play, vars: Record<string, unknown>): string | undefined {
  let stage: unknown;
  try {
    stage = templateValue(play.vars[STAGE_VAR], vars);
  } catch (err) {
    throw new ImgplayError(`${STAGE_VAR}: ${(err as Error).message}`, { pos: posOf(play.vars) ?? play.pos, cause: err });
  }
  if (stage === '' || stage === null) return undefined;
  if (typeof stage !== 'string' || stage.trim() === '') throw new ImgplayError(`${STAGE_VAR} must name the play's stage (a non-empty string), got ${pyRepr(stage)}`, { pos: posOf(play.vars) ?? play.pos });
  return stage;
}
