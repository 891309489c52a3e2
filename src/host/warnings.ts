// Warnings raised deep inside templating (a lookup's file not found, errors='warn') reach the run's reporter
// through the task that is running: Ansible runs each host's task in its own worker, so such a warning shows
// once per task and host. The run itself is the sink outside a task (play keywords, vars files).
import { AsyncLocalStorage } from 'node:async_hooks';

/** 'task': once per task and host (Ansible's worker); 'run': once per run (Ansible's main process). */
export type WarningScope = 'task' | 'run';

type Sink = (message: string, scope: WarningScope) => void;

const current = new AsyncLocalStorage<Sink>();

/** Runs fn with its warnings going to sink (the running task's). */
export function warningsTo<T>(sink: Sink, fn: () => T): T {
  return current.run(sink, fn);
}

/** Shows a warning of Ansible's, through the running task when there is one. */
export function warn(message: string, scope: WarningScope = 'task'): void {
  current.getStore()?.(message, scope);
}
