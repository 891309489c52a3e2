import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PACKAGE_JSON, imgplayVersion } from '../../../src/host/version.js';

describe("imgplay's version", () => {
  it("is read from the repository's package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(PACKAGE_JSON).toBe(new URL('../../../package.json', import.meta.url).pathname);
    expect(imgplayVersion()).toBe(pkg.version);
  });
});
