// Ansible's default output, line for line: banners padded with stars, per-host result lines and
// the PLAY RECAP, so people and log scrapers used to ansible-playbook read ours the same way.
import type { Reporter, RunEvent, Where } from './events.js';
import { printable } from '../yaml/load.js';
import { pythonJson } from './python-json.js';
import { Timings } from './timings.js';

const COLOR = { ok: '\x1b[0;32m', changed: '\x1b[0;33m', failed: '\x1b[0;31m', skipped: '\x1b[0;36m', unreachable: '\x1b[1;31m', warn: '\x1b[1;35m', deprecate: '\x1b[0;35m', reset: '\x1b[0m' };

/** Options of the text renderer. */
export interface PlainOptions {
  write: (text: string) => void;
  verbosity: number;
  color: boolean;
  diff: boolean;
  /** Adds profile_tasks' timing line after each task banner and the slowest tasks and stages after the recap. */
  timings?: boolean;
  /** Width of the closing timing table (profile_tasks uses the terminal's). */
  columns?: number;
  /** Makes a unified diff (the `diff` package's createTwoFilesPatch), loaded only when --diff is given. */
  patch?: (oldName: string, newName: string, before: string, after: string) => string;
}

/** Writes Ansible's text output. */
export class PlainReporter implements Reporter {
  private readonly timings: Timings | undefined;
  // Ansible's Display shows a warning once per run, however many tasks return it.
  private readonly warned = new Set<string>();
  // Each task's banner (with its -vv and timing lines), and the one printed last: a result of another task
  // (hosts of the free strategy interleave) is shown under its own banner again, as Ansible's default
  // callback does; the same task's results from several hosts share one.
  private readonly banners = new Map<number, { key: string; lines: string[] }>();
  private lastBanner: string | undefined;

  constructor(private readonly opts: PlainOptions) {
    this.timings = opts.timings ? new Timings() : undefined;
  }

  private line(text: string, color?: keyof typeof COLOR): void {
    this.opts.write((this.opts.color && color ? `${COLOR[color]}${text}${COLOR.reset}` : text) + '\n');
  }

  private banner(text: string): void {
    const msg = text.trim();
    this.line(`\n${msg} ${'*'.repeat(Math.max(3, 79 - msg.length))}`);
  }

  emit(ev: RunEvent): void {
    const profile = this.timings?.note(ev);
    switch (ev.type) {
      case 'playbook_start':
        // ansible-playbook -vv: its callback's banner, then the executor's count of plays.
        if (this.opts.verbosity > 1) {
          this.banner(`PLAYBOOK: ${ev.file.slice(ev.file.lastIndexOf('/') + 1)}`);
          if (ev.plays !== undefined) this.line(`${ev.plays} plays in ${ev.given ?? ev.file}`);
        }
        break;
      case 'play_start':
        this.banner(`PLAY [${ev.name}]`);
        break;
      case 'no_hosts_matched':
        this.line('skipping: no hosts matched', 'skipped');
        break;
      case 'no_hosts_remaining':
        this.banner('NO MORE HOSTS LEFT');
        break;
      case 'task_start': {
        const title = `${ev.handler ? 'RUNNING HANDLER' : 'TASK'} [${ev.name}]`;
        const lines = [...(this.opts.verbosity >= 2 ? [`task path: ${ev.file}:${ev.line}`] : []), ...(profile ? [profile] : [])];
        this.banners.set(ev.id, { key: `${ev.file}:${ev.line}:${title}`, lines: [title, ...lines] });
        if (!ev.lazy) this.showBanner(ev.id);
        break;
      }
      case 'task_result':
        if (this.banners.get(ev.taskId)?.key !== this.lastBanner) this.showBanner(ev.taskId);
        this.result(ev);
        break;
      case 'retry':
        this.line(`FAILED - RETRYING: [${ev.host}]: ${ev.task} (${ev.retriesLeft} retries left).`, 'failed');
        break;
      case 'include':
        this.line(`included: ${ev.file} for ${ev.hosts.join(', ')}${ev.label !== undefined ? ` => (item=${pyStr(ev.label)})` : ''}`, 'skipped');
        break;
      case 'display':
        if (this.opts.verbosity >= ev.verbosity) this.line(ev.message);
        break;
      case 'warning':
        if (ev.deprecation) this.line(`[DEPRECATION WARNING]: ${ev.message} Deprecation warnings can be disabled by setting deprecation_warnings=False in ansible.cfg.`, 'deprecate');
        else this.line(`[WARNING]: ${ev.message}`, 'warn');
        break;
      case 'verbose':
        if (this.opts.verbosity > 0) this.line(`<${ev.host}> ${ev.message}`);
        break;
      case 'error':
        this.line(`ERROR! ${ev.message}`, 'failed');
        break;
      case 'play_reused':
        this.line(`skipping: reused from the stage cache (${ev.hosts.join(', ')})`, 'skipped');
        break;
      case 'stage':
        this.line(stageLine(ev, this.opts.verbosity), ev.status === 'cached' ? 'ok' : ev.status === 'not_stored' || ev.status === 'limited' ? 'warn' : ev.status === 'built' ? 'changed' : undefined);
        break;
      case 'recap':
        this.banner('PLAY RECAP');
        for (const h of ev.hosts) {
          const c = (k: string, n: number) => `${k}=${String(n).padEnd(4)}`;
          this.line(
            `${h.host.padEnd(26)} : ${c('ok', h.ok)} ${c('changed', h.changed)} ${c('unreachable', h.unreachable)} ${c('failed', h.failed)} ${c('skipped', h.skipped)} ${c('rescued', h.rescued)} ${c('ignored', h.ignored)}`,
          );
        }
        this.line('');
        if (this.timings) this.opts.write(this.timings.summary(this.opts.columns));
        break;
      default:
        break;
    }
  }

  private showBanner(id: number): void {
    const b = this.banners.get(id);
    if (!b) return;
    this.lastBanner = b.key;
    const [title, ...rest] = b.lines;
    this.banner(title as string);
    for (const l of rest) this.line(l);
  }

  private result(ev: Extract<RunEvent, { type: 'task_result' }>): void {
    const host = ev.delegatedTo && ev.delegatedTo !== ev.host ? `${ev.host} -> ${ev.delegatedTo}` : ev.host;
    // A module's warnings are printed above its result line and left out of the result shown, as Ansible's callback does.
    if (Array.isArray(ev.result.warnings)) {
      for (const w of ev.result.warnings.map(String)) {
        if (this.warned.has(w)) continue;
        this.warned.add(w);
        this.line(`[WARNING]: ${w}`, 'warn');
      }
    }
    const r = clean(ev.result, ev.action);
    const verbose = this.opts.verbosity > 0 || ev.result._ansible_verbose_always === true;
    const dump = () => pythonJson(strip(r, this.opts.verbosity), verbose && (ev.result._ansible_verbose_always === true || this.opts.verbosity > 2) ? 4 : undefined);
    if (this.opts.diff && ev.result.diff && ev.result.changed) this.showDiff(ev.result.diff);
    const item = ev.item ? ` => (item=${pyStr(ev.item.label)})` : '';
    if (ev.loop && ev.status !== 'skipped') {
      if (ev.status === 'failed' && ev.ignored) this.line('...ignoring', 'skipped');
      return;
    }
    switch (ev.status) {
      case 'ok':
      case 'changed':
        this.line(`${ev.status}: [${host}]${item}${verbose ? ` => ${dump()}` : ''}`, ev.status);
        break;
      case 'skipped':
        this.line(ev.item ? `skipping: [${ev.host}]${item} ${verbose ? ` => ${dump()}` : ''}` : `skipping: [${ev.host}]${verbose ? ` => ${dump()}` : ''}`, 'skipped');
        break;
      case 'failed': {
        const head = ev.item ? `failed: [${host}] (item=${pyStr(ev.item.label)}) =>` : `fatal: [${host}]: FAILED! =>`;
        // An error of the engine, not of a module: a readable block, its message and where the playbook says
        // what failed, as planning errors show it (not a message escaped inside JSON).
        if (ev.where) this.line(`${head} ${engineError(ev.result, ev.where)}`, 'failed');
        else this.line(`${head} ${dump()}`, 'failed');
        if (ev.ignored && !ev.item) this.line('...ignoring', 'skipped');
        break;
      }
      case 'unreachable':
        this.line(`fatal: [${host}]: UNREACHABLE! => ${dump()}`, 'unreachable');
        break;
    }
  }

  // As Ansible's callbacks show a diff: why a side is not shown, the unified diff of before and after (a
  // mapping side as sorted JSON, a missing one as empty), then text the module prepared itself.
  private showDiff(diff: unknown): void {
    let text = '';
    for (const d of Array.isArray(diff) ? diff : [diff]) {
      if (!d || typeof d !== 'object') continue;
      const r = d as Record<string, unknown>;
      if ('dst_binary' in r) text += 'diff skipped: destination file appears to be binary\n';
      if ('src_binary' in r) text += 'diff skipped: source file appears to be binary\n';
      if ('dst_larger' in r) text += `diff skipped: destination file size is greater than ${String(r.dst_larger)}\n`;
      if ('src_larger' in r) text += `diff skipped: source file size is greater than ${String(r.src_larger)}\n`;
      if ('before' in r && 'after' in r && this.opts.patch) {
        const side = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? `${JSON.stringify(sortedKeys(v), null, 4)}\n` : String(v));
        // Ansible names the sides `before: HEADER` and `after: HEADER` when the module gives headers.
        const from = r.before_header === undefined ? 'before' : `before: ${String(r.before_header)}`;
        const to = r.after_header === undefined ? 'after' : `after: ${String(r.after_header)}`;
        const patch = this.opts.patch(from, to, side(r.before), side(r.after));
        text += difflibRanges(patch.replace(/^Index:.*\n/, '').replace(/^=+\n/, '')) + '\n';
      }
      if (typeof r.prepared === 'string') text += r.prepared;
    }
    if (text !== '') this.opts.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

// Python's difflib, which Ansible's diffs come from, leaves out a range's length when it is 1 (`@@ -3 +3,2 @@`).
function difflibRanges(patch: string): string {
  const range = (start: string, length: string) => (length === '1' ? start : `${start},${length}`);
  return patch.replace(/^@@ -(\d+),(\d+) \+(\d+),(\d+) @@/gm, (_m, a: string, b: string, c: string, d: string) => `@@ -${range(a, b)} +${range(c, d)} @@`);
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]));
  return value;
}

// `message\n  hint...\n  at file:line:col\n  excerpt`: every line after the first indented under the result line.
function engineError(result: Record<string, unknown>, where: Where): string {
  // The message quotes the playbook, which may hold escape sequences that would act on the terminal.
  const [first = '', ...rest] = printable(where.message ?? String(result.msg ?? ''), { newlines: true }).split('\n');
  const lines = [...rest, `at ${where.file}:${where.line}:${where.col}`, ...where.excerpt.split('\n')];
  return [first, ...lines.map((l) => `  ${l}`)].join('\n');
}

const DEBUG_ALLOWED = new Set(['msg', 'exception', 'warnings', 'deprecations']);
const HIDE_IN_DEBUG = ['changed', 'failed', 'skipped', 'invocation', 'skip_reason'];

function clean(result: Record<string, unknown>, action: string): Record<string, unknown> {
  if (action !== 'debug') return result;
  const out = { ...result };
  if ('msg' in out) {
    for (const k of Object.keys(out)) if (!DEBUG_ALLOWED.has(k) && !k.startsWith('_')) delete out[k];
  } else for (const k of HIDE_IN_DEBUG) delete out[k];
  return out;
}

function strip(result: Record<string, unknown>, verbosity: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result)) {
    // As TaskResult.clean_copy: callbacks never see failed/skipped, the line itself says it.
    if (k.startsWith('_ansible') || k === 'exception' || k === 'failed' || k === 'skipped' || k === 'warnings') continue;
    if (verbosity < 3 && (k === 'invocation' || k === 'diff')) continue;
    out[k] = v;
  }
  return out;
}

/** Python's str() of a value, as Ansible shows loop item labels. */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  return pyRepr(v);
}

/** Python's repr() of a JSON-like value. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v.includes("'") && !v.includes('"') ? `"${v}"` : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(v as object).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
}

/** One line on the stage cache: `STAGE [base] cached (built ..., 74.3 s saved): base....img`; reasons to build at -v. */
export function stageLine(ev: Extract<RunEvent, { type: 'stage' }>, verbosity: number): string {
  const head = `STAGE [${ev.stage}]`;
  const files = ev.artifacts && ev.artifacts.length > 0 ? `: ${ev.artifacts.join(', ')}` : '';
  switch (ev.status) {
    case 'cached':
      return `${head} cached${ev.seconds !== undefined ? ` (${ev.seconds.toFixed(1)} s of building saved)` : ''}${files}`;
    case 'build':
      return `${head} building${verbosity > 0 && ev.reason ? `: ${ev.reason}` : ''}`;
    case 'built':
      return `${head} built in ${(ev.seconds ?? 0).toFixed(1)} s ${ev.reason !== undefined ? `(${ev.reason}: not kept)` : 'and kept in the cache'}${files}`;
    case 'not_stored':
      return `${head} not kept in the cache: ${ev.reason ?? 'unknown reason'}`;
    case 'limited':
      return `${head} not built: ${ev.reason ?? '--limit leaves it out'}`;
  }
}
