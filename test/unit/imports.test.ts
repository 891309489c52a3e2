// The import rules of src/ (.dependency-cruiser.cjs, docs/contributing.md "Layers"), checked on every `npm test`.
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { beforeAll, describe, expect, it } from 'vitest';

let result: ICruiseResult;
let comments: Map<string, string>;

beforeAll(async () => {
  const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
  comments = new Map((options.ruleSet?.forbidden ?? []).map((rule) => [rule.name ?? '', rule.comment ?? '']));
  const cruised = await cruise(['src'], options, undefined, { tsConfig: extractTSConfig('tsconfig.json') });
  result = cruised.output as ICruiseResult;
}, 120_000);

// One line per broken rule, naming the import and the rule, so the failure says what to move.
function describeViolation(v: IViolation): string {
  const cycle = v.cycle?.length ? ` (round ${[v.from, ...v.cycle.map((step) => step.name)].join(' -> ')})` : '';
  return `${v.from} -> ${v.to}${cycle} breaks ${v.rule.name}: ${comments.get(v.rule.name) ?? ''}`;
}

describe('the imports of src/', () => {
  it('go down the layers only and never round a cycle', () => {
    const broken = result.summary.violations.map(describeViolation);
    expect(broken, `import rules broken:\n${broken.join('\n')}`).toEqual([]);
  });

  it('were all read: every file of src/ was cruised', () => {
    expect(result.summary.totalCruised).toBeGreaterThan(150);
    expect(result.modules.some((m) => m.source === 'src/cli.ts')).toBe(true);
  });
});
