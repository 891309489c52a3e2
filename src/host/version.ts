// imgplay's own package.json, read in one place: its version is what `imgplay --version`, the
// `imgplay_version` variable and every manifest entry say.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The path of imgplay's package.json: two levels above this file, from src/host/ under tsx and from dist/host/. */
export const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

interface PackageJson {
  name?: unknown;
  version?: unknown;
  dependencies?: Record<string, string>;
}

let pkg: PackageJson | undefined;

// imgplay's package.json, read once for everything below.
function packageJson(): PackageJson {
  pkg ??= JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as PackageJson;
  return pkg;
}

/** imgplay's version, from its package.json (read once). */
export function imgplayVersion(): string {
  const { name, version } = packageJson();
  // A package.json of something else at that place means the build's layout changed: a bug, said plainly.
  if (name !== 'imgplay' || typeof version !== 'string') throw new Error(`internal error: ${PACKAGE_JSON} is not imgplay's package.json`);
  return version;
}

/** What of imgplay's package a build can depend on besides its own code: its name, version and the installed
 *  version of each runtime dependency (read from node_modules, beside imgplay or hoisted above it). npm
 *  scripts and dev dependencies are left out: changing them changes no build. */
export function runtimeIdentity(): Record<string, unknown> {
  const root = dirname(PACKAGE_JSON);
  const installed: Record<string, string> = {};
  for (const dep of Object.keys(packageJson().dependencies ?? {}).sort()) {
    installed[dep] = 'not found';
    for (const dir of [join(root, 'node_modules', dep), join(root, '..', dep), join(root, '..', '..', dep)]) {
      try {
        const v = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown }).version;
        if (typeof v === 'string') {
          installed[dep] = v;
          break;
        }
      } catch {
        // not installed at this place: try the next one up
      }
    }
  }
  return { name: 'imgplay', version: imgplayVersion(), dependencies: installed };
}
