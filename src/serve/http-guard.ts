// What the boot server does with requests it cannot take at their word: targets that do not parse,
// %-escapes that do not decode, bodies it will not read, and connections the HTTP parser gave up on.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** A refusal: the status, and the message that is the response body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** `text` with every byte outside printable ASCII %-escaped: safe in a log line or a plain-text answer. */
export function printable(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
}

/** The path and query of a request target (origin form, or absolute form as RFC 9112 asks); HttpError 400 for anything else. */
export function requestTarget(raw: string): URL {
  let url: URL | undefined;
  try {
    // Behind a fixed origin, '//host/x' stays a path instead of naming a host.
    if (raw.startsWith('/')) url = new URL(`http://target${raw}`);
    else if (/^https?:\/\//i.test(raw)) url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined) throw new HttpError(400, `${printable(raw)} is not a path this server answers`);
  // The URL parser lets a stray '%' through; every route refuses it alike, before anything decodes it.
  if (/%(?![0-9A-Fa-f]{2})/.test(url.pathname + url.search)) throw new HttpError(400, `${printable(raw)}: a '%' not followed by two hex digits`);
  return url;
}

/** One %-decoded path segment; HttpError 400 when its escapes are not UTF-8. */
export function decodeSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, `${printable(text)}: its %-escapes are not UTF-8`);
  }
}

/**
 * Once an answer is out before its request's body was read (a refused upload), reads and drops the rest
 * for up to `ms`, then closes the connection: the client gets to read the answer instead of a reset,
 * and the rest of its body is never taken for a next request.
 */
export function drainAfterAnswer(req: IncomingMessage, res: ServerResponse, socket: Socket, ms: number): void {
  res.once('finish', () => {
    if (req.complete || socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    req.removeAllListeners('data');
    req.resume();
  });
}

function clientErrorStatus(code: string | undefined): number | undefined {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  if (code?.startsWith('HPE_')) return 400;
  // A reset or a broken pipe: nobody is left to answer.
  return undefined;
}

/**
 * Answers a connection the HTTP parser gave up on (bytes that are not HTTP, headers too large, a request
 * too slow) and closes it. Nothing is written when an answer is already under way on it (`answering`).
 * Returns the status sent, if any.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket, answering: boolean): number | undefined {
  // Late errors of a socket being torn down are not news.
  socket.on('error', () => undefined);
  const status = clientErrorStatus(err.code);
  if (status === undefined || answering || !socket.writable) {
    socket.destroy();
    return undefined;
  }
  const body = `${STATUS_CODES[status]}: ${err.code}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  // A peer that never reads nor closes does not get to keep the socket.
  setTimeout(() => socket.destroy(), 1_000).unref();
  return status;
}
