// One JSON object per line on stdout, for CI tools (`imgplay --json`).
import type { Reporter, RunEvent } from './events.js';

/** Writes each event as one line of JSON. */
export class JsonLinesReporter implements Reporter {
  constructor(private readonly write: (text: string) => void) {}
  emit(event: RunEvent): void {
    this.write(JSON.stringify({ ...event, time: new Date().toISOString() }) + '\n');
  }
}
