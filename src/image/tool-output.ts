// How a failed tool's own words are shown under an error message: its last lines, indented.

/** The last `n` lines of a tool's output, each indented two spaces, for the end of an error message. */
export function indentedTail(text: string, n = 15): string {
  return text
    .trim()
    .split('\n')
    .slice(-n)
    .map((l) => `  ${l}`)
    .join('\n');
}
