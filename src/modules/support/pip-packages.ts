// The package names of a pip task as Ansible's pip module reads them: names and version specifiers
// written as separate list items joined back, then each parsed by setuptools' pkg_resources in the
// target (the module needs it there anyway), so requirement text and version matching are pip's own.
import type { Connection } from '../../connection/types.js';

/** One package of the task: the text handed to pip, and whether the installed list satisfies it. */
export interface PipPackage {
  text: string;
  present: boolean;
}

export type PipPackages = PipPackage[];

const SPECIFIER_START = ['>=', '<=', '>', '<', '==', '!=', '~='];

/** Rebuilds package names from a list whose items may be bare version specifiers (`['foo>1', '<2']` is `foo>1,<2`). */
export function recoverPackageNames(names: readonly string[]): string[] {
  const parts = names.flatMap((n) => n.split(','));
  const out: string[] = [];
  let current: string[] = [];
  let inBrackets = false;
  for (const part of parts) {
    const isName = !SPECIFIER_START.some((op) => part.trimStart().startsWith(op));
    if (isName && !inBrackets) {
      if (current.length > 0) out.push(current.join(','));
      current = [];
    }
    if (part.includes('[')) inBrackets = true;
    if (inBrackets && part.includes(']')) inBrackets = false;
    current.push(part);
  }
  out.push(current.join(','));
  return out;
}

// Reads {names, version, installed} on stdin; prints {packages: [{text, present}]} or {error}.
const DESCRIBE = String.raw`
import json, re, sys
from pkg_resources import Requirement
req = json.load(sys.stdin)
canon = lambda n: re.sub(r'[-_.]+', '-', n).lower()
def parse(text):
    try:
        r = Requirement.parse(text)
        return {'req': r, 'name': canon(r.project_name), 'text': str(r)}
    except ValueError:
        return {'req': None, 'name': text, 'text': text}
pkgs = [parse(n) for n in req['names']]
version = req['version']
if version is not None:
    if len(pkgs) > 1:
        print(json.dumps({'error': "'version' argument is ambiguous when installing multiple package distributions. Please specify version restrictions next to each package in 'name' argument."}))
        sys.exit(0)
    if pkgs[0]['req'] is not None and pkgs[0]['req'].specs:
        print(json.dumps({'error': "The 'version' argument conflicts with any version specifier provided along with a package name. Please keep the version specifier, but remove the 'version' argument."}))
        sys.exit(0)
    v = version.lstrip()
    pkgs[0] = parse(('==' if v[:1].isdigit() else ' ').join((pkgs[0]['text'], v)))
def present(p):
    for line in req['installed'] or []:
        if '==' not in line:
            continue
        name, ver = line.split('==', 1)
        if canon(name) == p['name'] and p['req'] is not None and p['req'].specifier.contains(ver, prereleases=True):
            return True
    return False
print(json.dumps({'packages': [{'text': p['text'], 'present': present(p)} for p in pkgs]}))
`;

/** The packages as pip gets them, and (given the installed `name==version` lines) which are present; a string is Ansible's failure message. */
export async function describePackages(conn: Connection, python: string, names: readonly string[], version: string | undefined, signal: AbortSignal, installed?: readonly string[]): Promise<PipPackages | string> {
  const r = await conn.exec([python, '-c', DESCRIBE], { stdin: JSON.stringify({ names, version: version ?? null, installed: installed ?? null }), signal });
  if (r.rc !== 0) return `imgplay could not read the package names with the target's pkg_resources: ${r.stderr.trim()}`;
  const parsed = JSON.parse(r.stdout) as { packages?: PipPackages; error?: string };
  return parsed.error ?? parsed.packages ?? [];
}
