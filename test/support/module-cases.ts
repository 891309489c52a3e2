// Table tests for modules: each row runs on a fresh tree, again to prove idempotence, and in check mode
// to prove check mode promises the same change and touches nothing.
import { existsSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ChrootConnection } from '../../src/connection/chroot.js';
import { resolveInRoot } from '../../src/connection/confine.js';
import { LocalConnection } from '../../src/connection/local.js';
import { MountGuard } from '../../src/host/mount-guard.js';
import type { Connection, ExecResult } from '../../src/connection/types.js';
import type { Module, ModuleContext, ModuleResult } from '../../src/modules/types.js';
import { prepareArgs, runOtherModule } from '../../src/run/args.js';
import { renderString } from '../../src/jinja/template.js';

/** One path in a tree: a file's text, or a file/dir/link with the attributes worth checking. */
export type TreeEntry =
  | string
  | { content?: string; mode?: number | string; link?: string; dir?: true; uid?: number; gid?: number };

/** A tree below the case's root: relative path -> entry. Parent directories are implied. A key with `*` matches any one name. */
export type TreeSpec = Record<string, TreeEntry>;

/**
 * Where a row runs: the host with paths under a temp dir; a confined root mapped like a chroot (file
 * work only); or a real chroot into a tree the caller provides (see CaseOptions.chrootRoot).
 */
export type Target = 'local' | 'confined' | 'chroot';

/** Options for a whole table. */
export interface CaseOptions {
  /** The tree 'chroot' rows run in (a complete system; each row works in its own directory inside it). */
  chrootRoot?: () => string;
}

/** One row of a module table. Strings in args, result and error may use {root} and {files}. */
export interface Case {
  name: string;
  /** The task's arguments, before the executor's coercion and defaults. */
  args: Record<string, unknown>;
  before?: TreeSpec;
  /** Expected `changed` of the first run (not needed with `error` or `invalid`). */
  changed?: boolean;
  /** The tree after the first run (default: unchanged). */
  after?: TreeSpec;
  /** The run must fail with a msg containing this. */
  error?: string;
  /** The arguments must be refused before the module runs, with a message containing this. */
  invalid?: string;
  /** Keys the first run's result must contain (a partial match). */
  result?: Record<string, unknown>;
  /** `changed` of the second run: false unless the module always changes (touch, command). */
  again?: boolean;
  /** Check mode expectations (default: the same `changed`); false skips the check-mode run. */
  check?: false | { changed?: boolean; result?: Record<string, unknown> };
  /** The controller's playbook directory: files/..., templates/... */
  files?: TreeSpec;
  /** Task variables, for templates. */
  vars?: Record<string, unknown>;
  /** Environment variables from the play/task `environment`. */
  environment?: Record<string, string>;
  /** Run with --diff (default true). */
  diff?: boolean;
  /** Which targets to run on (default both). */
  targets?: Target[];
}

/** Accounts every confined root has, so owner/group tests need no host users. */
export const TEST_ACCOUNTS = { user: 'imgtest', uid: 4242, group: 'imgtest', gid: 4343, otherGroup: 'imgother', otherGid: 4444 };

// Inside a confined root, cases live here: a path that does not exist on the host, so a module that
// forgot hostPath() fails instead of touching the build host.
const CONFINED_PREFIX = '/imgplay-case';

const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});

/** A directory tree as a target, mapped like a chroot but without one: file modules only (no exec). */
export class ConfinedConnection implements Connection {
  readonly kind = 'chroot' as const;
  readonly mounts: MountGuard;
  constructor(readonly root: string) {
    this.mounts = new MountGuard(`confined ${root}`);
  }
  describe(): string {
    return `confined ${this.root}`;
  }
  async exec(): Promise<ExecResult> {
    throw new Error('the confined test target cannot run commands; give the row targets: ["local"]');
  }
  async putFile(): Promise<void> {
    throw new Error('putFile is not used by modules');
  }
  async fetchFile(): Promise<void> {
    throw new Error('fetchFile is not used by modules');
  }
  hostPath(remotePath: string, opts?: { followLast?: boolean }): Promise<string> {
    return resolveInRoot(this.root, remotePath, opts);
  }
  async close(): Promise<void> {
    await this.mounts.release();
  }
}

/** A fresh place to run a row: the tree's host directory, the args' {root}, the connection, the controller dir. */
export interface Sandbox {
  treeDir: string;
  rootArg: string;
  conn: Connection;
  controllerDir: string;
}

const chroots = new Map<string, Promise<ChrootConnection>>();

/** Creates an empty sandbox for a target ('chroot' needs the tree to enter). */
export async function sandbox(target: Target, chrootRoot?: string): Promise<Sandbox> {
  if (target === 'chroot') {
    if (chrootRoot === undefined) throw new Error("a 'chroot' row needs CaseOptions.chrootRoot");
    let conn = chroots.get(chrootRoot);
    if (conn === undefined) chroots.set(chrootRoot, (conn = ChrootConnection.open(chrootRoot)));
    const treeDir = await mkdtemp(join(chrootRoot, 'imgplay-case-'));
    const controllerDir = await mkdtemp(join(tmpdir(), 'imgplay-mod-'));
    scratch.push(controllerDir);
    return { treeDir, rootArg: `/${basename(treeDir)}`, conn: await conn, controllerDir };
  }
  const base = await mkdtemp(join(tmpdir(), 'imgplay-mod-'));
  scratch.push(base);
  const controllerDir = join(base, 'controller');
  await mkdir(controllerDir);
  if (target === 'local') {
    const treeDir = join(base, 'case');
    await mkdir(treeDir);
    return { treeDir, rootArg: treeDir, conn: new LocalConnection(), controllerDir };
  }
  const root = join(base, 'root');
  const a = TEST_ACCOUNTS;
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${a.user}:x:${a.uid}:${a.gid}::/home/${a.user}:/bin/sh\n`);
  await writeFile(join(root, 'etc/group'), `root:x:0:\n${a.group}:x:${a.gid}:\n${a.otherGroup}:x:${a.otherGid}:\n`);
  const treeDir = join(root, CONFINED_PREFIX);
  await mkdir(treeDir);
  return { treeDir, rootArg: CONFINED_PREFIX, conn: new ConfinedConnection(root), controllerDir };
}

/** Creates the entries of a tree spec under dir. */
export async function buildTree(dir: string, spec: TreeSpec = {}): Promise<void> {
  for (const [rel, entry] of Object.entries(spec)) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    const e = typeof entry === 'string' ? { content: entry } : entry;
    if (e.link !== undefined) await symlink(e.link, path);
    else if (e.dir) await mkdir(path, { recursive: true });
    else await writeFile(path, e.content ?? '');
    if (e.mode !== undefined) await chmod(path, toMode(e.mode));
    if (e.uid !== undefined || e.gid !== undefined) await lchown(path, e.uid ?? 0, e.gid ?? 0);
  }
}

function toMode(mode: number | string): number {
  return typeof mode === 'number' ? mode : parseInt(mode, 8);
}

interface Node {
  type: 'file' | 'dir' | 'link' | 'other';
  content?: string;
  link?: string;
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  mtimeMs: number;
}

/** Every path under dir with its type, content, mode, owner, inode and mtime. */
export async function snapshot(dir: string): Promise<Record<string, Node>> {
  const out: Record<string, Node> = {};
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdir(abs)).sort()) {
      const p = join(abs, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(p);
      const node: Node = { type: 'other', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, ino: st.ino, mtimeMs: st.mtimeMs };
      if (st.isSymbolicLink()) Object.assign(node, { type: 'link', link: await readlink(p) });
      else if (st.isDirectory()) node.type = 'dir';
      else if (st.isFile()) Object.assign(node, { type: 'file', content: (await readFile(p)).toString('utf8') });
      out[r] = node;
      if (node.type === 'dir') await walk(p, r);
    }
  };
  await walk(dir, '');
  return out;
}

/** Asserts the tree under dir is exactly `spec` (plus implied parent directories); modes and owners only where given. */
export async function expectTree(dir: string, spec: TreeSpec): Promise<void> {
  const actual = await snapshot(dir);
  const expected: Record<string, unknown> = {};
  const seen: Record<string, unknown> = {};
  const view = (n: Node, e: Exclude<TreeEntry, string> | undefined): unknown => {
    const v: Record<string, unknown> =
      n.type === 'file' ? { content: n.content } : n.type === 'link' ? { link: n.link } : n.type === 'dir' ? { dir: true } : { other: true };
    if (e?.mode !== undefined) v.mode = `0${n.mode.toString(8)}`;
    if (e?.uid !== undefined) v.uid = n.uid;
    if (e?.gid !== undefined) v.gid = n.gid;
    return v;
  };
  const unmatched = new Set(Object.keys(actual));
  for (const [rel, entry] of Object.entries(spec)) {
    const e = typeof entry === 'string' ? { content: entry } : entry;
    const want: Record<string, unknown> = e.link !== undefined ? { link: e.link } : e.dir ? { dir: true } : { content: e.content ?? '' };
    if (e.mode !== undefined) want.mode = `0${toMode(e.mode).toString(8)}`;
    if (e.uid !== undefined) want.uid = e.uid;
    if (e.gid !== undefined) want.gid = e.gid;
    let key = rel;
    if (rel.includes('*')) {
      const re = new RegExp(`^${rel.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
      key = [...unmatched].find((k) => re.test(k)) ?? rel;
    }
    expected[rel] = want;
    const node = actual[key];
    if (node !== undefined) {
      seen[rel] = view(node, e);
      unmatched.delete(key);
    }
    for (let d = dirname(rel); d !== '.'; d = dirname(d)) {
      if (spec[d] === undefined) {
        expected[d] = { dir: true };
        if (actual[d] !== undefined) seen[d] = view(actual[d] as Node, undefined);
        unmatched.delete(d);
      }
    }
  }
  for (const k of unmatched) seen[k] = view(actual[k] as Node, undefined);
  expect(seen).toEqual(expected);
}

/** Coerces, defaults and validates args as the executor does: the engine's own prepareArgs, so a broken engine fails the tests. */
export async function prepare<A>(mod: Module<A>, args: Record<string, unknown>): Promise<A> {
  return prepareArgs(mod as unknown as Module<unknown>, args) as A;
}

/** The parts of a ModuleContext a test sets; the rest get harmless defaults. */
export interface ContextOptions<A> {
  args: A;
  conn?: Connection;
  check?: boolean;
  diff?: boolean;
  vars?: Record<string, unknown>;
  environment?: Record<string, string>;
  /** The playbook directory findFile searches (files/, templates/, then itself). */
  controllerDir?: string;
  /** Where the task was written (default: a playbook in controllerDir). */
  place?: ModuleContext<unknown>['place'];
  template?: (text: string) => string;
  log?: string[];
}

/** Builds a ModuleContext for tests: a local controller, findFile over controllerDir, a simple template(). */
export function makeContext<A>(opts: ContextOptions<A>): ModuleContext<A> {
  const vars = opts.vars ?? {};
  const controllerDir = opts.controllerDir ?? process.cwd();
  const ctx: ModuleContext<A> = {
    args: opts.args,
    conn: opts.conn ?? new LocalConnection(),
    controller: new LocalConnection(),
    check: opts.check ?? false,
    diff: opts.diff ?? false,
    vars,
    environment: opts.environment ?? {},
    template:
      opts.template ??
      (() => {
        throw new Error('makeContext: pass template, or use templateFor() to get the project renderer');
      }),
    evaluate: () => {
      throw new Error('evaluate is not available in module tests');
    },
    searchPath: [controllerDir],
    place: opts.place ?? { taskDir: controllerDir },
    async findFile(kind, path) {
      const candidates = isAbsolute(path) ? [path] : [join(controllerDir, kind, path), join(controllerDir, path)];
      const found = candidates.find((c) => existsSync(c));
      if (found === undefined) {
        throw new Error(`Could not find or access '${path}'\nSearched in:\n${candidates.map((c) => `\t${c}`).join('\n')} on the Ansible Controller.`);
      }
      return found;
    },
    log: (message) => opts.log?.push(message),
    signal: new AbortController().signal,
    runModule: (name, args) => runOtherModule(ctx, name, args),
  };
  return ctx;
}

/** A template() rendering with the project's engine against vars. */
export async function templateFor(vars: Record<string, unknown>): Promise<(text: string) => string> {
  return (text) => renderString(text, vars);
}

function substitute<T>(value: T, sb: Sandbox): T {
  if (typeof value === 'string') return value.replaceAll('{root}', sb.rootArg).replaceAll('{files}', sb.controllerDir) as T;
  if (Array.isArray(value)) return value.map((v) => substitute(v, sb)) as T;
  // Only plain objects: matchers such as expect.stringContaining() pass through untouched.
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, sb)])) as T;
  }
  return value;
}

async function runRow<A>(mod: Module<A>, row: Case, sb: Sandbox, check: boolean): Promise<ModuleResult> {
  const args = await prepare(mod, substitute(row.args, sb));
  const vars = substitute(row.vars ?? {}, sb);
  return mod.run(
    makeContext({
      args,
      conn: sb.conn,
      check,
      diff: row.diff ?? true,
      vars,
      environment: substitute(row.environment, sb),
      controllerDir: sb.controllerDir,
      template: await templateFor(vars),
    }),
  );
}

function describeResult(r: ModuleResult): string {
  return JSON.stringify(r, null, 2);
}

/** Declares one test per row and target (see Case for what each checks). */
export function cases<A>(mod: Module<A>, rows: Case[], opts: CaseOptions = {}): void {
  for (const row of rows) {
    for (const target of row.targets ?? (['local', 'confined'] as Target[])) {
      it(`${row.name} [${target}]`, async () => {
        const sb = await sandbox(target, opts.chrootRoot?.());
        await buildTree(sb.treeDir, row.before);
        await buildTree(sb.controllerDir, row.files);
        if (row.invalid !== undefined) {
          await expect(prepare(mod, substitute(row.args, sb))).rejects.toThrow(row.invalid);
          return;
        }
        const first = await runRow(mod, row, sb, false);
        if (row.error !== undefined) {
          expect(first.failed, describeResult(first)).toBe(true);
          expect(String(first.msg)).toContain(substitute(row.error, sb));
          if (row.result) expect(first).toMatchObject(substitute(row.result, sb));
          await expectTree(sb.treeDir, row.after ?? row.before ?? {});
          return;
        }
        expect(first.failed ?? false, describeResult(first)).toBe(false);
        expect(first.changed, describeResult(first)).toBe(row.changed);
        if (row.result) expect(first).toMatchObject(substitute(row.result, sb));
        await expectTree(sb.treeDir, row.after ?? row.before ?? {});

        const settled = await snapshot(sb.treeDir);
        const second = await runRow(mod, row, sb, false);
        expect(second.failed ?? false, describeResult(second)).toBe(false);
        expect(second.changed, `second run: ${describeResult(second)}`).toBe(row.again ?? false);
        if (!row.again) expect(await snapshot(sb.treeDir)).toEqual(settled);

        if (row.check === false) return;
        const fresh = await sandbox(target, opts.chrootRoot?.());
        await buildTree(fresh.treeDir, row.before);
        await buildTree(fresh.controllerDir, row.files);
        const untouched = await snapshot(fresh.treeDir);
        const checked = await runRow(mod, row, fresh, true);
        expect(checked.failed ?? false, describeResult(checked)).toBe(false);
        expect(checked.changed, `check mode: ${describeResult(checked)}`).toBe(row.check?.changed ?? row.changed);
        if (row.check?.result) expect(checked).toMatchObject(substitute(row.check.result, fresh));
        expect(await snapshot(fresh.treeDir)).toEqual(untouched);
      });
    }
  }
}
