// Tests that need something this machine lacks (root, a tool, a mirror) are skipped on a developer's
// machine, but under CI=true a lack is a failure: `npm test` installs everything there first
// (test/prerequisites.yml), so a skip in CI would hide a missing install step.
import { existsSync } from 'node:fs';
import { it } from 'vitest';

/** A need: whether the machine has it, and what it is (said when it is missing). */
export type Need = readonly [have: boolean, what: string];

/** What of `needs` this machine lacks, as one reason, or undefined when it has them all; a string is a reason found already. */
export function lacking(...needs: (Need | string | undefined)[]): string | undefined {
  const missing = needs.flatMap((n) => (n === undefined ? [] : typeof n === 'string' ? [n] : n[0] ? [] : [n[1]]));
  return missing.length > 0 ? missing.join('; ') : undefined;
}

/** A need met when the file exists (a tool's binary, a ROM). */
export function file(path: string, from: string): Need {
  return [existsSync(path), `${path} (Debian package ${from})`];
}

/** The need of root, which mounts and chroots take. */
export const root: Need = [process.getuid?.() === 0, 'root (mounts and chroot)'];

/**
 * Whether tests that need what `missing` names must be skipped (undefined: nothing is missing). Under
 * CI=true nothing is skipped quietly: a failing test says what is missing and the tests are left out.
 */
export function skipWithout(missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    it(`has what it needs on this CI machine (missing: ${missing})`, () => {
      throw new Error(`missing on a CI machine, where test/prerequisites.yml should have installed it: ${missing}`);
    });
  } else {
    it.skip(`needs ${missing}`, () => undefined);
  }
  return true;
}
