// The terminal view: a listr2 task per play whose title follows the running task and whose output
// shows the latest result lines; failures and the PLAY RECAP are printed in full when it ends.
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { Reporter, RunEvent } from './events.js';
import { onToolOutput } from '../host/activity.js';
import { PlainReporter, pyStr } from './plain.js';

type Wrapper = ListrTaskWrapper<unknown, never, never>;

/** Shows progress with listr2 on a TTY; keeps Ansible's text for failures and the recap. */
export class ListrReporter implements Reporter {
  private task: Wrapper | undefined;
  private play = '';
  private current = '';
  private readonly lines: string[] = [];
  private readonly failures: string[] = [];
  private recap: RunEvent | undefined;
  private readonly plain: PlainReporter;
  private taskStarted = 0;
  private interrupted = false;
  private lastTool = '';

  constructor(private readonly opts: { write: (text: string) => void; verbosity: number; diff: boolean }) {
    // Failures and the recap are rendered as Ansible's text, captured into `failures`.
    this.plain = new PlainReporter({ write: (t) => this.failures.push(t), verbosity: opts.verbosity, color: true, diff: false });
  }

  /** Runs `body` inside a listr2 task so the view is live while the playbook runs. */
  async wrap<T>(title: string, body: () => Promise<T>): Promise<T> {
    let result: T | undefined;
    // The running task's title counts its seconds; long tools' latest output line shows beneath it.
    const ticker = setInterval(() => this.retitle(), 1000);
    ticker.unref();
    onToolOutput((tool, line) => {
      const text = `${tool}: ${line}`;
      if (text === this.lastTool || !this.task) return;
      this.lastTool = text;
      this.task.output = text;
    });
    const listr = new Listr(
      [
        {
          title,
          task: async (_ctx, task) => {
            this.task = task as unknown as Wrapper;
            result = await body();
            // The summary comes from the recap itself, so the two can never disagree.
            const hosts = this.recap?.type === 'recap' ? this.recap.hosts : [];
            const sum = (k: 'ok' | 'changed' | 'failed' | 'unreachable' | 'skipped') => hosts.reduce((n, h) => n + h[k], 0);
            task.title = `${title}: ok=${sum('ok')} changed=${sum('changed')} failed=${sum('failed') + sum('unreachable')} skipped=${sum('skipped')}${this.interrupted ? ' (interrupted)' : ''}`;
            if (sum('failed') + sum('unreachable') > 0 || this.interrupted) throw new Error(task.title);
          },
          rendererOptions: { bottomBar: 6, persistentOutput: false },
        },
      ],
      // listr2's own SIGINT handler would exit 127 at once, before the run stops its tools and undoes its
      // mounts: imgplay's handler (cli.ts) interrupts the run instead, and the view ends with it.
      { exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseErrors: true, showErrorMessage: false } },
    );
    try {
      await listr.run();
    } finally {
      clearInterval(ticker);
      onToolOutput(undefined);
    }
    this.task = undefined;
    for (const f of this.failures) this.opts.write(f);
    if (this.recap) new PlainReporter({ write: this.opts.write, verbosity: 0, color: true, diff: false }).emit(this.recap);
    return result as T;
  }

  private show(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 6) this.lines.shift();
    if (this.task) {
      this.retitle();
      this.task.output = line;
    }
  }

  // `PLAY [p] TASK [t] 42s`: the seconds tell a long step from a stuck one.
  private retitle(): void {
    if (!this.task || !this.current) return;
    this.task.title = `PLAY [${this.play}] ${this.current} ${formatElapsed(Date.now() - this.taskStarted)}`;
  }

  emit(ev: RunEvent): void {
    switch (ev.type) {
      case 'play_start':
        this.play = ev.name;
        this.show(`PLAY [${ev.name}]`);
        break;
      case 'task_start':
        this.current = `${ev.handler ? 'HANDLER' : 'TASK'} [${ev.name}]`;
        this.taskStarted = Date.now();
        this.lastTool = '';
        this.show(this.current);
        break;
      case 'task_result': {
        if (ev.loop && ev.status !== 'failed') break;
        const item = ev.item ? ` (item=${pyStr(ev.item.label)})` : '';
        this.show(`${ev.status}: [${ev.host}]${item} ${(ev.durationMs / 1000).toFixed(1)}s`);
        if (ev.status === 'failed' || ev.status === 'unreachable') {
          this.failures.push(`\n${this.current}\n`);
          this.plain.emit(ev);
        }
        break;
      }
      case 'retry':
        this.show(`retrying: [${ev.host}] ${ev.task} (${ev.retriesLeft} retries left)`);
        break;
      case 'display':
      case 'warning':
      case 'stage':
        this.plain.emit(ev);
        break;
      case 'error':
        if (ev.message === 'User interrupted execution') this.interrupted = true;
        this.plain.emit(ev);
        break;
      case 'recap':
        this.recap = ev;
        break;
      default:
        break;
    }
  }
}

/** `7s`, `2m05s`, `1h02m`: a task's elapsed time as the live view shows it. */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
