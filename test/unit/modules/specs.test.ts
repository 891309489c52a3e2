// Every module spec is well formed, and the docs written from the specs are the ones in the repo.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';
import { findModule, moduleSpecs } from '../../../src/modules/index.js';
import { namesOf } from '../../../src/modules/spec.js';
import { regenerateModulesDoc } from '../../../src/modules/spec-doc.js';

const specs = moduleSpecs();

describe('the module specs', () => {
  it('are there', () => {
    expect(specs.map((s) => s.name)).toContain('command');
  });

  for (const spec of specs) {
    describe(spec.name, () => {
      it('describes every argument a user can give', () => {
        const bare = Object.entries(spec.args).filter(([, a]) => !a.internal && a.description.trim() === '');
        expect(bare.map(([n]) => n)).toEqual([]);
      });

      it('has no required argument with a default, and every default among its choices', () => {
        for (const [name, a] of Object.entries(spec.args)) {
          expect(a.required === true && a.default !== undefined, `${name}: required and default`).toBe(false);
          if (a.choices && a.default !== undefined && a.type !== 'list') expect(a.choices, `${name}: default outside its choices`).toContain(a.default);
        }
      });

      it('gives each argument name and alias to one argument only', () => {
        const names = Object.entries(spec.args).flatMap(([n, a]) => [n, ...(a.aliases ?? [])]);
        expect(names.length).toBe(new Set(names).size);
      });

      it('names only its own arguments in its rules', () => {
        const rules = [...(spec.mutuallyExclusive ?? []), ...(spec.requiredTogether ?? []), ...(spec.requiredOneOf ?? [])].flat();
        for (const [k, , r] of spec.requiredIf ?? []) rules.push(k, ...r);
        for (const [k, r] of Object.entries(spec.requiredBy ?? {})) rules.push(k, ...r);
        if (spec.freeForm) rules.push(spec.freeForm);
        expect(rules.filter((k) => !(k in spec.args))).toEqual([]);
      });

      it('is found by every name it answers to', () => {
        for (const n of [spec.name, ...namesOf(spec)]) expect(findModule(n)?.name).toBe(spec.name);
      });

      it('prints its documentation with imgplay doc', async () => {
        let out = '';
        const code = await main(['node', 'imgplay', 'doc', namesOf(spec)[0]!], { stdout: (s) => void (out += s), stderr: () => {} });
        expect(code).toBe(0);
        expect(out).toContain(`> ${namesOf(spec)[0]!.toUpperCase()}`);
      });
    });
  }
});

describe('docs/modules.md', () => {
  it('holds what the specs generate (run npm run docs after changing a spec)', () => {
    const current = readFileSync(new URL('../../../docs/modules.md', import.meta.url), 'utf8');
    expect(regenerateModulesDoc(current, specs)).toBe(current);
  });
});
