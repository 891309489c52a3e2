// What the executor tells the world: a small set of events that every renderer understands.

/** The PLAY RECAP's counters, one set per host (kept by the executor's Stats, printed by every renderer). */
export type Counter = 'ok' | 'changed' | 'unreachable' | 'failed' | 'skipped' | 'rescued' | 'ignored';

export type ResultStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

/** A place in the playbook's sources, with its line and a caret under the column (as planning errors show it). */
export interface Where {
  file: string;
  line: number;
  col: number;
  excerpt: string;
  /** imgplay's readable message, shown instead of the result's msg (which holds Ansible's words for it). */
  message?: string | undefined;
}

export type RunEvent =
  | { type: 'playbook_start'; file: string; /** The playbook as the command line named it, and how many plays it holds (imports counted). */ given?: string | undefined; plays?: number | undefined }
  | { type: 'play_start'; name: string; hosts: string[]; /** The playbook file that holds the play (its stage in all.yml). */ file?: string | undefined }
  | { type: 'no_hosts_matched' }
  | { type: 'no_hosts_remaining' }
  /** `lazy`: under the free strategy the banner shows with the task's first result, as Ansible's default callback does. */
  | { type: 'task_start'; id: number; name: string; handler: boolean; file: string; line: number; lazy?: boolean }
  | {
      type: 'task_result';
      taskId: number;
      task: string;
      action: string;
      host: string;
      /** The target a delegated task ran on. */
      delegatedTo?: string | undefined;
      status: ResultStatus;
      ignored: boolean;
      /** Set for one item of a loop. */
      item?: { label: unknown } | undefined;
      /** True for the summary result of a loop (its items were reported already). */
      loop: boolean;
      result: Record<string, unknown>;
      durationMs: number;
      /** Where in the playbook an error of the engine lies (the argument at fault, else the task), with the line shown. */
      where?: Where | undefined;
    }
  | { type: 'retry'; host: string; task: string; retriesLeft: number; result: Record<string, unknown> }
  | { type: 'include'; file: string; hosts: string[]; label?: unknown }
  /** A line Ansible shows from this verbosity on (`META: ...` at -vv). */
  | { type: 'display'; message: string; verbosity: number }
  | { type: 'warning'; message: string; /** Ansible's [DEPRECATION WARNING] (ANSIBLE_DEPRECATION_WARNINGS=false hides them). */ deprecation?: boolean }
  | { type: 'verbose'; host: string; message: string }
  | { type: 'recap'; hosts: Array<{ host: string } & Record<Counter, number>> }
  | { type: 'error'; message: string }
  /**
   * The stage cache: `cached` (reused: its artifacts and facts put back), `build` (about to be built, with the
   * reason: no earlier build, or the first input that changed), `built` (stored after building), `not_stored`,
   * `limited` (not in the cache, and --limit leaves its hosts out: not built).
   */
  /** Every host of a play sat it out: their stages were put back from the stage cache. */
  | { type: 'play_reused'; hosts: string[] }
  | { type: 'stage'; stage: string; status: 'cached' | 'build' | 'built' | 'not_stored' | 'limited'; reason?: string | undefined; seconds?: number | undefined; artifacts?: string[] | undefined };

/** Anything that renders events (Ansible's text, JSON lines, a listr2 view). */
export interface Reporter {
  emit(event: RunEvent): void;
  close?(): void | Promise<void>;
}

/** Sends every event to several reporters. */
export class Fanout implements Reporter {
  constructor(private readonly reporters: Reporter[]) {}
  emit(event: RunEvent): void {
    for (const r of this.reporters) r.emit(event);
  }
  async close(): Promise<void> {
    for (const r of this.reporters) await r.close?.();
  }
}
