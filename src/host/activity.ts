// What long tools are printing right now (mmdebstrap, apt, mksquashfs, mkinitramfs, cpio), for the live view's
// bottom line. Nothing listens in plain or JSON output, and then nothing is read or polled.

type Listener = (tool: string, line: string) => void;

let listener: Listener | undefined;

/** Sends each tool's latest output line to `fn` (the live view), or stops when `fn` is undefined. */
export function onToolOutput(fn: Listener | undefined): void {
  listener = fn;
}

/** True while something shows tool output (so callers may skip the work of reading it). */
export function toolOutputWanted(): boolean {
  return listener !== undefined;
}

/** Reports the last complete-looking line of `text` (a chunk of output) as the tool's latest words. */
export function toolOutput(tool: string, text: string): void {
  if (!listener) return;
  const line = lastLine(text);
  if (line) listener(tool, line);
}

/** The last non-blank line of a chunk (progress bars redraw with \r), without escape sequences, at most 200 characters. */
export function lastLine(text: string): string | undefined {
  const lines = text.split(/[\r\n]+/);
  for (let i = lines.length - 1; i >= 0; i--) {
    // eslint-disable-next-line no-control-regex
    const clean = lines[i]!.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
    if (clean) return clean.length > 200 ? `${clean.slice(0, 199)}…` : clean;
  }
  return undefined;
}
