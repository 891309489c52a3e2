import { describe } from 'vitest';
import { template } from '../../../src/modules/template.js';
import { cases } from '../../support/module-cases.js';

const files = { 'templates/motd.j2': 'Welcome to {{ host }}\n' };
const vars = { host: 'micro' };

describe('template', () => {
  cases(template, [
    {
      name: 'renders a template from templates/ with the task variables',
      args: { src: 'motd.j2', dest: '{root}/motd' },
      files,
      vars,
      changed: true,
      after: { motd: { content: 'Welcome to micro\n', mode: 0o644 } },
      result: { dest: '{root}/motd', src: '{files}/templates/motd.j2', state: 'file', diff: { before: '', after: 'Welcome to micro\n' } },
      check: { changed: true, result: { diff: { after: 'Welcome to micro\n', after_header: '{files}/templates/motd.j2' } } },
    },
    {
      name: 'leaves a file that already has the rendered text alone',
      args: { src: 'motd.j2', dest: '{root}/motd' },
      files,
      vars,
      before: { motd: 'Welcome to micro\n' },
      changed: false,
    },
    {
      name: 'replaces different text, keeping a backup and setting the mode',
      args: { src: 'motd.j2', dest: '{root}/motd', backup: true, mode: '0600' },
      files,
      vars,
      before: { motd: 'old\n' },
      changed: true,
      after: { motd: { content: 'Welcome to micro\n', mode: 0o600 }, 'motd.*~': 'old\n' },
    },
    {
      name: 'writes into an existing directory under the template file name',
      args: { src: 'motd.j2', dest: '{root}/etc' },
      files,
      vars,
      before: { etc: { dir: true } },
      changed: true,
      after: { 'etc/motd.j2': 'Welcome to micro\n' },
    },
    {
      name: 'does not replace an existing file with force=no',
      args: { src: 'motd.j2', dest: '{root}/motd', force: false },
      files,
      vars,
      before: { motd: 'mine\n' },
      changed: false,
    },
    {
      name: 'reads CRLF templates as LF',
      args: { src: 'dos.j2', dest: '{root}/out' },
      files: { 'templates/dos.j2': 'a\r\nb\r\n' },
      changed: true,
      after: { out: 'a\nb\n' },
    },
    {
      name: 'writes the newline_sequence asked for',
      args: { src: 'two.j2', dest: '{root}/out', newline_sequence: '\\r\\n' },
      files: { 'templates/two.j2': 'a\nb\n' },
      changed: true,
      after: { out: 'a\r\nb\r\n' },
    },
    {
      name: 'keeps the template file mode with mode=preserve',
      args: { src: 'run.j2', dest: '{root}/run', mode: 'preserve' },
      files: { 'templates/run.j2': { content: '#!/bin/sh\n', mode: 0o755 } },
      changed: true,
      after: { run: { content: '#!/bin/sh\n', mode: 0o755 } },
    },
    {
      name: 'fails, naming the template, on an undefined variable',
      args: { src: 'motd.j2', dest: '{root}/motd' },
      files,
      error: "templates/motd.j2: 'host' is undefined",
    },
    {
      name: 'says where it looked for a missing template',
      args: { src: 'nope.j2', dest: '{root}/motd' },
      error: "Could not find or access 'nope.j2'",
    },
    {
      name: 'needs src and dest',
      args: { src: 'motd.j2' },
      files,
      error: 'src and dest are required',
    },
    {
      name: 'refuses a newline_sequence that is not a newline',
      args: { src: 'motd.j2', dest: '{root}/motd', newline_sequence: 'x' },
      files,
      error: 'newline_sequence needs to be one of',
    },
    {
      name: 'refuses lstrip_blocks, which its engine does not do',
      args: { src: 'motd.j2', dest: '{root}/motd', lstrip_blocks: true },
      invalid: 'lstrip_blocks=true is not supported by imgplay',
    },
    {
      name: 'refuses other delimiters',
      args: { src: 'motd.j2', dest: '{root}/motd', variable_start_string: '[%' },
      invalid: 'variable_start_string is not supported by imgplay',
    },
    {
      name: 'refuses an output_encoding other than UTF-8',
      args: { src: 'motd.j2', dest: '{root}/motd', output_encoding: 'latin-1' },
      files: { 'templates/motd.j2': 'hi\n' },
      error: 'output_encoding latin-1 is not supported by imgplay',
    },
  ]);
});
