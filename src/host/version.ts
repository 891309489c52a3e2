// imgplay's own package.json, read in one place: its version is what `imgplay --version`, the
// `imgplay_version` variable and every manifest entry say.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The path of imgplay's package.json: two levels above this file, from src/host/ under tsx and from dist/host/. */
export const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

let version: string | undefined;

/** imgplay's version, from its package.json (read once). */
export function imgplayVersion(): string {
  if (version === undefined) {
    const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { name?: unknown; version?: unknown };
    // A package.json of something else at that place means the build's layout changed: a bug, said plainly.
    if (pkg.name !== 'imgplay' || typeof pkg.version !== 'string') throw new Error(`internal error: ${PACKAGE_JSON} is not imgplay's package.json`);
    version = pkg.version;
  }
  return version;
}
