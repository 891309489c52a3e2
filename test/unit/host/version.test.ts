import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PACKAGE_JSON, imgplayVersion, runtimeIdentity } from '../../../src/host/version.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe("imgplay's version", () => {
  it("is read from the repository's package.json", () => {
    expect(PACKAGE_JSON).toBe(new URL('../../../package.json', import.meta.url).pathname);
    expect(imgplayVersion()).toBe(pkg.version);
  });

  it('comes, for the stage cache, with the installed version of each runtime dependency and nothing of the dev ones', () => {
    const id = runtimeIdentity() as { name: string; version: string; dependencies: Record<string, string> };
    expect(id.name).toBe('imgplay');
    expect(id.version).toBe(pkg.version);
    expect(Object.keys(id.dependencies)).toEqual(Object.keys(pkg.dependencies).sort());
    const installed = (dep: string) => (JSON.parse(readFileSync(new URL(`../../../node_modules/${dep}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
    for (const dep of Object.keys(pkg.dependencies)) expect(id.dependencies[dep], dep).toBe(installed(dep));
    expect(Object.keys(id.dependencies)).not.toContain(Object.keys(pkg.devDependencies)[0]);
  });
});
