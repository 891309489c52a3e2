// What a run reads (variables, controller files, package archives) and the artifacts it writes, told to one
// listener (the stage cache) together with the inventory host the work was for. Code deep in templating and
// modules reports here without knowing who listens; the executor says for which host it is working.
import { AsyncLocalStorage } from 'node:async_hooks';

/** One thing a stage's output may depend on, or one artifact it produced. */
export type ReadEvent =
  /** A file on the build host read as an input: a task file, a template, a copied file, a vars file, a base image. */
  | { kind: 'file'; path: string }
  /** A variable looked up by a template; `owner` is the scope object that holds it (undefined: not defined). */
  | { kind: 'var'; owner: object | undefined; name: string }
  /** A Debian archive suite packages were installed from. */
  | { kind: 'archive'; uri: string; suite: string; proxy?: string | undefined }
  /** An artifact recorded in a builds folder (its manifest entry). */
  | { kind: 'artifact'; dir: string; entry: { name: string; sha256: string; size: number } };

type Listener = (host: string | undefined, event: ReadEvent) => void;

const working = new AsyncLocalStorage<string>();
let listener: Listener | undefined;

/** Sets (or, with undefined, removes) the one listener of reads. */
export function listenToReads(fn: Listener | undefined): void {
  listener = fn;
}

/** True while someone listens: hot paths (every variable lookup) skip building events otherwise. */
export function readsObserved(): boolean {
  return listener !== undefined;
}

/** Runs `fn` as work for inventory host `host`: reads made inside it, however deep, are that host's. */
export function workingFor<T>(host: string, fn: () => T): T {
  return working.run(host, fn);
}

/** Reports one read (or artifact) to the listener, with the host whose work it was. */
export function noteRead(event: ReadEvent): void {
  if (listener) listener(working.getStore(), event);
}
