import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debconf, parseShow } from '../../../src/modules/debconf.js';
import type { Module } from '../../../src/modules/types.js';
import { minbaseCopy, minbaseUnavailable } from '../../support/minbase.js';
import { type Case, cases } from '../../support/module-cases.js';
import { skipWithout } from '../../support/needs.js';

const unavailable = await minbaseUnavailable();
const skipChroot = skipWithout(unavailable);

// Rows share one chroot's debconf database, so each row's question carries its sandbox's name ({root}):
// the second run sees the first run's answer, the check-mode run a question nobody has answered yet.
// vars.preseed (lines for debconf-set-selections, with {q} for the question) is set once per sandbox
// before the module runs, standing in for an answer a package or an earlier task left.
const preseeded = new Set<string>();
const withPreseed: Module<Record<string, unknown>> = {
  ...(debconf as unknown as Module<Record<string, unknown>>),
  async run(ctx) {
    const { preseed, root } = ctx.vars as { preseed?: string; root: string };
    if (preseed !== undefined && !preseeded.has(root)) {
      preseeded.add(root);
      const r = await ctx.conn.exec(['debconf-set-selections'], { stdin: preseed.replaceAll('{q}', `imgtest${root}`) });
      if (r.rc !== 0) throw new Error(`preseeding failed: ${r.stderr}`);
    }
    return debconf.run(ctx as never);
  },
};

const q = 'imgtest{root}';

// Result keys are the per-sandbox question, which the harness does not substitute: match the answer alone.
class OnlyAnswer {
  constructor(readonly value: string) {}
  asymmetricMatch(actual: unknown): boolean {
    if (actual === null || typeof actual !== 'object') return false;
    const entries = Object.entries(actual);
    return entries.length === 1 && entries[0]?.[0].startsWith('imgtest/') === true && entries[0][1] === this.value;
  }
  toString(): string {
    return `{ <question>: ${JSON.stringify(this.value)} }`;
  }
}
const answer = (value: string) => new OnlyAnswer(value);
// The diff's sides are mappings, as Ansible's debconf returns them (its callback shows them as JSON).
const diffOf = answer;
const rows = (list: Case[]): Case[] => list.map((r) => ({ ...r, targets: ['chroot'], vars: { ...r.vars, root: '{root}' } }));

describe.skipIf(skipChroot)('debconf', () => {
  let tree: { root: string; cleanup(): Promise<void> } | undefined;
  beforeAll(async () => {
    tree = await minbaseCopy();
  }, 120_000);
  afterAll(async () => {
    await tree?.cleanup();
  });

  cases(
    withPreseed,
    rows([
      {
        name: 'sets an unanswered select question',
        args: { name: 'imgplay-test', question: q, vtype: 'select', value: 'Europe' },
        changed: true,
        result: { current: answer('Europe'), previous: answer(''), diff: { before: diffOf(''), after: diffOf('Europe') } },
      },
      {
        name: 'takes the aliases pkg, selection and answer',
        args: { pkg: 'imgplay-test', selection: q, vtype: 'string', answer: 'hello world' },
        changed: true,
        result: { current: answer('hello world') },
      },
      {
        name: 'changes an existing different answer',
        args: { name: 'imgplay-test', setting: q, vtype: 'string', value: 'new' },
        vars: { preseed: 'imgplay-test {q} string old\n' },
        changed: true,
        result: { previous: answer('old'), current: answer('new') },
      },
      {
        name: 'leaves an equal answer alone',
        args: { name: 'imgplay-test', question: q, vtype: 'string', value: 'same' },
        vars: { preseed: 'imgplay-test {q} string same\n' },
        changed: false,
      },
      {
        name: 'compares booleans as debconf spells them (True is true)',
        args: { name: 'imgplay-test', question: q, vtype: 'boolean', value: 'True' },
        vars: { preseed: 'imgplay-test {q} boolean true\n' },
        changed: false,
      },
      {
        name: 'writes a YAML boolean as true/false',
        args: { name: 'imgplay-test', question: q, vtype: 'boolean', value: false },
        vars: { preseed: 'imgplay-test {q} boolean true\n' },
        changed: true,
        result: { current: answer('false'), previous: answer('true') },
      },
      {
        name: 'ignores the order of multiselect items',
        args: { name: 'imgplay-test', question: q, vtype: 'multiselect', value: ['b', 'a'] },
        vars: { preseed: 'imgplay-test {q} multiselect a, b\n' },
        changed: false,
      },
      {
        name: 'changes a multiselect with other items',
        args: { name: 'imgplay-test', question: q, vtype: 'multiselect', value: 'a, c' },
        vars: { preseed: 'imgplay-test {q} multiselect a, b\n' },
        changed: true,
        result: { current: answer('a, c') },
      },
      {
        name: 'sets a password without echoing it, and sees it set the next time',
        args: { name: 'imgplay-test', question: q, vtype: 'password', value: 's3cret' },
        changed: true,
        result: { current: answer('********'), diff: { after: diffOf('********') } },
      },
      {
        name: 'leaves an equal password alone',
        args: { name: 'imgplay-test', question: q, vtype: 'password', value: 's3cret' },
        vars: { preseed: 'imgplay-test {q} password s3cret\n' },
        changed: false,
      },
      {
        name: 'only reports the answers when no question is given',
        args: { name: 'imgplay-test-none' },
        changed: false,
        result: { current: {} },
      },
      {
        name: 'needs question, vtype and value together',
        args: { name: 'imgplay-test', question: q, value: 'x' },
        invalid: 'parameters are required together: question, vtype, value',
      },
      { name: 'refuses an unknown vtype', args: { name: 'x', question: q, vtype: 'bool', value: 'x' }, invalid: 'value of vtype must be one of: boolean, error,' },
      { name: 'refuses a mapping as the answer', args: { name: 'imgplay-test', question: q, vtype: 'string', value: { a: 1 } }, error: 'value must be text or a list of answers, not a mapping' },
      {
        name: 'refuses a multi-line answer',
        args: { name: 'imgplay-test', question: q, vtype: 'string', value: 'a\nb' },
        error: 'must be a single line',
      },
    ]),
    { chrootRoot: () => tree?.root as string },
  );
});

describe('debconf-show parsing', () => {
  it('strips the seen marker and keeps answers with colons', () => {
    expect(parseShow('* tzdata/Areas: Europe\n  tzdata/Zones/US:\n* a/url: http://x:80/\n')).toEqual(
      new Map([
        ['tzdata/Areas', 'Europe'],
        ['tzdata/Zones/US', ''],
        ['a/url', 'http://x:80/'],
      ]),
    );
  });
});
