import { describe } from 'vitest';
import { pamLimits } from '../../../src/modules/pam-limits.js';
import { cases } from '../../support/module-cases.js';

// Expected contents and messages were taken from community.general 6.6's pam_limits (Debian's ansible 7.7) on the same inputs.
describe('pam_limits', () => {
  cases(pamLimits, [
    {
      name: 'appends a limit the file does not have',
      args: { dest: '{root}/limits.conf', domain: '*', limit_type: 'soft', limit_item: 'nofile', value: '4096' },
      before: { 'limits.conf': '# defaults\nroot hard core 0\n' },
      changed: true,
      after: { 'limits.conf': '# defaults\nroot hard core 0\n*\tsoft\tnofile\t4096\n' },
      result: { msg: '*\tsoft\tnofile\t4096\n' },
    },
    {
      name: 'rewrites the line of the limit with tabs',
      args: { dest: '{root}/limits.conf', domain: 'root', limit_type: 'hard', limit_item: 'core', value: 'unlimited' },
      before: { 'limits.conf': 'root   hard   core   0\n' },
      changed: true,
      after: { 'limits.conf': 'root\thard\tcore\tunlimited\n' },
    },
    {
      name: 'leaves a limit with the same value alone, however it is spaced',
      args: { dest: '{root}/limits.conf', domain: 'root', limit_type: 'hard', limit_item: 'core', value: '0' },
      before: { 'limits.conf': 'root   hard   core   0\n' },
      changed: false,
      result: { msg: 'root   hard   core   0\n' },
    },
    {
      name: 'creates a missing file in an existing directory (a drop-in)',
      args: { dest: '{root}/limits.d/nproc.conf', domain: '@users', limit_type: '-', limit_item: 'nproc', value: '512', comment: 'builders' },
      before: { 'limits.d': { dir: true } },
      changed: true,
      after: { 'limits.d/nproc.conf': '@users\t-\tnproc\t512\t#builders\n' },
    },
    {
      name: 'keeps the larger value with use_max',
      args: { dest: '{root}/l.conf', domain: '*', limit_type: 'soft', limit_item: 'nofile', value: '1024', use_max: true },
      before: { 'l.conf': '* soft nofile 4096\n' },
      changed: false,
      result: { msg: '* soft nofile 4096\n' },
    },
    {
      name: 'keeps the smaller value with use_min, a limit being smaller than none',
      args: { dest: '{root}/l.conf', domain: '*', limit_type: 'soft', limit_item: 'nofile', value: '1024', use_min: true },
      before: { 'l.conf': '* soft nofile unlimited\n' },
      changed: true,
      after: { 'l.conf': '*\tsoft\tnofile\t1024\n' },
    },
    {
      name: 'carries the comment of an earlier line over, with its newline, as Ansible does',
      args: { dest: '{root}/l.conf', domain: '*', limit_type: 'soft', limit_item: 'core', value: '0' },
      before: { 'l.conf': 'root soft nofile 10 # mine\n' },
      changed: true,
      after: { 'l.conf': 'root soft nofile 10 # mine\n*\tsoft\tcore\t0\t# mine\n\n' },
    },
    {
      name: 'takes a priority in -20..19',
      args: { dest: '{root}/l.conf', domain: 'svc', limit_type: 'hard', limit_item: 'priority', value: '-5' },
      before: { 'l.conf': '' },
      changed: true,
      after: { 'l.conf': 'svc\thard\tpriority\t-5\n' },
    },
    {
      name: 'refuses a value out of range',
      args: { dest: '{root}/l.conf', domain: 'svc', limit_type: 'hard', limit_item: 'nice', value: '25' },
      before: { 'l.conf': '' },
      error: " Value of '25' for item 'nice' is invalid. Value must be a number in the range -20 to 19 inclusive.",
    },
    {
      name: 'fails on an invalid line already in the file',
      args: { dest: '{root}/l.conf', domain: '*', limit_type: 'soft', limit_item: 'core', value: '0' },
      before: { 'l.conf': '* soft nofile lots\n' },
      error: "Invalid configuration found in '{root}/l.conf'. Value of 'lots' for item 'nofile' is invalid.",
    },
    {
      name: 'fails when the directory is missing',
      args: { dest: '{root}/nodir/l.conf', domain: '*', limit_type: 'soft', limit_item: 'core', value: '0' },
      error: 'directory {root}/nodir is not writable (check presence, access rights, use sudo)',
    },
    {
      name: 'refuses use_min with use_max',
      args: { dest: '{root}/l.conf', domain: '*', limit_type: 'soft', limit_item: 'core', value: '0', use_min: true, use_max: true },
      before: { 'l.conf': '' },
      error: 'Cannot use use_min and use_max at the same time.',
    },
    { name: 'refuses an unknown item', args: { domain: '*', limit_type: 'soft', limit_item: 'files', value: '1' }, invalid: 'value of limit_item must be one of' },
    { name: "refuses later collections' create", args: { domain: '*', limit_type: 'soft', limit_item: 'core', value: '1', create: true }, invalid: 'Unsupported parameters for (pam_limits) module: create' },
  ]);
});
