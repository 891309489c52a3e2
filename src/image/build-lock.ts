// One run at a time per build directory. The run file (build_dir/.imgplay-run.json) names the owner's
// pid and command and records, as they change, the mounts and child tool groups the run holds: a run
// that was killed outright (SIGKILL, power loss of the process) leaves it behind, and the next run
// stops the dead run's tools, undoes its mounts innermost first and starts clean.
import { type Dirent, lstatSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImgplayError } from '../errors.js';
import { type LiveGroup, groupAlive, killProcessesRootedIn, observeGroups, processStart } from '../host/process-group.js';
import { observeMounts, releaseAllSync, undoMount } from '../host/mount-guard.js';
import { mountTable, mountsUnder } from '../host/mount-table.js';

/** The run file's name inside a build directory. */
export const RUN_FILE = '.imgplay-run.json';

/** What a run file holds. */
export interface RunRecord {
  pid: number;
  /** The owner's start time (see processStart): a later process with the same pid is not the owner. */
  start: string;
  command: string;
  started: string;
  mounts: string[];
  groups: LiveGroup[];
  /** The directories there before the run (a run taking over a dead one's inherits them). */
  before: string[];
  /** The top-most directory the run created for the build directory itself. */
  createdTop?: string | undefined;
}

/** Another live run holds the build directory. */
export class BuildDirBusyError extends ImgplayError {}

interface Held {
  dir: string;
  file: string;
  record: RunRecord;
}

const held = new Map<string, Held>();
let mounts: readonly string[] = [];
let groups: readonly LiveGroup[] = [];
let exitHookInstalled = false;

/**
 * Holds `dir` for this process (again: a no-op). A live owner is refused, naming its pid and command;
 * a dead owner's mounts and tools are undone first. Returns what was taken over from a dead run, if anything.
 */
export function holdBuildDir(dir: string): Promise<string | undefined> {
  // Overlays mounted side by side ask at the same moment: one attempt per folder, or the second would find
  // the first's run file and take it for a dead run's.
  const pending = holding.get(dir);
  if (pending) return pending.then(() => undefined);
  const attempt = holdOnce(dir);
  holding.set(dir, attempt);
  attempt.catch(() => holding.delete(dir));
  return attempt;
}

const holding = new Map<string, Promise<string | undefined>>();

async function holdOnce(dir: string): Promise<string | undefined> {
  if (held.has(dir)) return undefined;
  const createdTop = await mkdir(dir, { recursive: true });
  const file = join(dir, RUN_FILE);
  // Directories there when the run began (a few levels deep): the others are the run's, removed when empty at its end.
  const before = [...dirsUnder(dir)];
  const self: RunRecord = { pid: process.pid, start: processStart(process.pid) ?? '', command: process.argv.slice(1).join(' '), started: new Date().toISOString(), mounts: [], groups: [], before, createdTop };
  let tookOver: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      await fh.writeFile(JSON.stringify(self));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 20) throw err;
    }
    const other = await readRecord(file);
    if (other === undefined) {
      // Created but not yet written by a run starting right now, or left empty by one killed at that moment.
      const age = Date.now() - ((await stat(file).catch(() => undefined))?.mtimeMs ?? 0);
      if (age < 5000) {
        await sleep(250);
        continue;
      }
    } else if (other.pid !== process.pid && processStart(other.pid) === other.start) {
      throw new BuildDirBusyError(`build_dir ${dir} is in use by another imgplay run: pid ${other.pid}, started ${other.started}\n  ${other.command}`, {
        hint: `wait for it to finish or stop it (kill -INT ${other.pid}); a run that died is taken over automatically (${file})`,
      });
    }
    tookOver = await recoverDeadRun(dir, other);
    // What the dead run made is this run's to remove.
    if (other !== undefined) {
      self.before = other.before ?? before;
      self.createdTop = other.createdTop;
    }
    await rm(file, { force: true });
  }
  held.set(dir, { dir, file, record: self });
  observeMounts((m) => {
    mounts = m;
    writeAll();
  });
  observeGroups((g) => {
    groups = g;
    writeAll();
  });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', releaseAll);
  }
  return tookOver;
}

async function readRecord(file: string): Promise<RunRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as RunRecord;
    return typeof r.pid === 'number' ? { ...r, mounts: r.mounts ?? [], groups: r.groups ?? [], before: r.before ?? [] } : undefined;
  } catch {
    return undefined;
  }
}

// Stops what the dead run left running, then undoes its mounts innermost first. Nothing is deleted
// here: a tmpfs build root takes its debris with it, and a stage on a plain directory checks its own
// complete-marker.
async function recoverDeadRun(dir: string, dead: RunRecord | undefined): Promise<string> {
  const stopped: string[] = [];
  for (const g of dead?.groups ?? []) {
    const start = processStart(g.pgid);
    // No process has the leader's pid but the group lives: the leader died and its helpers run on.
    if ((start === g.start || (start === undefined && groupAlive(g.pgid))) && killGroup(g.pgid)) stopped.push(`${g.tool} (group ${g.pgid})`);
  }
  const chrooted = killProcessesRootedIn(dir);
  if (chrooted > 0) stopped.push(`${chrooted} process${chrooted === 1 ? '' : 'es'} chrooted inside it`);
  for (let i = 0; i < 20 && (dead?.groups ?? []).some((g) => groupAlive(g.pgid)); i++) await sleep(100);
  const undone: string[] = [];
  const recorded = [...(dead?.mounts ?? [])].reverse();
  for (const target of recorded) {
    for (const m of mountsUnder(await mountTable(), target)) {
      await undoMount(m);
      undone.push(m);
    }
  }
  const who = dead === undefined ? 'a run that died while starting' : `run ${dead.pid} (${dead.command}), which died`;
  return `took over build_dir ${dir} from ${who}` + (stopped.length > 0 ? `; stopped ${stopped.join(', ')}` : '') + (undone.length > 0 ? `; unmounted ${undone.join(', ')}` : '; it left no mounts');
}

function killGroup(pgid: number): boolean {
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

function writeAll(): void {
  for (const h of held.values()) {
    h.record.mounts = [...mounts];
    h.record.groups = [...groups];
    const tmp = `${h.file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(h.record));
      renameSync(tmp, h.file);
    } catch {
      // A build directory removed under the run: nothing left to record in.
    }
  }
}

/** Releases every held build directory: the run file goes, and so do the empty directories this run made. */
export function releaseAll(): void {
  if (held.size === 0) return;
  // Normally everything is unmounted by now; on a forced exit this is what makes the rmdirs possible.
  releaseAllSync();
  // Innermost first: an overlay's folder held inside build_dir must be gone (run file and all) before build_dir's turn.
  for (const h of [...held.values()].sort((a, b) => b.dir.length - a.dir.length)) {
    try {
      unlinkSync(h.file);
    } catch {
      // already gone
    }
    const before = new Set(h.record.before);
    for (const d of [...dirsUnder(h.dir)].filter((d) => !before.has(d)).sort((a, b) => b.length - a.length)) tryRmdir(d);
    const top = h.record.createdTop;
    if (top !== undefined) {
      for (let d = h.dir; d.length >= top.length && tryRmdir(d); d = d.slice(0, d.lastIndexOf('/')));
    }
  }
  held.clear();
  holding.clear();
}

function tryRmdir(d: string): boolean {
  try {
    rmdirSync(d);
    return true;
  } catch {
    return false;
  }
}

// Directories under `dir`, a few levels deep, on its own file system: the run's mount points and
// staging folders. A directory holding anything but directories (a tree, a stage's markers) is
// content, not scaffolding, and is never walked into, so no empty directory inside a tree is touched.
function dirsUnder(dir: string, depth = 4): Set<string> {
  const out = new Set<string>();
  const dev = statSync(dir, { throwIfNoEntry: false })?.dev;
  const walk = (d: string, left: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true }).filter((e) => !(d === dir && e.name.startsWith(RUN_FILE)));
    } catch {
      return;
    }
    if (entries.length > 64 || entries.some((e) => !e.isDirectory())) return;
    for (const e of entries) {
      const p = join(d, e.name);
      if (lstatSync(p, { throwIfNoEntry: false })?.dev !== dev) continue;
      out.add(p);
      if (left > 1) walk(p, left - 1);
    }
  };
  walk(dir, depth);
  return out;
}
