// Turns playbook YAML into immutable plays: validates keywords, expands import_playbook, import_tasks,
// import_role and roles (with meta dependencies), and parses every task's module and arguments.
// Nothing here touches a host: --syntax-check and --list-tasks stop after this step.
import { isTrueWord } from '../jinja/values.js';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { didYouMean, ImgplayError, InternalError, ParseError, PlanningErrors, ValidationError, type SourcePos } from '../errors.js';
import { findModule, moduleNames } from '../modules/index.js';
import { argumentNames, argumentProblems } from '../modules/spec-check.js';
import type { ModuleSpec, SpecModule } from '../modules/spec.js';
import { isTemplate, templateValue } from '../jinja/template.js';
import {
  BLOCK_KEYWORDS,
  INCLUDE_ACTIONS,
  PLAY_KEYWORDS,
  ROLE_ENTRY_KEYWORDS,
  INCLUDE_DEPRECATION,
  shortAction,
  TASK_KEYWORDS,
  PLAY_ONLY_KEYWORDS,
  UNSUPPORTED,
  WITH_LOOKUPS,
} from './keywords.js';
import { parseKv } from '../yaml/kv.js';
import { loadYamlFile, posOf, posOfKey } from '../yaml/load.js';
import type { BlockNode, IncludeNode, Inherited, Node, Play, Playbook, RoleInstance, TaskNode } from './model.js';

/** What the resolver needs to know from the command line. */
export interface ResolveOptions {
  /** Extra vars: they may name roles and imported files (`roles: ["{{ provisioner }}"]`). */
  extraVars?: Record<string, unknown>;
  /** Collects deprecation warnings met while loading (the bare `include`). */
  warnings?: string[];
  /** Collects planning errors so that a run reports all of them (up to MAX_PLANNING_ERRORS), not the first alone. */
  errors?: ImgplayError[];
}

/** How many planning errors one run reports before it stops looking. */
export const MAX_PLANNING_ERRORS = 20;

// Keeps a planning error (exit 4) and returns true, so the caller goes on with the next entry; anything
// else (a run-time kind of error, a bug, the limit reached) is thrown.
function collect(err: unknown, errors: ImgplayError[] | undefined): boolean {
  if (!errors || !(err instanceof ValidationError || err instanceof ParseError) || err instanceof PlanningErrors) return false;
  errors.push(err);
  if (errors.length >= MAX_PLANNING_ERRORS) throw new PlanningErrors(errors, true);
  return true;
}

/** State shared while parsing one play. */
export interface ParseContext {
  readonly playbookDir: string;
  /** Directory of the file being parsed (relative imports start here). */
  readonly baseDir: string;
  readonly role?: RoleInstance | undefined;
  /** Variables known before running (extra vars over play vars), for templated import names. */
  readonly staticVars: Record<string, unknown>;
  /** Every file read, for cache digests. */
  readonly files: Set<string>;
  /** Roles already placed in this play (name + params), so each runs once unless its parameters differ. */
  readonly seenRoles: Set<string>;
  /** Handlers that roles bring into the play. */
  readonly roleHandlers: Node[];
  /** The files and roles being loaded, outermost first: one met again is a loop of imports. */
  readonly chain?: readonly ChainLink[] | undefined;
  /** True while loading what a dynamic include brings in at run time (a bare `include` there is dynamic too). */
  readonly dynamic?: boolean;
  /** True while loading handlers (a play's, a role's, and the files they import or include): no blocks, no roles. */
  readonly handlers?: boolean;
  /** Deprecation warnings met while loading, for the run to print. */
  readonly warnings?: string[];
  /** Planning errors collected so far (absent at run time: an include's error fails its host). */
  readonly errors?: ImgplayError[] | undefined;
  /** The `collections:` keyword in force (play, role meta, block, task): where short module names are looked up first. */
  readonly collections?: readonly string[] | undefined;
  /** module_defaults around the task being parsed: arguments they give are not missing from it. */
  readonly moduleDefaults?: readonly Raw[] | undefined;
  /** A block around the task takes its failure (ignore_errors, or a rescue): see mayFailOnPurpose. */
  readonly failureTaken?: boolean | undefined;
  /** A block, import or role around the task has a `when`: see notImplementedTask. */
  readonly conditional?: boolean | undefined;
  /** The `notify` of the nearest block around the task that has one: a task without its own inherits it. */
  readonly notify?: readonly string[] | undefined;
}

/** A task file or role being loaded, as loops of imports are detected and named. */
export interface ChainLink {
  /** What makes two links the same: `file:<path>` or `role:<dir>` (a role holds its tasks file too). */
  readonly keys: readonly string[];
  /** How the loop's message names it. */
  readonly label: string;
}

type Raw = Record<string, unknown>;

const isMap = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

function where(value: unknown, file: string): SourcePos {
  return posOf(value) ?? { file, line: 1, col: 1 };
}

/** Loads a playbook file and everything it imports into immutable plays. */
export async function loadPlaybook(file: string, opts: ResolveOptions = {}): Promise<Playbook> {
  const files = new Set<string>();
  const top = resolve(file);
  const warnings: string[] = opts.warnings ?? [];
  const errors: ImgplayError[] = [];
  const plays = await loadPlaybookFile(top, { ...opts, warnings, errors }, files, [fileLink(top, dirname(top))], dirname(top));
  // One error is thrown as itself (its own class and exit code); several together.
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new PlanningErrors(errors, false);
  return deepFreeze({ file: resolve(file), plays, files: [...files], warnings: [...new Set(warnings)] });
}

async function loadPlaybookFile(file: string, opts: ResolveOptions, files: Set<string>, chain: readonly ChainLink[], topDir: string): Promise<Play[]> {
  files.add(file);
  const data = await loadYamlFile(file);
  if (data === null) return [];
  if (!Array.isArray(data)) {
    throw new ValidationError('a playbook must be a list of plays', { pos: where(data, file) });
  }
  const plays: Play[] = [];
  for (const entry of data) {
    if (!isMap(entry)) throw new ValidationError('each entry of a playbook must be a play (a mapping)', { pos: where(data, file) });
    const importKey = ['import_playbook', 'ansible.builtin.import_playbook'].find((k) => k in entry);
    if (importKey) {
      const staticVars = { ...(isMap(entry.vars) ? entry.vars : {}), ...opts.extraVars };
      const raw = entry[importKey];
      let target: unknown;
      try {
        target = typeof raw === 'string' ? templateValue(raw, staticVars) : raw;
      } catch (err) {
        if (!(err instanceof ImgplayError) || err instanceof InternalError) throw err;
        throw new ValidationError(`import_playbook: ${err.message}`, { pos: posOfKey(entry, importKey), cause: err });
      }
      if (typeof target !== 'string' || target === '') {
        const got = Array.isArray(target) ? 'a list' : target === null || target === '' ? 'nothing' : isMap(target) ? 'a mapping' : `a ${typeof target}`;
        throw new ValidationError(`import_playbook takes the name of a playbook file, got ${got}`, { pos: posOfKey(entry, importKey) });
      }
      const path = isAbsolute(target) ? target : join(dirname(file), target);
      if (!existsSync(path) || !statSync(path).isFile()) {
        throw new ParseError(`import_playbook: there is no playbook file ${path}`, { pos: posOfKey(entry, importKey) });
      }
      for (const k of Object.keys(entry)) {
        if (k !== importKey && !['vars', 'when', 'tags', 'name'].includes(k)) {
          throw new ValidationError(`'${k}' is not allowed on import_playbook`, { pos: posOfKey(entry, k) });
        }
      }
      const at = posOfKey(entry, importKey) ?? where(entry, file);
      const imported = await loadPlaybookFile(path, { ...opts }, files, enter(chain, fileLink(path, topDir), 'import_playbook', at), topDir);
      // Keywords on the import apply to every play it brings in.
      for (const p of imported) {
        plays.push({
          ...p,
          vars: { ...p.vars, ...(isMap(entry.vars) ? entry.vars : {}) },
          tags: [...tagList(entry.tags), ...p.tags],
          when: [...whenList(entry.when), ...p.when],
        });
      }
      continue;
    }
    try {
      plays.push(await parsePlay(entry, file, opts, files));
    } catch (err) {
      if (!collect(err, opts.errors)) throw err;
    }
  }
  return plays;
}

async function parsePlay(raw: Raw, file: string, opts: ResolveOptions, files: Set<string>): Promise<Play> {
  checkKeys(raw, PLAY_KEYWORDS, 'play', file);
  if (raw.hosts === undefined) throw new ValidationError("a play needs 'hosts'", { pos: where(raw, file) });
  const vars = varsOf(raw, 'play', file);
  const playFiles = new Set<string>([file]);
  const ctx: ParseContext = {
    playbookDir: dirname(file),
    baseDir: dirname(file),
    staticVars: { ...vars, ...opts.extraVars },
    files: playFiles,
    seenRoles: new Set(),
    roleHandlers: [],
    warnings: opts.warnings,
    errors: opts.errors,
    collections: collectionsOf(raw, undefined),
    moduleDefaults: raw.module_defaults === undefined || raw.module_defaults === null ? undefined : moduleDefaultsOf(raw),
  };
  const roles: RoleInstance[] = [];
  const roleBlocks: Node[] = [];
  for (const entry of listOf(raw.roles, 'roles', raw, file)) {
    try {
      const loaded = await loadRoleEntry(entry, ctx, posOfKey(raw, 'roles') ?? where(raw, file));
      for (const r of loaded.instances) roles.push(r);
      roleBlocks.push(...loaded.blocks);
    } catch (err) {
      if (!collect(err, ctx.errors)) throw err;
    }
  }
  const section = async (key: string) => parseTaskList(listOf(raw[key], key, raw, file), ctx, key);
  const preTasks = await section('pre_tasks');
  const tasks = await section('tasks');
  const postTasks = await section('post_tasks');
  const handlers = await parseTaskList(listOf(raw.handlers, 'handlers', raw, file), { ...ctx, handlers: true }, 'handlers');
  const hosts = Array.isArray(raw.hosts) ? raw.hosts.map(String) : String(raw.hosts).split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of playFiles) files.add(f);
  return {
    files: [...playFiles],
    name: raw.name === undefined ? hosts.join(',') : String(raw.name),
    hosts,
    gather_facts: raw.gather_facts ?? true,
    gatherArgs: Object.fromEntries(['gather_subset', 'gather_timeout', 'fact_path'].filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]])),
    ...playOnly(raw),
    vars_files: raw.vars_files === undefined ? [] : Array.isArray(raw.vars_files) ? raw.vars_files : [raw.vars_files],
    pre_tasks: preTasks,
    tasks: [...roleBlocks, ...tasks],
    post_tasks: postTasks,
    handlers: [...ctx.roleHandlers, ...handlers],
    roles,
    pos: where(raw, file),
    baseDir: dirname(file),
    ...inherited(raw, vars),
  };
}

/** Parses a list of tasks (and blocks, imports, includes) from already-loaded YAML. */
export async function parseTaskList(list: unknown[], ctx: ParseContext, what = 'tasks'): Promise<Node[]> {
  const out: Node[] = [];
  for (const item of list) {
    if (!isMap(item)) {
      throw new ValidationError(`each entry of ${what} must be a task (a mapping), got ${describe(item)}`, {
        pos: posOf(list),
      });
    }
    try {
      out.push(...(await parseTaskOrBlock(item, ctx)));
    } catch (err) {
      if (!collect(err, ctx.errors)) throw err;
    }
  }
  return out;
}

/** Loads a task file (for import_tasks now, include_tasks at run time). */
export async function loadTaskFile(path: string, ctx: ParseContext): Promise<Node[]> {
  ctx.files.add(path);
  const data = await loadYamlFile(path);
  if (data === null) return [];
  if (!Array.isArray(data)) throw new ValidationError('a task file must be a list of tasks', { pos: where(data, path) });
  return parseTaskList(data, { ...ctx, baseDir: dirname(path) });
}

async function parseTaskOrBlock(raw: Raw, ctx: ParseContext): Promise<Node[]> {
  const file = posOf(raw)?.file ?? ctx.baseDir;
  if (raw.collections !== undefined) ctx = { ...ctx, collections: collectionsOf(raw, ctx.collections) };
  if (raw.module_defaults !== undefined && raw.module_defaults !== null) ctx = { ...ctx, moduleDefaults: [...(ctx.moduleDefaults ?? []), ...moduleDefaultsOf(raw)] };
  if ('block' in raw) {
    if (ctx.handlers) throw new ValidationError('Using a block as a handler is not supported.', { pos: posOfKey(raw, 'block') ?? where(raw, file), messageFirst: true });
    checkKeys(raw, BLOCK_KEYWORDS, 'block', file);
    const ignores = mayIgnoreErrors(raw.ignore_errors);
    const rescued = Array.isArray(raw.rescue) && raw.rescue.length > 0;
    let inner = hasWhen(raw) ? { ...ctx, conditional: true } : ctx;
    if (raw.notify !== undefined && raw.notify !== null) inner = { ...inner, notify: stringList(raw.notify) };
    const list = (key: string) => parseTaskList(listOf(raw[key], key, raw, file), ignores || (key === 'block' && rescued) ? { ...inner, failureTaken: true } : inner, key);
    const node: BlockNode = {
      kind: 'block',
      origin: 'block',
      name: raw.name === undefined ? undefined : String(raw.name),
      block: await list('block'),
      rescue: await list('rescue'),
      always: await list('always'),
      ...inherited(raw, varsOf(raw, 'block', file), {}, inner.conditional === true),
      pos: where(raw, file),
      baseDir: ctx.baseDir,
      role: ctx.role,
    };
    return [node];
  }
  const detected = detectAction(raw, file, ctx.collections, ctx.moduleDefaults, mayFailOnPurpose(raw, ctx), ctx.conditional || hasWhen(raw));
  const { actionKey, extra } = detected;
  let { action, args } = detected;
  let written = detected.written;
  const pos = posOfKey(raw, actionKey) ?? where(raw, file);
  if (ctx.handlers && (action === 'include_role' || action === 'import_role')) {
    throw new ValidationError(`Using '${written ?? action}' as a handler is not supported.`, { pos, messageFirst: true });
  }
  const loop = loopOf(raw);
  let taskVars = varsOf(raw, 'task', file);
  if (action === 'include') {
    // ansible-core 2.14: static (import_tasks) when its file is literal, it has no loop and nothing
    // above it is dynamic; dynamic (include_tasks) otherwise. Its other arguments are variables.
    ctx.warnings?.push(INCLUDE_DEPRECATION);
    const { _raw_params: fileArg, file: fileKey, ...params } = args;
    const target = fileArg ?? fileKey;
    const literal = typeof target === 'string' && !isTemplate(target);
    written = detected.written ?? 'include';
    action = literal && loop.loop === undefined && ctx.dynamic !== true ? 'import_tasks' : 'include_tasks';
    args = { file: target };
    taskVars = { ...params, ...taskVars };
  }
  const kw = inherited(raw, taskVars, extra, ctx.conditional === true || hasWhen(raw));
  const name = raw.name === undefined ? undefined : String(raw.name);

  if (action === 'import_tasks' || action === 'import_role') {
    if (loop.loop !== undefined) {
      throw new ValidationError(`You cannot use loops on '${action}' statements. You should use '${action.replace('import', 'include')}' instead.`, { pos });
    }
    if (action === 'import_tasks') {
      const path = findTaskFile(staticName(args.file ?? args._raw_params, ctx, pos, 'import_tasks', ValidationError), ctx, pos);
      const block = await loadTaskFile(path, { ...ctx, conditional: ctx.conditional || hasWhen(raw), chain: enter(ctx.chain ?? [], fileLink(path, ctx.playbookDir), 'import_tasks', pos) });
      return [{ kind: 'block', origin: 'import_tasks', name, block, rescue: [], always: [], ...kw, pos, baseDir: ctx.baseDir, role: ctx.role }];
    }
    const loaded = await loadRoleEntry({ role: args.name, ...kw.vars, _import: args }, hasWhen(raw) ? { ...ctx, conditional: true } : ctx, pos, undefined, 'import_role');
    return loaded.blocks.map((b) => ({ ...b, origin: 'import_role' as const, when: [...kw.when, ...b.when], tags: [...kw.tags, ...b.tags], vars: { ...b.vars, ...kw.vars } }));
  }
  if (action === 'include_tasks' || action === 'include_role') {
    const node: IncludeNode = { kind: 'include', action, name, args, listen: stringList(raw.listen), ...loop, ...kw, pos, baseDir: ctx.baseDir, role: ctx.role, ...(written !== undefined ? { written } : {}) };
    return [node];
  }
  const argPos: Record<string, SourcePos> = {};
  for (const k of Object.keys(args)) {
    const at = posOfKey(raw[actionKey], k) ?? posOfKey(raw.args, k);
    if (at !== undefined) argPos[k] = at;
  }
  const task: TaskNode = {
    kind: 'task',
    name,
    action,
    args,
    argPos,
    register: raw.register === undefined ? undefined : String(raw.register),
    notify: raw.notify === undefined || raw.notify === null ? [...(ctx.notify ?? [])] : stringList(raw.notify),
    listen: stringList(raw.listen),
    ...loop,
    changed_when: raw.changed_when,
    failed_when: raw.failed_when,
    until: raw.until,
    retries: raw.retries,
    delay: raw.delay,
    ...kw,
    pos,
    baseDir: ctx.baseDir,
    role: ctx.role,
    ...(detected.templated ? { templatedAction: true } : {}),
    ...(written !== undefined ? { written } : {}),
    ...(detected.notImplemented !== undefined ? { notImplemented: detected.notImplemented } : {}),
  };
  return [task];
}

// The lookup a `with_<name>` key names: ansible.builtin's by its short name or full name, and community.general's
// flattened by its full name (2.14 redirects the short one to it: devsec's roles write it in full).
function withLookupName(key: string): string {
  return key.slice(5).replace(/^ansible\.(builtin|legacy)\./, '').replace(/^community\.general\.(flattened)$/, '$1');
}

function loopOf(raw: Raw): { loop?: unknown; loopKind?: string; loop_control?: Raw } {
  const withKeys = Object.keys(raw).filter((k) => k.startsWith('with_'));
  const out: { loop?: unknown; loopKind?: string; loop_control?: Raw } = {};
  if (raw.loop !== undefined) {
    out.loop = raw.loop;
    out.loopKind = 'loop';
  }
  if (withKeys.length > 0) {
    if (out.loop !== undefined || withKeys.length > 1) {
      throw new ValidationError(`a task can have only one loop, found: ${[...(out.loop !== undefined ? ['loop'] : []), ...withKeys].join(', ')}`, {
        pos: posOfKey(raw, withKeys[0]!),
      });
    }
    out.loop = raw[withKeys[0]!];
    out.loopKind = withLookupName(withKeys[0]!);
    // ansible-core refuses it while loading the task, with exit 1 (an error, not a parse error).
    if (out.loop === null) throw new ImgplayError(`you must specify a value when using ${withKeys[0]!}`, { pos: posOfKey(raw, withKeys[0]!) });
  }
  if (raw.loop_control !== undefined) {
    if (!isMap(raw.loop_control)) throw new ValidationError('loop_control must be a mapping', { pos: posOfKey(raw, 'loop_control') });
    out.loop_control = raw.loop_control;
  }
  return out;
}

/** Finds the task's module: the one key that is not a keyword, or `action`/`local_action`. */
function detectAction(
  raw: Raw,
  file: string,
  collections: readonly string[] | undefined,
  moduleDefaults?: readonly Raw[],
  onPurpose = false,
  conditional = false,
): { action: string; args: Raw; actionKey: string; extra: Partial<Inherited>; templated?: boolean; notImplemented?: string; written?: string } {
  const candidates: string[] = [];
  for (const key of Object.keys(raw)) {
    if (TASK_KEYWORDS.has(key) && key !== 'action' && key !== 'local_action') continue;
    if (key.startsWith('with_')) {
      if (!WITH_LOOKUPS.has(withLookupName(key))) {
        throw new ValidationError(`'${key}' is not supported; imgplay knows ${[...WITH_LOOKUPS].map((l) => `with_${l}`).join(', ')} (or use loop)`, {
          pos: posOfKey(raw, key),
        });
      }
      continue;
    }
    candidates.push(key);
  }
  for (const key of Object.keys(raw)) {
    if (key in UNSUPPORTED) throw new ValidationError(`'${key}' is not supported by imgplay: ${UNSUPPORTED[key]}`, { pos: posOfKey(raw, key) });
  }
  const isAction = (k: string) => k === 'action' || k === 'local_action' || INCLUDE_ACTIONS.has(k) || findInCollections(k, collections) !== undefined;
  const unknown = candidates.filter((k) => !isAction(k));
  const known = candidates.filter(isAction);
  if (unknown.length > 0 && (known.length > 0 || unknown.length > 1)) {
    // With a module present, an extra key is most likely a misspelt keyword.
    const key = unknown[0]!;
    const hint = didYouMean(key, [...TASK_KEYWORDS]);
    throw new ValidationError(`'${key}' is not a valid keyword for a task${known[0] ? ` (its module is '${known[0]}')` : ''}`, {
      pos: posOfKey(raw, key),
      hint: hint ? `did you mean '${hint}'?` : undefined,
    });
  }
  if (unknown.length === 1 && known.length === 0) {
    const key = unknown[0]!;
    // An Ansible module imgplay lacks, in a task that runs only under a condition (its own `when`, or one on a
    // block, import or role around it): planned to fail if it is ever reached, with the reason, instead of
    // refusing the playbook. Roles branch by platform (`yum:` under `when: ansible_os_family == 'RedHat'`); on
    // Debian such a branch is skipped, as under Ansible. A typo (no Ansible module of that name) is refused.
    const lacking = conditional ? notImplemented(key, raw) : undefined;
    if (lacking === undefined) throw unknownModule(key, raw, posOfKey(raw, key), collections);
    const value = raw[key];
    return { action: key, args: isMap(value) ? { ...value } : value === null || value === undefined ? {} : { _raw_params: value }, actionKey: key, extra: {}, notImplemented: lacking.message };
  }
  if (known.length === 0) {
    throw new ValidationError(`no module or action in this task${raw.name ? ` ("${String(raw.name)}")` : ''}`, { pos: where(raw, file) });
  }
  if (known.length > 1) {
    throw new ValidationError(`conflicting action statements: ${known.join(', ')}`, { pos: posOfKey(raw, known[1]!) });
  }
  const actionKey = known[0]!;
  let name = actionKey;
  let value = raw[actionKey];
  const extra: Partial<Inherited> = {};
  if (actionKey === 'action' || actionKey === 'local_action') {
    if (actionKey === 'local_action') (extra as { delegate_to?: unknown }).delegate_to = 'localhost';
    if (typeof value === 'string') {
      // A templated name is one word however many spaces its braces hold: `{{ ansible_facts.pkg_mgr }} name=x`.
      const m = /^\s*((?:\{\{[\s\S]*?\}\}|\S)+)\s*([\s\S]*)$/.exec(value);
      name = m?.[1] ?? '';
      value = m?.[2] ?? '';
    } else if (isMap(value) && typeof value.module === 'string') {
      name = value.module;
      const { module: _drop, ...rest } = value;
      value = rest;
    } else {
      throw new ValidationError(`${actionKey} needs a module name`, { pos: posOfKey(raw, actionKey) });
    }
    if (!INCLUDE_ACTIONS.has(name) && !findInCollections(name, collections)) {
      // Picked when the task runs (`action: "{{ ansible_facts.pkg_mgr }}"`); its arguments are judged then.
      if (isTemplate(name)) return { action: name, args: { ...(isMap(raw.args) ? raw.args : {}), ...(typeof value === 'string' ? parseKv(value) : isMap(value) ? value : {}) }, actionKey, extra, templated: true };
      throw unknownModule(name, raw, posOfKey(raw, actionKey), collections);
    }
  }
  const action = INCLUDE_ACTIONS.has(name) ? shortAction(name) : findInCollections(name, collections)!.name;
  const args = parseArgs(action, value, raw, actionKey, moduleDefaults, onPurpose, conditional);
  // What Ansible's banner shows for an unnamed task: the module as written (ansible.builtin.copy stays so).
  return { action, args, actionKey, extra, ...(name !== action ? { written: name } : {}) };
}

// The `collections:` keyword: a list of collection names (namespace.name), searched in order for short module
// names before ansible.builtin (ansible.legacy). A block's or task's list replaces the one around it.
function collectionsOf(raw: Raw, outer: readonly string[] | undefined): readonly string[] | undefined {
  const v = raw.collections;
  if (v === undefined || v === null) return outer;
  const list = Array.isArray(v) ? v : [v];
  for (const c of list) {
    if (typeof c !== 'string' || !/^[A-Za-z_]\w*\.[A-Za-z_]\w*$/.test(c)) {
      throw new ValidationError(`collections: ${JSON.stringify(c)} is not a collection name (namespace.name)`, { pos: posOf(c) ?? posOfKey(raw, 'collections') });
    }
  }
  return list as string[];
}

/** The module a task's name means: a short name is looked up in its `collections:` first, then in ansible.builtin. */
export function findInCollections(name: string, collections: readonly string[] | undefined): ReturnType<typeof findModule> {
  if (!name.includes('.')) {
    for (const c of collections ?? []) {
      const m = findModule(`${c}.${name}`);
      if (m) return m;
    }
  }
  return findModule(name);
}

// ansible-core 2.14's own modules (ansible.builtin): a task naming one imgplay lacks is told so, not offered a near name.
const ANSIBLE_BUILTIN_MODULES = new Set(
  ('add_host apt apt_key apt_repository assemble assert async_status blockinfile command copy cron debconf debug dnf dpkg_selections ' +
    'expect fail fetch file find gather_facts get_url getent git group group_by hostname import_playbook import_role import_tasks ' +
    'include_role include_tasks include_vars iptables known_hosts lineinfile meta package package_facts pause ping pip raw reboot ' +
    'replace rpm_key script service service_facts set_fact set_stats setup shell slurp stat subversion systemd systemd_service sysvinit ' +
    'tempfile template unarchive uri user validate_argument_spec wait_for wait_for_connection yum yum_repository').split(' '),
);

// Why a name that imgplay does not implement is still an Ansible module (ansible.builtin's, or a collection's by
// its full name), with where to look instead; undefined for a name that is no module at all (a typo).
function notImplemented(key: string, raw: Raw): { message: string; hint: string } | undefined {
  const inTask = raw.name ? ` in task "${String(raw.name)}"` : '';
  const short = key.replace(/^ansible\.(builtin|legacy)\./, '');
  if (!short.includes('.') && ANSIBLE_BUILTIN_MODULES.has(short)) {
    return { message: `the module 'ansible.builtin.${short}' is not implemented in imgplay${inTask}`, hint: 'docs/modules.md lists the modules imgplay implements' };
  }
  const fq = /^([A-Za-z_]\w*\.[A-Za-z_]\w*)\.\w+$/.exec(key);
  // ansible.builtin has only 2.14's own modules: a later one (deb822_repository) is no module to 2.14.
  if (!fq || /^ansible\.(builtin|legacy)$/.test(fq[1] as string)) return undefined;
  return { message: `the module '${key}' (collection ${fq[1]}) is not implemented in imgplay${inTask}`, hint: 'docs/modules.md lists the modules imgplay implements, by their collection names' };
}

function unknownModule(key: string, raw: Raw, pos: SourcePos | undefined, collections: readonly string[] | undefined): ValidationError {
  const lacking = notImplemented(key, raw);
  if (lacking !== undefined) return new ValidationError(lacking.message, { pos, hint: lacking.hint });
  const inTask = raw.name ? ` in task "${String(raw.name)}"` : '';
  const hint = didYouMean(key, [...moduleNames(), ...INCLUDE_ACTIONS, 'block']) ?? didYouMean(key, [...TASK_KEYWORDS]);
  const looked = collections?.length ? ` (looked up in the collections ${collections.join(', ')}, then ansible.builtin)` : '';
  return new ValidationError(`unknown module '${key}'${inTask}${looked}`, { pos, hint: hint ? `did you mean '${hint}'?` : undefined });
}

// The keywords of a play alone: force_handlers, max_fail_percentage, order, serial and strategy, each checked when written literally.
function playOnly(raw: Raw): Pick<Play, 'force_handlers' | 'max_fail_percentage' | 'order' | 'serial' | 'strategy'> {
  const out: { -readonly [K in 'force_handlers' | 'max_fail_percentage' | 'order' | 'serial' | 'strategy']?: unknown } = {};
  for (const k of PLAY_ONLY_KEYWORDS) if (raw[k] !== undefined && raw[k] !== null) out[k] = raw[k];
  if (typeof out.order === 'string' && !isTemplate(out.order) && !HOST_ORDERS.includes(out.order)) {
    throw new ValidationError(`order: '${out.order}' is not a host order`, { pos: posOfKey(raw, 'order'), hint: `one of ${HOST_ORDERS.join(', ')}` });
  }
  if (out.strategy !== undefined) checkStrategy(out.strategy, posOfKey(raw, 'strategy'));
  return out;
}

/** The host orders of a play's `order:` keyword. */
export const HOST_ORDERS = ['inventory', 'reverse_inventory', 'sorted', 'reverse_sorted', 'shuffle'];

/** The strategies imgplay runs: hosts in lockstep task by task, or each host through the play at its own pace. */
export const STRATEGIES = ['linear', 'free', 'host_pinned'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** A play's strategy by its name (short or ansible.builtin.); refuses others (a templated one is judged once
 *  rendered, as the play starts: undefined until then). */
export function checkStrategy(value: unknown, pos: SourcePos | undefined): Strategy | undefined {
  if (typeof value === 'string' && isTemplate(value)) return undefined;
  const name = typeof value === 'string' ? value.replace(/^ansible\.builtin\./, '') : value;
  const known = STRATEGIES.find((s) => s === name);
  if (known) return known;
  const why = name === 'debug' ? 'the debug strategy is an interactive debugger' : 'not implemented in imgplay';
  throw new ValidationError(`strategy: the ${JSON.stringify(value)} strategy is not supported (${why}); imgplay runs ${STRATEGIES.join(', ')}`, { pos });
}

const INCLUDE_KEYS: Record<string, string[]> = {
  include_tasks: ['file', 'apply'],
  import_tasks: ['file'],
  include_role: ['name', 'tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'allow_duplicates', 'public', 'apply', 'rolespec_validate'],
  import_role: ['name', 'tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'allow_duplicates', 'public', 'rolespec_validate'],
};

// The bare include takes every key=value word as an argument (a variable); the other words name its file.
const EVERY_KEY = { has: () => true } as unknown as ReadonlySet<string>;

function parseArgs(action: string, value: unknown, raw: Raw, actionKey: string, moduleDefaults?: readonly Raw[], onPurpose = false, conditional = false): Raw {
  const pos = posOfKey(raw, actionKey);
  const extraArgs = raw.args === undefined ? {} : raw.args;
  if (!isMap(extraArgs)) throw new ValidationError("'args' must be a mapping", { pos: posOfKey(raw, 'args') });
  const mod = findModule(action);
  const includeKeys = INCLUDE_KEYS[action];
  let args: Raw;
  try {
    if (value === null || value === undefined) args = {};
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      const text = String(value);
      if (action === 'include') args = parseKv(text, EVERY_KEY);
      else if (includeKeys) args = includeKeys[0] && !text.includes('=') ? { [includeKeys[0]]: text } : parseKv(text);
      else if (mod?.freeForm) args = parseKv(text, new Set(Object.keys(propertiesOf(mod.schema)).filter((k) => k !== mod.freeForm)));
      else args = parseKv(text);
      if (mod?.freeForm && args._raw_params !== undefined && mod.freeForm !== '_raw_params') {
        args[mod.freeForm] = args._raw_params;
        delete args._raw_params;
      }
    } else if (isMap(value)) args = { ...value };
    else throw new ValidationError(`the arguments of '${action}' must be a mapping or a key=value string`, { pos });
  } catch (err) {
    if (err instanceof ParseError && !err.pos) throw new ValidationError(`${action}: ${err.message}`, { pos });
    throw err;
  }
  args = { ...extraArgs, ...args };
  if (mod !== undefined && 'spec' in mod) {
    // Arguments module_defaults give count (a templated set of defaults may give anything: it is judged at run time).
    const defaults = (moduleDefaults ?? []).map((d) => d[mod.name]).filter((d) => d !== undefined && d !== null);
    if (!onPurpose && !defaults.some((d) => !isMap(d))) checkLiteralArgs((mod as SpecModule<unknown>).spec, Object.assign({}, ...(defaults as Raw[]), args), value, pos, conditional);
    return args;
  }
  const known = includeKeys ?? (mod && (mod.schema.additionalProperties === false ? Object.keys(propertiesOf(mod.schema)) : undefined));
  if (known) {
    for (const key of Object.keys(args)) {
      if (!known.includes(key)) {
        const hint = didYouMean(key, known.filter((k) => !k.startsWith('_')));
        throw new ValidationError(`${action}: unsupported argument '${key}'`, {
          pos: posOfKey(value, key) ?? pos,
          hint: hint ? `did you mean '${hint}'?` : `supported: ${known.filter((k) => !k.startsWith('_')).join(', ')}`,
        });
      }
    }
  }
  return args;
}

function hasWhen(raw: Raw): boolean {
  return raw.when !== undefined && raw.when !== null && !(Array.isArray(raw.when) && raw.when.length === 0);
}

// A task whose failure is taken (its own ignore_errors or failed_when, or a block around it that ignores errors
// or rescues) may be written to fail, as ansible-core's own tests write negative cases: its arguments are
// judged when it runs, as Ansible's module judges them, and a wrong one fails that task alone.
function mayFailOnPurpose(raw: Raw, ctx: ParseContext): boolean {
  return ctx.failureTaken === true || mayIgnoreErrors(raw.ignore_errors) || (raw.failed_when !== undefined && raw.failed_when !== null);
}

// ignore_errors that is, or may be once templated, true.
function mayIgnoreErrors(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (typeof v === 'string') return isTemplate(v) || isTrueWord(v.trim());
  return v === true || v === 1;
}

// What the module would refuse whatever the variables say: the arguments written literally, judged by its spec.
// In a task that runs only under a condition they are judged when it runs, as a module imgplay lacks is there
// and as Ansible's module judges them: a branch the target skips (another platform, a parameter of a later
// ansible-core behind a default-off switch, as devsec's os_hardening has) must not refuse the playbook.
function checkLiteralArgs(spec: ModuleSpec, args: Raw, written: unknown, pos: SourcePos | undefined, conditional = false): void {
  if (conditional) return;
  const { errors } = argumentProblems(spec, args, { known: (v) => !holdsTemplate(v) });
  const first = errors[0];
  if (first === undefined) return;
  const arg = first.argument;
  const key = arg === undefined ? undefined : [arg, ...(spec.args[arg]?.aliases ?? [])].find((k) => k in args);
  const unsupported = first.message.startsWith('Unsupported parameters');
  const hint = unsupported && arg !== undefined ? didYouMean(arg, argumentNames(spec)) : undefined;
  throw new ValidationError(`${spec.name}: ${first.message}`, {
    pos: (key === undefined ? undefined : posOfKey(written, key)) ?? pos,
    hint: hint ? `did you mean '${hint}'?` : undefined,
  });
}

function holdsTemplate(v: unknown): boolean {
  if (typeof v === 'string') return isTemplate(v);
  if (Array.isArray(v)) return v.some(holdsTemplate);
  if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => isTemplate(k) || holdsTemplate(x));
  return false;
}

function propertiesOf(schema: Record<string, unknown>): Record<string, unknown> {
  return (schema.properties as Record<string, unknown> | undefined) ?? {};
}

// ---- roles ----

interface LoadedRole {
  instances: RoleInstance[];
  blocks: BlockNode[];
}

/** Directories searched for a role, in Ansible's order plus the working directory (see docs/language.md). */
export function roleSearchPath(ctx: Pick<ParseContext, 'playbookDir' | 'role'>): string[] {
  const env = (process.env.IMGPLAY_ROLES_PATH ?? process.env.ANSIBLE_ROLES_PATH ?? '').split(':').filter(Boolean);
  const dirs = [join(ctx.playbookDir, 'roles'), ...env, ctx.playbookDir];
  if (ctx.role) dirs.unshift(dirname(ctx.role.path));
  // on-imagebuilder's layout keeps playbooks/common/*.yml beside a top-level roles/: look up to there.
  for (let up = dirname(ctx.playbookDir), i = 0; i < 2 && up !== dirname(up); up = dirname(up), i++) dirs.push(join(up, 'roles'));
  dirs.push(join(process.cwd(), 'roles'), process.cwd());
  return [...new Set(dirs)];
}

// A role inside a collection looks short module names up in its own collection first, then its meta's list.
function roleCollections(dir: string, fromMeta: readonly string[] | undefined): readonly string[] | undefined {
  const m = /\/ansible_collections\/([A-Za-z_]\w*)\/([A-Za-z_]\w*)\/roles\/[^/]+$/.exec(dir);
  return m ? [`${m[1]}.${m[2]}`, ...(fromMeta ?? [])] : fromMeta;
}

/** Where collections are installed, as ansible-core 2.14 looks (COLLECTIONS_PATHS, then its Python path's). */
export function collectionSearchPath(playbookDir: string): string[] {
  const env = (process.env.ANSIBLE_COLLECTIONS_PATH ?? process.env.ANSIBLE_COLLECTIONS_PATHS ?? '').split(':').filter(Boolean);
  const home = process.env.HOME ?? '/root';
  const configured = env.length > 0 ? env : [join(home, '.ansible/collections'), '/usr/share/ansible/collections'];
  // A path may name the ansible_collections directory itself; Debian's collections live on Python's path.
  const roots = [join(playbookDir, 'collections'), ...configured].map((d) => (d.endsWith('ansible_collections') ? d : join(d, 'ansible_collections')));
  return [...new Set([...roots, '/usr/lib/python3/dist-packages/ansible_collections'])];
}

// A role named `namespace.collection.role`, or a short name under a `collections:` list, found in a collection.
function findCollectionRole(name: string, ctx: ParseContext, tried: string[]): { dir: string; collection: string } | undefined {
  const fq = /^([A-Za-z_]\w*)\.([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/.exec(name);
  const wanted: Array<[string, string]> = fq ? [[`${fq[1]}.${fq[2]}`, fq[3]!]] : /^\w+$/.test(name) ? (ctx.collections ?? []).map((c) => [c, name]) : [];
  for (const [collection, role] of wanted) {
    for (const root of collectionSearchPath(ctx.playbookDir)) {
      const dir = join(root, ...collection.split('.'), 'roles', role);
      tried.push(dir);
      if (existsSync(dir) && statSync(dir).isDirectory()) return { dir, collection };
    }
  }
  return undefined;
}

function findRoleDir(name: string, ctx: ParseContext, pos: SourcePos): { dir: string; collection?: string } {
  const tried: string[] = [];
  const inCollection = findCollectionRole(name, ctx, tried);
  if (inCollection) return inCollection;
  if (/^[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*$/.test(name)) {
    throw new ValidationError(`the role '${name}' was not found in the collection ${name.split('.').slice(0, 2).join('.')}`, {
      pos,
      hint: `a collection role is looked up as <path>/ansible_collections/NAMESPACE/COLLECTION/roles/ROLE, in collections/ beside the playbook, ANSIBLE_COLLECTIONS_PATH (default ~/.ansible/collections:/usr/share/ansible/collections) and Python's path; looked in:\n  ${tried.join('\n  ')}`,
    });
  }
  const candidates = isAbsolute(name) ? [name] : roleSearchPath(ctx).map((d) => join(d, name));
  for (const dir of candidates) {
    tried.push(dir);
    if (existsSync(dir) && statSync(dir).isDirectory()) return { dir };
  }
  throw new ValidationError(`the role '${name}' was not found`, { pos, hint: `looked in:\n  ${tried.join('\n  ')}` });
}

function mainFile(dir: string, base = 'main'): string | undefined {
  for (const ext of ['.yml', '.yaml', '.json', '']) {
    const f = join(dir, base + ext);
    if (existsSync(f) && statSync(f).isFile()) return f;
  }
  return undefined;
}

async function loadVarsFile(file: string | undefined, files: Set<string>): Promise<Raw> {
  if (!file) return {};
  files.add(file);
  const data = await loadYamlFile(file);
  if (data === null) return {};
  if (!isMap(data)) throw new ValidationError('a vars file must be a mapping', { pos: where(data, file) });
  return data;
}

/** Loads one `roles:` entry (or import_role / include_role, named by `via`), with its meta dependencies first. */
export async function loadRoleEntry(entry: unknown, ctx: ParseContext, pos: SourcePos, parent?: RoleInstance, via = parent ? 'role dependency' : 'roles'): Promise<LoadedRole> {
  const raw: Raw = typeof entry === 'string' ? { role: entry } : isMap(entry) ? { ...entry } : {};
  if (!isMap(entry) && typeof entry !== 'string') throw new ValidationError('a role entry must be a name or a mapping', { pos });
  const importArgs = (raw._import as Raw | undefined) ?? {};
  delete raw._import;
  const roleName = raw.role ?? raw.name;
  // ansible-core 2.14 ends these with exit 1 ("role definitions must contain a role name", an undefined variable).
  if (roleName === undefined) throw new ImgplayError("a role entry needs 'role'", { pos: posOf(entry) ?? pos });
  const entryPos = posOf(entry) ?? pos;
  if (roleName === null || typeof roleName === 'object' || typeof roleName === 'boolean') {
    throw new ImgplayError(`a role is named by a string, got ${isMap(roleName) ? 'a mapping' : describe(roleName)}`, { pos: posOfKey(entry, raw.role === undefined ? 'name' : 'role') });
  }
  const name = staticName(roleName, ctx, entryPos, via, ImgplayError);
  const params: Raw = {};
  const kwRaw: Raw = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'role' || k === 'name') continue;
    if (ROLE_ENTRY_KEYWORDS.has(k)) kwRaw[k] = v;
    else params[k] = v;
  }
  const { dir, collection } = findRoleDir(name, ctx, entryPos);
  const tasksFile = mainFile(join(dir, 'tasks'), String(importArgs.tasks_from ?? 'main').replace(/\.ya?ml$/, ''));
  // Checked before the duplicate rule below, which would otherwise end a loop of dependencies silently.
  // A role may import itself for another tasks file (tasks_from): only the same role with the same tasks is a loop.
  const chain = enter(ctx.chain ?? [], { keys: [`role:${dir}\0${tasksFile ?? ''}`, ...(tasksFile ? [`file:${tasksFile}`] : [])], label: `role '${name}'` }, via, entryPos);
  const files: string[] = [];
  const fileSet = new Set<string>();
  const metaFile = mainFile(join(dir, 'meta'));
  const meta = await loadVarsFile(metaFile, fileSet);
  const allowDuplicates = meta.allow_duplicates === true || importArgs.allow_duplicates === true;
  // As 2.14's role cache: the same role with other tasks_from/vars_from/defaults_from/handlers_from is another role.
  const fromFiles = ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from'].map((k) => String(importArgs[k] ?? ''));
  const key = `${dir}\0${JSON.stringify(params)}\0${fromFiles.join('\0')}`;
  if (ctx.seenRoles.has(key) && !allowDuplicates) return { instances: [], blocks: [] };
  ctx.seenRoles.add(key);

  const defaults = await loadVarsFile(mainFile(join(dir, 'defaults'), String(importArgs.defaults_from ?? 'main').replace(/\.ya?ml$/, '')), fileSet);
  const vars = await loadVarsFile(mainFile(join(dir, 'vars'), String(importArgs.vars_from ?? 'main').replace(/\.ya?ml$/, '')), fileSet);
  const instance: RoleInstance = {
    name: (collection !== undefined ? name.split('.').pop() : name.split('/').pop()) ?? name,
    path: dir,
    ...(collection !== undefined ? { collection } : {}),
    defaults,
    vars,
    params,
    parent,
    files,
  };
  // A role's tasks look short module names up in its meta's collections, not the play's (as ansible-core 2.14).
  const roleCtx: ParseContext = { ...ctx, role: instance, baseDir: join(dir, 'tasks'), staticVars: { ...defaults, ...vars, ...params, ...ctx.staticVars }, chain, collections: roleCollections(dir, collectionsOf(meta, undefined)),
    conditional: ctx.conditional || hasWhen(kwRaw),
    moduleDefaults: kwRaw.module_defaults === undefined || kwRaw.module_defaults === null ? ctx.moduleDefaults : [...(ctx.moduleDefaults ?? []), ...moduleDefaultsOf(kwRaw)] };

  const out: LoadedRole = { instances: [], blocks: [] };
  const deps = meta.dependencies === undefined || meta.dependencies === null ? [] : meta.dependencies;
  if (!Array.isArray(deps)) throw new ValidationError('meta dependencies must be a list', { pos: where(meta, metaFile ?? dir) });
  for (const dep of deps) {
    const loaded = await loadRoleEntry(dep, { ...ctx, role: instance, chain, conditional: ctx.conditional || hasWhen(kwRaw) }, posOf(dep) ?? posOf(deps) ?? entryPos, instance);
    out.instances.push(...loaded.instances);
    // A dependency inherits the conditions and tags of the role that pulled it in.
    out.blocks.push(...loaded.blocks.map((b) => ({ ...b, when: [...whenList(kwRaw.when), ...b.when], tags: [...tagList(kwRaw.tags), ...b.tags] })));
  }
  if (importArgs.tasks_from !== undefined && !tasksFile) {
    throw new ValidationError(`the role '${name}' has no tasks file '${String(importArgs.tasks_from)}'`, { pos: entryPos });
  }
  const tasks = tasksFile ? await loadTaskFile(tasksFile, roleCtx) : [];
  if (importArgs.rolespec_validate !== false) tasks.unshift(...(await validationTask(dir, meta, String(importArgs.tasks_from ?? 'main').replace(/\.ya?ml$/, ''), params, roleCtx, fileSet)));
  const handlersFile = mainFile(join(dir, 'handlers'), String(importArgs.handlers_from ?? 'main').replace(/\.ya?ml$/, ''));
  if (handlersFile) ctx.roleHandlers.push(...(await loadTaskFile(handlersFile, { ...roleCtx, handlers: true })));
  for (const f of [metaFile, tasksFile, handlersFile, ...fileSet]) if (f) {
    files.push(f);
    ctx.files.add(f);
  }
  for (const f of roleCtx.files) ctx.files.add(f);
  out.instances.push(instance);
  const block: BlockNode = {
    kind: 'block',
    origin: 'role',
    name: instance.name,
    block: tasks,
    rescue: [],
    always: [],
    ...inherited(kwRaw, isMap(kwRaw.vars) ? kwRaw.vars : {}, {}, roleCtx.conditional === true),
    pos: entryPos,
    baseDir: join(dir, 'tasks'),
    role: instance,
  };
  out.blocks.push(block);
  return out;
}

// A role with an argument spec for its entry point runs Ansible's validation task first (2.11+'s
// _prepend_validation_task): its arguments checked against meta/argument_specs.yml, tagged always.
async function validationTask(dir: string, meta: Raw, entry: string, params: Raw, ctx: ParseContext, fileSet: Set<string>): Promise<Node[]> {
  const specFile = mainFile(join(dir, 'meta'), 'argument_specs');
  const specs = specFile ? (await loadVarsFile(specFile, fileSet)).argument_specs : meta.argument_specs;
  if (!isMap(specs) || !isMap(specs[entry])) return [];
  const spec = specs[entry] as Raw;
  const name = `Validating arguments against arg spec '${entry}'${spec.short_description !== undefined ? ` - ${String(spec.short_description)}` : ''}`;
  const context = { type: 'role', name: basename(dir), argument_spec_name: entry, path: dir };
  const raw = { name, 'ansible.builtin.validate_argument_spec': { argument_spec: isMap(spec.options) ? spec.options : {}, provided_arguments: params, validate_args_context: context }, tags: ['always'] };
  return parseTaskList([raw], { ...ctx, baseDir: specFile ?? join(dir, 'meta') });
}

/** The chain with one more link, or a ParseError naming the loop (`a.yml -> b.yml -> a.yml`) at the import that
 *  closes it. Imports are expanded before running, so a loop would never end; include_tasks and include_role
 *  loops are the executor's (a depth limit, since a `when:` may end them). */
export function enter(chain: readonly ChainLink[], link: ChainLink, via: string, pos: SourcePos): ChainLink[] {
  const at = chain.findIndex((l) => l.keys.some((k) => link.keys.includes(k)));
  if (at >= 0) {
    const loop = [...chain.slice(at), link].map((l) => l.label).join(' -> ');
    throw new ParseError(`${via} loop: ${loop}`, {
      pos,
      hint:
        via === 'import_playbook'
          ? 'a playbook cannot import itself, directly or through others'
          : via === 'import_tasks'
            ? 'a task file cannot import itself, directly or through others (imports are expanded before the run); a recursion that ends needs include_tasks with a when: condition'
            : 'a role cannot depend on, or import, a role that brings it in',
    });
  }
  return [...chain, link];
}

/** A task or playbook file as a link of the import chain, named relative to `base` when it lies below it. */
export function fileLink(path: string, base: string): ChainLink {
  const rel = relative(base, path);
  return { keys: [`file:${path}`], label: rel === '' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? path : rel };
}

function findTaskFile(name: string, ctx: ParseContext, pos: SourcePos): string {
  if (isAbsolute(name)) return name;
  const dirs = [ctx.baseDir, ...(ctx.role ? [join(ctx.role.path, 'tasks')] : []), ctx.playbookDir];
  for (const d of dirs) {
    const f = join(d, name);
    if (existsSync(f)) return f;
  }
  throw new ValidationError(`the task file '${name}' was not found`, { pos, hint: `looked in:\n  ${dirs.join('\n  ')}` });
}

/** Resolves a task file named by include_tasks at run time. */
export function findIncludeFile(name: string, ctx: Pick<ParseContext, 'baseDir' | 'role' | 'playbookDir'>, pos: SourcePos): string {
  return findTaskFile(name, ctx as ParseContext, pos);
}

// ---- keyword helpers ----

function checkKeys(raw: Raw, allowed: Set<string>, what: string, file: string): void {
  for (const key of Object.keys(raw)) {
    if (key in UNSUPPORTED) throw new ValidationError(`'${key}' is not supported by imgplay: ${UNSUPPORTED[key]}`, { pos: posOfKey(raw, key) });
    if (!allowed.has(key)) {
      const hint = didYouMean(key, [...allowed]);
      throw new ValidationError(`'${key}' is not a valid keyword for a ${what}`, {
        pos: posOfKey(raw, key) ?? where(raw, file),
        hint: hint ? `did you mean '${hint}'?` : undefined,
      });
    }
  }
}

// vars: a mapping, or a list of mappings merged in order (Ansible's _load_vars).
function varsOf(raw: Raw, what: string, file: string): Raw {
  if (raw.vars === undefined || raw.vars === null) return {};
  if (isMap(raw.vars)) return raw.vars;
  if (Array.isArray(raw.vars) && raw.vars.every(isMap)) return Object.assign({}, ...(raw.vars as Raw[]));
  throw new ValidationError(`the vars of a ${what} must be a mapping, or a list of mappings`, { pos: posOfKey(raw, 'vars') ?? where(raw, file) });
}

// conditional: the keywords belong to what runs only under a condition (its own `when` or one around it).
function inherited(raw: Raw, vars: Raw, extra: Partial<Inherited> = {}, conditional = false): Inherited {
  const out: { -readonly [K in keyof Inherited]: Inherited[K] } = { when: whenList(raw.when), tags: tagList(raw.tags), vars };
  for (const k of ['environment', 'check_mode', 'ignore_errors', 'no_log', 'delegate_to', 'connection', 'any_errors_fatal', 'run_once', 'ignore_unreachable', 'throttle', 'timeout', 'diff', 'delegate_facts'] as const) {
    if (raw[k] !== undefined) out[k] = raw[k];
  }
  if (raw.module_defaults !== undefined && raw.module_defaults !== null) out.module_defaults = moduleDefaultsOf(raw);
  const become = Object.fromEntries(BECOME_KEYWORDS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]));
  if (Object.keys(become).length > 0) out.become = checkBecome(become, raw, conditional);
  if (raw.debugger !== undefined && raw.debugger !== null && raw.debugger !== 'never') {
    throw new ValidationError(`debugger: ${pyReprLite(raw.debugger)}: the task debugger is not implemented in imgplay (it is interactive; imgplay never prompts)`, {
      pos: posOfKey(raw, 'debugger'),
      hint: "only 'never' (the default) is accepted",
    });
  }
  return { ...out, ...extra };
}

const BECOME_KEYWORDS = ['become', 'become_user', 'become_method', 'become_flags', 'become_exe'] as const;
/** become methods that reach root as root: with imgplay already root, each is the identity. */
const BECOME_METHODS = new Set(['sudo', 'su', 'runuser', 'doas', 'pbrun', 'pfexec', 'dzdo', 'ksu', 'machinectl', 'sesu', 'ansible.builtin.sudo', 'ansible.builtin.su', 'ansible.builtin.runuser']);

// imgplay runs tasks as the user it runs as (root for chroot targets): becoming root changes nothing, but
// becoming another user would run the task as that user in Ansible, which imgplay does not do. The values
// written literally are judged here; templated ones, inherited combinations and those of what runs only under a
// condition at run time (src/run/become.ts), so that a branch the target skips does not refuse the playbook.
function checkBecome(become: Raw, raw: Raw, conditional: boolean): Raw {
  const user = become.become_user;
  if (!conditional && typeof user === 'string' && !isTemplate(user) && user !== 'root' && user !== '' && isTrue(become.become)) {
    throw new ValidationError(`become_user: ${user}: running a task as another user than root is not implemented in imgplay`, {
      pos: posOfKey(raw, 'become_user'),
      hint: 'imgplay runs every task as root; run the command as that user yourself (runuser -u USER -- CMD)',
    });
  }
  const method = become.become_method;
  if (typeof method === 'string' && !isTemplate(method) && !BECOME_METHODS.has(method)) {
    throw new ValidationError(`become_method: ${method} is not a become method imgplay knows`, { pos: posOfKey(raw, 'become_method'), hint: `known: ${[...BECOME_METHODS].filter((m) => !m.includes('.')).join(', ')}` });
  }
  return become;
}

function isTrue(v: unknown): boolean {
  if (typeof v === 'string') return isTrueWord(v);
  return v === true || v === 1;
}

function pyReprLite(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// module_defaults: a mapping or a list of mappings whose keys are static module names or `group/NAME`; the
// values may be templates (templated when a task uses them). Module keys are stored under imgplay's name.
function moduleDefaultsOf(raw: Raw): Raw[] {
  const value = raw.module_defaults;
  const at = posOfKey(raw, 'module_defaults');
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry) => {
    if (!isMap(entry)) {
      throw new ValidationError("The field 'module_defaults' is supposed to be a dictionary or list of dictionaries, the keys of which must be static action, module, or group names. Only the values may contain templates. For example: {'ping': \"{{ ping_defaults }}\"}", { pos: posOf(entry) ?? at });
    }
    const out: Raw = {};
    for (const [key, defaults] of Object.entries(entry)) {
      if (isTemplate(key)) throw new ValidationError(`module_defaults: the key '${key}' must be a static module or group name`, { pos: posOfKey(entry, key) ?? at });
      if (key.startsWith('group/')) {
        // No module imgplay implements belongs to an action group of ansible-core 2.14 (its groups extend cloud collections').
        out[key] = defaults;
        continue;
      }
      const mod = findModule(key);
      out[mod ? mod.name : key] = defaults;
    }
    return out;
  });
}

/** Normalises `when` to a list of conditions (ANDed). */
export function whenList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** Normalises `tags` (a list, or a comma-separated string) to a list of names. */
export function tagList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : String(v).split(',');
  return list.map((t) => String(t).trim()).filter(Boolean);
}

function stringList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function listOf(v: unknown, key: string, parent: Raw, file: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    throw new ValidationError(`'${key}' must be a list`, { pos: posOfKey(parent, key) ?? where(parent, file) });
  }
  return v;
}

// A name that planning templates (an imported file, a role) may use only play vars and extra vars;
// an undefined one is located at the entry, with the exit code ansible-core 2.14 gives that case.
function staticName(value: unknown, ctx: ParseContext, pos: SourcePos, what: string, kind: typeof ImgplayError): string {
  try {
    return String(templateValue(value, ctx.staticVars));
  } catch (err) {
    if (!(err instanceof ImgplayError) || err instanceof InternalError) throw err;
    throw new kind(`${what}: ${err.message}`, {
      pos,
      cause: err,
      hint: 'a static import or role name is resolved while planning: it may use play vars and extra vars (-e), not facts or inventory vars; include_tasks / include_role resolve theirs at run time',
    });
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? `the string '${v}'` : typeof v;
}

function deepFreeze<T>(v: T, seen = new WeakSet<object>()): T {
  if (typeof v === 'object' && v !== null && !seen.has(v)) {
    seen.add(v);
    for (const child of Object.values(v)) deepFreeze(child, seen);
    Object.freeze(v);
  }
  return v;
}

