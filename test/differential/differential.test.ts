// Every corpus playbook must leave the same tree and PLAY RECAP under imgplay as under ansible-playbook, run after run.
// DIFF_ONLY=ansible (or imgplay) pits a tool against itself, which checks that a case is deterministic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareRuns,
  describeRun,
  imgplayProblem,
  limiter,
  listCases,
  runCase,
  type RunResult,
  type Tool,
} from './harness.js';
import { openOracleCache, type OracleCache } from './oracle-cache.js';

function toolsUnderTest(only: string | undefined): [Tool, Tool] {
  if (only === undefined || only === '') return ['ansible', 'imgplay'];
  if (only === 'ansible' || only === 'imgplay') return [only, only];
  throw new Error(`DIFF_ONLY must be 'ansible' or 'imgplay', not '${only}'`);
}

const tools = toolsUnderTest(process.env.DIFF_ONLY);
const cases = await listCases();
const slot = limiter(2);
const outcomes = new Map<string, Promise<[RunResult[], RunResult[]]>>();
let setupProblem: string | undefined;
let oracle: OracleCache | undefined;

beforeAll(async () => {
  if (tools.includes('imgplay')) setupProblem = await imgplayProblem();
  if (setupProblem) return;
  // Ansible against itself checks determinism, which a stored run would hide: the cache serves only ansible vs imgplay.
  if (tools[0] === 'ansible' && tools[1] === 'imgplay') oracle = await openOracleCache();
  const oracleRuns = (spec: (typeof cases)[number]): Promise<RunResult[]> =>
    oracle ? oracle.runs(spec, () => runCase('ansible', spec)) : runCase(tools[0], spec);
  // Cases start here and run two at a time; each test only awaits its own, so reports stream in as cases finish.
  for (const spec of cases) {
    const outcome = slot(async (): Promise<[RunResult[], RunResult[]]> => [await oracleRuns(spec), await runCase(tools[1], spec)]);
    outcome.catch(() => undefined);
    outcomes.set(spec.name, outcome);
  }
});

afterAll(() => {
  if (oracle) console.log(oracle.summary());
});

describe(`differential corpus (${tools[0]} vs ${tools[1]})`, () => {
  it('holds at least 40 cases', () => {
    if (process.env.CASES) return;
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const spec of cases) {
    it(`${spec.name} ends alike under both tools`, async () => {
      if (setupProblem) throw new Error(setupProblem);
      const outcome = outcomes.get(spec.name);
      if (!outcome) throw new Error(`${spec.name} was never started`);
      const [left, right] = await outcome;
      const problems: string[] = [];
      const shown = new Set<RunResult>();
      for (let i = 0; i < spec.runs; i++) {
        const a = left[i];
        const b = right[i];
        if (!a || !b) throw new Error(`${spec.name}: run ${i + 1} is missing`);
        for (const r of [a, b]) {
          if (r.exitCode !== spec.exit) {
            problems.push(`run ${i + 1}: ${r.tool} exited ${r.exitCode}, expected ${spec.exit}`);
            shown.add(r);
          }
        }
        const diffs = compareRuns(a, b, { output: spec.output || process.env.DIFF_OUTPUT === '1' });
        if (diffs.length) {
          problems.push(...diffs.map((d) => `run ${i + 1}: ${d}`));
          shown.add(a).add(b);
        }
      }
      const details = [...shown].map((r) => describeRun(r)).join('\n\n');
      expect(problems, `${spec.name} in ${spec.dir}\n${problems.join('\n')}\n\n${details}`).toEqual([]);
    }, 300_000);
  }
});
