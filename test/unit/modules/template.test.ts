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
      result: { dest: '{root}/motd', src: '{files}/templates/motd.j2', state: 'file', diff: [{ before: '', after: 'Welcome to micro\n' }] },
      check: { changed: true, result: { diff: [{ after: 'Welcome to micro\n', after_header: '{files}/templates/motd.j2' }] } },
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
      name: 'strips indentation before tags with lstrip_blocks and keeps the newline after them without trim_blocks',
      args: { src: 'blocks.j2', dest: '{root}/out', lstrip_blocks: true, trim_blocks: false },
      files: { 'templates/blocks.j2': '{% for x in [1, 2] %}\n    {% if x %}\n  v{{ x }}\n    {% endif %}\n{% endfor %}\n' },
      changed: true,
      after: { out: '\n\n  v1\n\n\n\n  v2\n\n' },
    },
    {
      name: 'reads other delimiters',
      args: { src: 'delim.j2', dest: '{root}/out', variable_start_string: '[[', variable_end_string: ']]', block_start_string: '[%', block_end_string: '%]', comment_start_string: '[#', comment_end_string: '#]' },
      files: { 'templates/delim.j2': '[# note #][% if true %]\n{{ kept }} [[ host ]]\n[% endif %]\n' },
      vars,
      changed: true,
      after: { out: '{{ kept }} micro\n' },
    },
    {
      name: 'includes and imports templates found in templates/',
      args: { src: 'main.j2', dest: '{root}/out' },
      files: {
        'templates/main.j2': "{% import 'lib/m.j2' as m %}{% include 'head.j2' %}\n\n{{ m.greet(host) }}\n",
        'templates/head.j2': '# {{ template_path }} for {{ host }}\n',
        'templates/lib/m.j2': '{% macro greet(who) %}hello {{ who }}{% endmacro %}',
      },
      vars,
      changed: true,
      after: { out: '# main.j2 for micro\nhello micro\n' },
    },
    {
      name: 'writes the output_encoding asked for',
      args: { src: 'motd.j2', dest: '{root}/motd', output_encoding: 'US-ASCII' },
      files,
      vars,
      changed: true,
      after: { motd: 'Welcome to micro\n' },
    },
    {
      name: 'fails on text the output_encoding cannot hold',
      args: { src: 'u.j2', dest: '{root}/motd', output_encoding: 'ascii' },
      files: { 'templates/u.j2': 'caf\u00e9\n' },
      error: "'ascii' codec can't encode character",
    },
    {
      name: 'fails on an output_encoding that does not exist',
      args: { src: 'motd.j2', dest: '{root}/motd', output_encoding: 'klingon' },
      files,
      error: 'unknown encoding: klingon',
    },
  ]);
});
