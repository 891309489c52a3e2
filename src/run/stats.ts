// Per-host counters for the PLAY RECAP, counted by Ansible's rules.
import type { Counter } from '../report/events.js';

/** The PLAY RECAP counters of every host something was counted for (Ansible leaves out a host with none). */
export class Stats {
  private readonly hosts = new Map<string, Record<Counter, number>>();

  /** Adds one to a host's counter. */
  increment(host: string, counter: Counter): void {
    this.of(host)[counter]++;
  }

  /** Names a host in the recap with nothing counted (one at work when the run was interrupted). */
  touch(host: string): void {
    this.of(host);
  }

  /** The counters of one host. */
  of(host: string): Record<Counter, number> {
    let c = this.hosts.get(host);
    if (!c) {
      c = { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };
      this.hosts.set(host, c);
    }
    return c;
  }

  /** Hosts sorted by name, as Ansible prints them. */
  summary(): Array<{ host: string } & Record<Counter, number>> {
    return [...this.hosts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([host, c]) => ({ host, ...c }));
  }
}
