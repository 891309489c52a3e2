// How long, how many and how much the boot server grants a client, with the reasons for each default.
// Every client on a boot network is trusted with nothing: these bound what one can hold.

/** What a boot server grants its clients. Times are in milliseconds. */
export interface ServeLimits {
  /** Connections open at once; more are accepted and closed at once. */
  maxConnections: number;
  /** Time to send the request headers, from the connection or the end of the previous request. */
  headersTimeout: number;
  /** Time to send a whole request, body included: bounds catalog uploads, never downloads. */
  requestTimeout: number;
  /** Time a connection with a request in progress may go without a byte moving either way. */
  idleTimeout: number;
  /** Time an idle keep-alive connection is kept open for a next request. */
  keepAliveTimeout: number;
  /** Time the rest of a refused request body is read and dropped before the connection is closed. */
  lingerTimeout: number;
  /** Bytes of catalog bodies held in memory at once (until parsed and stored); at least one catalog's limit. */
  uploadMemory: number;
}

export const SERVE_LIMITS: Readonly<ServeLimits> = Object.freeze({
  // A rack booting at once holds one or two connections per machine, far below this; a flood of
  // stalled downloads (1.5 MiB of buffers each, see static.ts) holds at most 768 MiB until idleTimeout.
  maxConnections: 512,
  // Boot clients send their headers in one packet; 20 s outlasts four TCP retransmissions (1+2+4+8 s).
  headersTimeout: 20_000,
  // Only uploads have a body: a 16 MiB catalog at 56 kB/s still makes it. Node stops this clock
  // once the request is in, so a slow download of a 75 MB base is never cut by it.
  requestTimeout: 300_000,
  // nginx's send_timeout and client_body_timeout: a download that moves at all is never cut; one whose
  // client stopped reading (and whose buffers it holds) is.
  idleTimeout: 60_000,
  // iPXE fetches the chain script, the kernel and the initrd back to back; the initrd's wget and the
  // discovery hook's curl open connections of their own. Longer would only hold connections idle.
  keepAliveTimeout: 15_000,
  // Long enough for the client to read the refusal; nginx lingers up to 5 s between reads too.
  lingerTimeout: 5_000,
  // A discovery catalog is a few hundred kB: a whole rack's arrive at once within this. A flood of
  // chunked uploads, each allowed the whole catalog limit, would otherwise hold limit x connections.
  uploadMemory: 256 * 1024 * 1024,
});

/** The limits in force: the defaults, with `given` over them; a RangeError names a value that is not a positive whole number. */
export function resolveLimits(given: Partial<ServeLimits>): ServeLimits {
  const limits = { ...SERVE_LIMITS };
  for (const key of Object.keys(SERVE_LIMITS) as (keyof ServeLimits)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${key} must be a positive whole number, not ${value}`);
    limits[key] = value;
  }
  // Node refuses a headers timeout longer than the request timeout it is part of.
  if (limits.headersTimeout > limits.requestTimeout) throw new RangeError(`headersTimeout (${limits.headersTimeout}) must not be longer than requestTimeout (${limits.requestTimeout})`);
  return limits;
}

/** How often Node looks for requests past their headers or request timeout: often enough to honour them within a quarter. */
export function checkingInterval(limits: ServeLimits): number {
  return Math.max(10, Math.min(5_000, Math.floor(limits.headersTimeout / 4)));
}

/**
 * Requests a client may send ahead on one connection before the answers to earlier ones are out. Boot
 * clients never pipeline; a client that does has its requests answered one at a time, and past this
 * many waiting loses the connection: 2000 pipelined downloads in one packet would otherwise each
 * start reading their file into memory at once.
 */
export const PIPELINE_DEPTH = 16;
