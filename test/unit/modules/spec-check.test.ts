// The generic argument checks against Ansible's own ArgumentSpecValidator (Debian's ansible-core 2.14):
// each case is validated by both, and the first error (what a module fails with), the warnings and the
// validated arguments must agree.
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModuleSpec } from '../../../src/modules/spec.js';
import { argumentProblems } from '../../../src/modules/spec-check.js';
import { file, lacking, skipWithout } from '../../support/needs.js';

const spec: ModuleSpec = {
  name: 'demo',
  doc: { short: 'a module for the tests' },
  checkMode: 'full',
  args: {
    path: { type: 'path', aliases: ['dest', 'name'], description: '' },
    state: { choices: ['present', 'absent', 'touch'], default: 'present', description: '' },
    mode: { type: 'raw', description: '' },
    force: { type: 'bool', default: false, description: '' },
    retries: { type: 'int', default: 3, description: '' },
    ratio: { type: 'float', description: '' },
    names: { type: 'list', elements: 'str', aliases: ['pkg'], description: '' },
    flags: { type: 'list', elements: 'str', choices: ['a', 'b'], description: '' },
    opts: { type: 'dict', description: '' },
    content: { description: '' },
    src: { type: 'path', description: '' },
    owner: { description: '' },
    group: { description: '' },
    backup: { type: 'bool', description: '' },
    upgrade: { choices: ['no', 'yes', 'dist'], default: 'no', description: '' },
  },
  mutuallyExclusive: [['content', 'src']],
  requiredTogether: [['owner', 'group']],
  requiredOneOf: [['path', 'names']],
  requiredIf: [
    ['state', 'touch', ['path']],
    ['state', 'absent', ['names', 'path'], true],
  ],
  requiredBy: { backup: ['path'] },
};

const cases: Record<string, Record<string, unknown>> = {
  'takes an alias for its argument': { dest: '/etc/motd' },
  'lets the last alias win and warns when both are given': { path: '/a', dest: '/b', name: '/c' },
  'fills defaults and converts yes/no and numbers': { path: '/a', force: 'yes', retries: '7', ratio: '0.5' },
  'converts a number to text for a str argument': { path: 5, content: 12 },
  'splits a comma-separated list': { names: 'a,b,c' },
  'refuses an unknown argument and lists the supported ones': { path: '/a', colour: 'red', bogus: 1 },
  'refuses a value outside the choices': { path: '/a', state: 'gone' },
  'refuses list elements outside the choices': { path: '/a', flags: ['a', 'c'] },
  'takes a YAML boolean for the one choice it names': { path: '/a', upgrade: true },
  'refuses arguments that exclude each other': { path: '/a', content: 'x', src: '/y' },
  'refuses half of a pair required together': { path: '/a', owner: 'root' },
  'refuses when none of a required set is given': { state: 'present' },
  'refuses a state that needs an argument it lacks': { names: ['x'], state: 'touch' },
  'refuses a state that needs any of several arguments': { state: 'absent', names: null },
  'refuses an argument whose companion is missing': { names: ['x'], backup: true },
  'refuses a value that is not a boolean': { path: '/a', force: 'maybe' },
  'refuses a value that is not a whole number': { path: '/a', retries: 'many' },
  'takes a dict as JSON text': { path: '/a', opts: '{"k": 1}' },
  'reports the first of several problems as Ansible does': { colour: 1, state: 'gone' },
  'refuses an argument named like a property every object has': { path: '/a', constructor: 'x', toString: 1 },
};

// Ansible's validator, given the spec in its own terms; prints one JSON line per case.
const PYTHON = String.raw`
import json, sys, warnings
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
spec, cases = json.load(sys.stdin)
out = {}
for name, params in cases.items():
    v = ArgumentSpecValidator(spec['argument_spec'], mutually_exclusive=spec['mutually_exclusive'], required_together=spec['required_together'],
                              required_one_of=spec['required_one_of'], required_if=spec['required_if'], required_by=spec['required_by'])
    r = v.validate(dict(params))
    msg = r.errors.msg if len(r.errors.errors) > 0 else None
    if msg is not None and type(r.errors.errors[0]).__name__ == 'UnsupportedError':
        msg = 'Unsupported parameters for (demo) module: ' + msg
    canon = {k: r.validated_parameters.get(k) for k in spec['argument_spec'] if r.validated_parameters.get(k) is not None}
    out[name] = {'error': msg, 'args': canon, 'warnings': ['Both option %s and its alias %s are set.' % (w['option'], w['alias']) for w in r._warnings]}
print(json.dumps(out))
`;

function asAnsible(s: ModuleSpec): unknown {
  const argument_spec = Object.fromEntries(
    Object.entries(s.args).map(([name, a]) => [
      name,
      Object.fromEntries(
        Object.entries({ type: a.type ?? 'str', elements: a.elements, default: a.default, choices: a.choices, aliases: a.aliases, required: a.required }).filter(([, v]) => v !== undefined),
      ),
    ]),
  );
  return {
    argument_spec,
    mutually_exclusive: s.mutuallyExclusive ?? [],
    required_together: s.requiredTogether ?? [],
    required_one_of: s.requiredOneOf ?? [],
    required_if: (s.requiredIf ?? []).map(([k, v, r, any]) => (any ? [k, v, r, true] : [k, v, r])),
    required_by: s.requiredBy ?? {},
  };
}

// Ansible lists the valid booleans from a Python set, in an order that changes from run to run.
function unordered(message: string | null): string | null {
  return message?.replace(/(Valid booleans include: )(.*)$/, (_, head: string, list: string) => head + list.split(', ').sort().join(', ')) ?? null;
}

const unavailable = lacking(file('/usr/bin/python3', 'python3'), file('/usr/lib/python3/dist-packages/ansible/module_utils/common/arg_spec.py', 'ansible'));

describe.skipIf(skipWithout(unavailable))("module arguments checked as Ansible's ArgumentSpecValidator checks them", () => {
  let ansible: Record<string, { error: string | null; args: Record<string, unknown>; warnings: string[] }>;
  beforeAll(async () => {
    const r = await execa('/usr/bin/python3', ['-c', PYTHON], { input: JSON.stringify([asAnsible(spec), cases]) });
    ansible = JSON.parse(r.stdout) as typeof ansible;
  });

  for (const [name, params] of Object.entries(cases)) {
    it(name, () => {
      const ours = argumentProblems(spec, params);
      const args = Object.fromEntries(Object.entries(ours.args).filter(([, v]) => v !== null && v !== undefined));
      expect({ error: unordered(ours.errors[0]?.message ?? null), warnings: ours.warnings, args: ansible[name]!.error === null ? args : {} }).toEqual({
        ...ansible[name],
        error: unordered(ansible[name]!.error),
        args: ansible[name]!.error === null ? ansible[name]!.args : {},
      });
    });
  }
});

describe('module arguments at planning', () => {
  const literal = (v: unknown) => !(typeof v === 'string' && v.includes('{{'));

  it('judges only literal values: a templated state may be anything', () => {
    expect(argumentProblems(spec, { path: '/a', state: '{{ wanted }}' }, { known: literal }).errors).toEqual([]);
  });

  it('refuses a literal value outside the choices', () => {
    expect(argumentProblems(spec, { path: '/a', state: 'gone' }, { known: literal }).errors[0]?.message).toBe('value of state must be one of: present, absent, touch, got: gone');
  });

  it('does not count a templated argument as given for mutual exclusion, since it may be omitted', () => {
    expect(argumentProblems(spec, { path: '/a', content: 'x', src: "{{ s | default(omit) }}" }, { known: literal }).errors).toEqual([]);
  });

  it('still refuses an argument that is missing whatever the variables say', () => {
    expect(argumentProblems(spec, { state: '{{ s }}' }, { known: literal }).errors[0]?.message).toBe('one of the following is required: path, names');
  });

  it('names the argument each error is about', () => {
    expect(argumentProblems(spec, { path: '/a', force: 'maybe' }).errors[0]?.argument).toBe('force');
  });
});
