// Where the time went, for plain output (CI logs): after each task banner the line Ansible's profile_tasks
// callback prints (the time, the previous task's duration, the run's), and at the end the slowest tasks and
// each stage (the playbook file a play comes from: basefs.yml, initrd.yml, overlays.yml in all.yml).
import { relative, dirname } from 'node:path';
import type { RunEvent } from './events.js';

interface Stage {
  file: string;
  plays: string[];
  ms: number;
  tasks: number;
  changed: number;
  failed: number;
}

/** Collects task and stage durations from the run's events and formats them. */
export class Timings {
  private readonly started: number;
  private last: number;
  private current: { id: string; since: number } | undefined;
  private readonly tasks = new Map<string, { name: string; ms: number }>();
  private readonly stages: Stage[] = [];
  private stageSince = 0;
  private root = '';
  /** What the stage cache did with each stage, in the order it said so (the last word per stage wins). */
  private readonly cache = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {
    this.started = this.last = now();
  }

  /** Notes an event; returns the profile line to print after a task banner, if it is one. */
  note(ev: RunEvent): string | undefined {
    switch (ev.type) {
      case 'playbook_start':
        this.root = dirname(ev.file);
        return undefined;
      case 'play_start': {
        this.closeTask();
        const file = ev.file ? relative(this.root || dirname(ev.file), ev.file) || ev.file : '';
        const open = this.stages.at(-1);
        if (open && open.file === file) open.plays.push(ev.name);
        else {
          this.closeStage();
          this.stages.push({ file, plays: [ev.name], ms: 0, tasks: 0, changed: 0, failed: 0 });
          this.stageSince = this.now();
        }
        return undefined;
      }
      case 'task_start': {
        this.closeTask();
        this.current = { id: String(ev.id), since: this.now() };
        if (!this.tasks.has(this.current.id)) this.tasks.set(this.current.id, { name: ev.name, ms: 0 });
        const stage = this.stages.at(-1);
        if (stage) stage.tasks++;
        return this.line();
      }
      case 'stage': {
        const said =
          ev.status === 'cached'
            ? `cached${ev.seconds !== undefined ? ` (${ev.seconds.toFixed(1)} s of building saved)` : ''}`
            : ev.status === 'built'
              ? `built in ${(ev.seconds ?? 0).toFixed(1)} s, ${ev.reason !== undefined ? `not kept (${ev.reason})` : 'kept'}`
              : ev.status === 'build'
                ? 'building'
                : ev.status === 'limited'
                  ? 'not built (--limit)'
                  : `built, not kept: ${ev.reason ?? ''}`;
        if (!(ev.status === 'build' && this.cache.has(ev.stage))) this.cache.set(ev.stage, said);
        return undefined;
      }
      case 'task_result': {
        const stage = this.stages.at(-1);
        if (stage && !ev.item) {
          if (ev.status === 'changed') stage.changed++;
          if (ev.status === 'failed' && !ev.ignored) stage.failed++;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** The closing text: the profile line, the slowest tasks (at most `limit`), then one line per stage. */
  summary(columns = 80, limit = 20): string {
    this.closeTask();
    this.closeStage();
    const out = [this.line(), `${'='.repeat(79)} `];
    const width = Math.max(20, columns - 9);
    const row = (name: string, ms: number) => `${`${name} `.padEnd(width, '-')}${` ${(ms / 1000).toFixed(2)}s`.padStart(9, '-')}`;
    for (const t of [...this.tasks.values()].sort((a, b) => b.ms - a.ms).slice(0, limit)) out.push(row(t.name, t.ms));
    if (this.stages.length > 0) {
      out.push('', `STAGES ${'*'.repeat(72)}`);
      for (const s of this.stages) {
        const what = `${s.file || s.plays[0]} (${s.plays.length} ${s.plays.length === 1 ? 'play' : 'plays'}, ${s.tasks} tasks, ${s.changed} changed, ${s.failed} failed)`;
        out.push(row(what, s.ms));
      }
      out.push(row('total', this.now() - this.started));
    }
    if (this.cache.size > 0) {
      out.push('', `STAGE CACHE ${'*'.repeat(67)}`);
      const w = Math.max(...[...this.cache.keys()].map((k) => k.length));
      for (const [stage, said] of this.cache) out.push(`${stage.padEnd(w)}  ${said}`);
    }
    return `${out.join('\n')}\n`;
  }

  private closeTask(): void {
    if (!this.current) return;
    const t = this.tasks.get(this.current.id);
    if (t) t.ms += this.now() - this.current.since;
    this.current = undefined;
  }

  private closeStage(): void {
    const s = this.stages.at(-1);
    if (s && this.stageSince > 0) s.ms += this.now() - this.stageSince;
    this.stageSince = 0;
  }

  // `Saturday 05 December 2026  19:36:35 +0000 (0:00:01.234)       0:00:05.678 ****`
  private line(): string {
    const now = this.now();
    const text = `${stamp(new Date(now))} (${clock(now - this.last)})${' '.repeat(7)}${clock(now - this.started)}`;
    this.last = now;
    return `${text} ${'*'.repeat(Math.max(3, 79 - text.length - 1))} `;
  }
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const two = (n: number) => String(n).padStart(2, '0');

// strftime('%A %d %B %Y  %H:%M:%S %z') in local time.
function stamp(d: Date): string {
  const off = -d.getTimezoneOffset();
  const z = `${off >= 0 ? '+' : '-'}${two(Math.floor(Math.abs(off) / 60))}${two(Math.abs(off) % 60)}`;
  return `${DAYS[d.getDay()]} ${two(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()}  ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${z}`;
}

// H:MM:SS.mmm
function clock(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  return `${Math.floor(t / 3_600_000)}:${two(Math.floor(t / 60_000) % 60)}:${two(Math.floor(t / 1000) % 60)}.${String(t % 1000).padStart(3, '0')}`;
}
