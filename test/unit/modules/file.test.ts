import { describe } from 'vitest';
import { file } from '../../../src/modules/file.js';
import { TEST_ACCOUNTS, cases } from '../../support/module-cases.js';

const { user, uid, group, gid, otherGroup, otherGid } = TEST_ACCOUNTS;

describe('file', () => {
  describe('state=directory', () => {
    cases(file, [
      {
        name: 'creates a directory with its parents',
        args: { path: '{root}/a/b', state: 'directory' },
        changed: true,
        after: { a: { dir: true, mode: 0o755 }, 'a/b': { dir: true, mode: 0o755 } },
        result: { path: '{root}/a/b', state: 'directory', mode: '0755' },
      },
      {
        name: 'gives every directory it creates the mode',
        args: { path: '{root}/a/b', state: 'directory', mode: '0700' },
        changed: true,
        after: { a: { dir: true, mode: 0o700 }, 'a/b': { dir: true, mode: 0o700 } },
      },
      {
        name: 'takes the mode as the integer YAML 1.1 makes of 0750',
        args: { path: '{root}/d', state: 'directory', mode: 0o750 },
        before: { d: { dir: true, mode: 0o755 } },
        changed: true,
        after: { d: { dir: true, mode: 0o750 } },
      },
      {
        name: 'leaves a directory that is already right alone',
        args: { path: '{root}/d', state: 'directory', mode: '0755' },
        before: { d: { dir: true, mode: 0o755 } },
        changed: false,
      },
      {
        name: 'applies a symbolic mode to the directory',
        args: { dest: '{root}/d', state: 'directory', mode: 'u=rwx,g=rx,o-rwx' },
        before: { d: { dir: true, mode: 0o777 } },
        changed: true,
        after: { d: { dir: true, mode: 0o750 } },
      },
      {
        name: 'sets modes on everything below with recurse, X only on directories',
        args: { name: '{root}/d', state: 'directory', recurse: true, mode: 'u=rwX,go=rX' },
        before: { d: { dir: true, mode: 0o700 }, 'd/f': { content: 'x', mode: 0o600 }, 'd/sub': { dir: true, mode: 0o700 }, 'd/sub/g': { content: 'y', mode: 0o600 } },
        changed: true,
        after: {
          d: { dir: true, mode: 0o755 },
          'd/f': { content: 'x', mode: 0o644 },
          'd/sub': { dir: true, mode: 0o755 },
          'd/sub/g': { content: 'y', mode: 0o644 },
        },
      },
      {
        name: 'refuses to turn a file into a directory',
        args: { path: '{root}/f', state: 'directory' },
        before: { f: 'x' },
        error: '{root}/f already exists as a file',
      },
      {
        name: 'follows a symlink to a directory by default',
        args: { path: '{root}/l', state: 'directory', mode: '0700' },
        before: { real: { dir: true, mode: 0o755 }, l: { link: 'real' } },
        changed: true,
        after: { real: { dir: true, mode: 0o700 }, l: { link: 'real' } },
        result: { path: '{root}/real' },
      },
      {
        name: 'sets owner and group by the target system names',
        args: { path: '{root}/d', state: 'directory', owner: user, group: otherGroup },
        before: { d: { dir: true } },
        changed: true,
        after: { d: { dir: true, uid, gid: otherGid } },
        result: { owner: user, group: otherGroup, uid, gid: otherGid },
        targets: ['confined'],
      },
      {
        name: 'takes numeric owner and group',
        args: { path: '{root}/d', state: 'directory', owner: '4242', group: 4343 },
        before: { d: { dir: true } },
        changed: true,
        after: { d: { dir: true, uid, gid } },
        result: { owner: user, group },
        targets: ['confined'],
      },
      {
        name: 'fails on an owner the target does not know',
        args: { path: '{root}/d', state: 'directory', owner: 'nosuchuser' },
        before: { d: { dir: true } },
        error: 'chown failed: failed to look up user nosuchuser',
      },
      {
        name: 'fails on a mode that is neither octal nor symbolic',
        args: { path: '{root}/d', state: 'directory', mode: 'rwxr-xr-x' },
        before: { d: { dir: true } },
        error: 'mode must be in octal or symbolic form',
      },
      {
        name: 'refuses recurse without state=directory',
        args: { path: '{root}/f', state: 'file', recurse: true },
        before: { f: 'x' },
        error: "recurse option requires state to be 'directory'",
      },
    ]);
  });

  describe('state=file', () => {
    cases(file, [
      {
        name: 'sets the mode of an existing file',
        args: { path: '{root}/f', mode: '0600' },
        before: { f: { content: 'x', mode: 0o644 } },
        changed: true,
        after: { f: { content: 'x', mode: 0o600 } },
        result: { path: '{root}/f', state: 'file', mode: '0600', size: 1 },
      },
      {
        name: 'adds execute bits with a symbolic mode',
        args: { path: '{root}/f', state: 'file', mode: 'a+x' },
        before: { f: { content: 'x', mode: 0o644 } },
        changed: true,
        after: { f: { content: 'x', mode: 0o755 } },
      },
      {
        name: 'fails for a missing file, as Ansible does',
        args: { path: '{root}/missing', state: 'file' },
        error: 'file ({root}/missing) is absent, cannot continue',
        result: { path: '{root}/missing', state: 'absent' },
      },
      {
        name: 'fails for a directory',
        args: { path: '{root}/d', state: 'file' },
        before: { d: { dir: true } },
        error: 'file ({root}/d) is directory, cannot continue',
      },
      {
        name: 'works through a symlink with follow',
        args: { path: '{root}/l', state: 'file', mode: '0640' },
        before: { f: { content: 'x', mode: 0o644 }, l: { link: 'f' } },
        changed: true,
        after: { f: { content: 'x', mode: 0o640 }, l: { link: 'f' } },
      },
      {
        name: 'needs a path',
        args: { state: 'file' },
        invalid: 'missing required arguments: path',
      },
      {
        name: 'refuses an unknown state before running',
        args: { path: '{root}/f', state: 'present' },
        invalid: 'value of state must be one of: absent, directory, file, hard, link, touch, got: present',
      },
      {
        name: 'refuses src without link or hard',
        args: { path: '{root}/f', src: '{root}/g', state: 'file' },
        before: { f: 'x', g: 'y' },
        error: "src option requires state to be 'link' or 'hard'",
      },
    ]);
  });

  describe('state=link', () => {
    cases(file, [
      {
        name: 'creates a relative symlink as written',
        args: { path: '{root}/l', src: 'target', state: 'link' },
        before: { target: 'x' },
        changed: true,
        after: { target: 'x', l: { link: 'target' } },
        result: { dest: '{root}/l', src: 'target', state: 'link' },
      },
      {
        name: 'repoints an existing symlink',
        args: { path: '{root}/l', src: 'b', state: 'link' },
        before: { a: 'a', b: 'b', l: { link: 'a' } },
        changed: true,
        after: { a: 'a', b: 'b', l: { link: 'b' } },
      },
      {
        name: 'refuses a missing src without force',
        args: { path: '{root}/l', src: 'nowhere', state: 'link' },
        error: 'src file does not exist, use "force=yes" if you really want to create the link: {root}/nowhere',
      },
      {
        name: 'creates a dangling link with force',
        args: { path: '{root}/l', src: 'nowhere', state: 'link', force: true },
        changed: true,
        after: { l: { link: 'nowhere' } },
      },
      {
        name: 'refuses to replace a file without force',
        args: { path: '{root}/f', src: 'g', state: 'link' },
        before: { f: 'x', g: 'y' },
        error: 'refusing to convert from file to symlink for {root}/f',
      },
      {
        name: 'replaces a file with force',
        args: { path: '{root}/f', src: 'g', state: 'link', force: 'yes' },
        before: { f: 'x', g: 'y' },
        changed: true,
        after: { f: { link: 'g' }, g: 'y' },
      },
      {
        name: 'refuses to replace a directory that has files',
        args: { path: '{root}/d', src: 'g', state: 'link', force: true },
        before: { 'd/x': 'x', g: 'y' },
        error: 'the directory {root}/d is not empty, refusing to convert it',
      },
      {
        name: 'resolves an absolute src inside the target, not on the host',
        args: { path: '{root}/l', src: '/etc/passwd', state: 'link' },
        changed: true,
        after: { l: { link: '/etc/passwd' } },
        targets: ['confined'],
      },
    ]);
  });

  describe('state=hard', () => {
    cases(file, [
      {
        name: 'creates a hard link',
        args: { path: '{root}/h', src: '{root}/f', state: 'hard' },
        before: { f: 'x' },
        changed: true,
        after: { f: 'x', h: 'x' },
        result: { state: 'hard' },
      },
      {
        name: 'refuses to replace a different file without force',
        args: { path: '{root}/h', src: '{root}/f', state: 'hard' },
        before: { f: 'x', h: 'y' },
        error: 'Cannot link, file exists at destination',
      },
      {
        name: 'needs an existing src',
        args: { path: '{root}/h', src: '{root}/nowhere', state: 'hard' },
        error: 'src does not exist',
      },
    ]);
  });

  describe('state=touch', () => {
    cases(file, [
      {
        name: 'creates an empty file',
        args: { path: '{root}/t', state: 'touch' },
        changed: true,
        again: true,
        after: { t: { content: '', mode: 0o644 } },
        result: { dest: '{root}/t', state: 'file' },
      },
      {
        name: 'sets given times once, so it settles',
        args: { path: '{root}/t', state: 'touch', modification_time: '202001021530.00', access_time: 'preserve' },
        before: { t: 'x' },
        changed: true,
      },
      {
        name: 'rejects a time that does not fit the format',
        args: { path: '{root}/t', state: 'touch', modification_time: 'yesterday' },
        before: { t: 'x' },
        error: "Error while obtaining timestamp for time yesterday using format %Y%m%d%H%M.%S: time data 'yesterday' does not match format",
      },
    ]);
  });

  describe('state=absent', () => {
    cases(file, [
      {
        name: 'removes a directory tree',
        args: { path: '{root}/d', state: 'absent' },
        before: { 'd/a/b': 'x', keep: 'y' },
        changed: true,
        after: { keep: 'y' },
        result: { path: '{root}/d', state: 'absent' },
      },
      {
        name: 'removes a symlink, not what it points at',
        args: { path: '{root}/l', state: 'absent' },
        before: { 'd/f': 'x', l: { link: 'd' } },
        changed: true,
        after: { 'd/f': 'x' },
      },
      {
        name: 'is content when nothing is there',
        args: { path: '{root}/nothing', state: 'absent' },
        changed: false,
      },
    ]);
  });
});
