// Line splitting as Python's str.splitlines does it, for the stdout_lines/stderr_lines Ansible returns.

// Every boundary Python's str.splitlines knows, \r\n first so it counts as one.
const BOUNDARY = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** Splits text into lines without their endings; a final line ending does not add an empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(BOUNDARY);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
