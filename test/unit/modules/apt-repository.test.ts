import { describe, expect, it } from 'vitest';
import { aptRepository, parseLine, suggestFilename } from '../../../src/modules/apt-repository.js';
import { cases } from '../../support/module-cases.js';
import { rooted, rootedRows } from '../../support/rooted-module.js';

const REPO = 'deb [signed-by=/etc/apt/keyrings/vendor.gpg] http://pkgs.example.invalid/debian bookworm main';
const FILE = 'etc/apt/sources.list.d/pkgs_example_invalid_debian.list';
const DEBIAN = 'deb http://deb.example.invalid/debian bookworm main\n';
// Rows edit files only: apt-get update needs a real tree (see test/integration/apt-config-chroot.test.ts).
const noUpdate = { update_cache: false };

describe('apt_repository', () => {
  cases(
    rooted(aptRepository),
    rootedRows([
      {
        name: 'adds a repository in its own file named after the URI, mode 0644',
        args: { repo: REPO, ...noUpdate },
        before: { 'etc/apt/sources.list': DEBIAN },
        changed: true,
        after: { 'etc/apt/sources.list': DEBIAN, [FILE]: { content: `${REPO}\n`, mode: 0o644 } },
        result: { repo: REPO, state: 'present', diff: { before: '', after: `${REPO}\n`, before_header: '/dev/null', after_header: `/${FILE}` } },
      },
      {
        name: 'normalises whitespace in the line it writes',
        args: { repo: `  deb   http://pkgs.example.invalid/debian\tbookworm  main contrib `, 'update-cache': 'no' },
        changed: true,
        after: { [FILE]: 'deb http://pkgs.example.invalid/debian bookworm main contrib\n' },
      },
      {
        name: 'takes filename (and adds .list) and mode',
        args: { repo: REPO, filename: 'vendor', mode: '0600', ...noUpdate },
        changed: true,
        after: { 'etc/apt/sources.list.d/vendor.list': { content: `${REPO}\n`, mode: 0o600 } },
      },
      {
        name: 'leaves credentials out of the file name',
        args: { repo: 'deb-src https://me:secret@pkgs.example.invalid/ stable main', ...noUpdate },
        changed: true,
        after: { 'etc/apt/sources.list.d/pkgs_example_invalid.list': 'deb-src https://me:secret@pkgs.example.invalid/ stable main\n' },
      },
      {
        name: 'sees the line in sources.list, whatever its spacing',
        args: { repo: 'deb http://deb.example.invalid/debian bookworm main', ...noUpdate },
        before: { 'etc/apt/sources.list': '# comment\ndeb   http://deb.example.invalid/debian  bookworm main # mine\n' },
        changed: false,
      },
      {
        name: 'sees the line in another sources.list.d file',
        args: { repo: REPO, ...noUpdate },
        before: { 'etc/apt/sources.list.d/other.list': `${REPO}\n` },
        changed: false,
      },
      {
        name: 'counts other components as another repository',
        args: { repo: 'deb http://deb.example.invalid/debian bookworm main contrib', filename: 'extra', ...noUpdate },
        before: { 'etc/apt/sources.list': DEBIAN },
        changed: true,
        after: { 'etc/apt/sources.list': DEBIAN, 'etc/apt/sources.list.d/extra.list': 'deb http://deb.example.invalid/debian bookworm main contrib\n' },
      },
      {
        name: 'switches a commented-out copy back on instead of adding one',
        args: { repo: REPO, ...noUpdate },
        before: { 'etc/apt/sources.list.d/vendor.list': `# keep\n#   ${REPO}   # old vendor\n` },
        changed: true,
        after: { 'etc/apt/sources.list.d/vendor.list': `# keep\n${REPO} # old vendor\n` },
      },
      {
        name: 'appends to an existing file of the derived name, adding a missing final newline',
        args: { repo: REPO, ...noUpdate },
        before: { [FILE]: { content: 'deb http://pkgs.example.invalid/debian bookworm extra', mode: 0o640 } },
        changed: true,
        after: { [FILE]: { content: `deb http://pkgs.example.invalid/debian bookworm extra\n${REPO}\n`, mode: 0o640 } },
      },
      {
        name: 'removes the line from whichever file has it, keeping the others',
        args: { repo: 'deb http://deb.example.invalid/debian  bookworm main', state: 'absent', ...noUpdate },
        before: { 'etc/apt/sources.list': `# top\n${DEBIAN}deb http://deb.example.invalid/debian-security bookworm-security main\n` },
        changed: true,
        after: { 'etc/apt/sources.list': '# top\ndeb http://deb.example.invalid/debian-security bookworm-security main\n' },
        result: { diff: { before_header: '/etc/apt/sources.list', after_header: '/etc/apt/sources.list' } },
      },
      {
        name: 'deletes a file the removal leaves empty',
        args: { repo: REPO, state: 'absent', ...noUpdate },
        before: { 'etc/apt/sources.list': DEBIAN, [FILE]: `${REPO}\n` },
        changed: true,
        after: { 'etc/apt/sources.list': DEBIAN, 'etc/apt/sources.list.d': { dir: true } },
        result: { diff: { before: `${REPO}\n`, after: '', after_header: '/dev/null' } },
      },
      {
        name: 'leaves a commented-out line alone when removing',
        args: { repo: REPO, state: 'absent', ...noUpdate },
        before: { [FILE]: `# ${REPO}\n` },
        changed: false,
      },
      {
        name: 'ignores deb822 .sources files and other names in sources.list.d',
        args: { repo: REPO, ...noUpdate },
        before: { 'etc/apt/sources.list.d/x.sources': `Types: deb\n`, 'etc/apt/sources.list.d/x.list.save': `${REPO}\n` },
        changed: true,
        after: { 'etc/apt/sources.list.d/x.sources': `Types: deb\n`, 'etc/apt/sources.list.d/x.list.save': `${REPO}\n`, [FILE]: `${REPO}\n` },
      },
      { name: 'refuses a line that is not deb or deb-src', args: { repo: 'rpm http://x/ y z', ...noUpdate }, error: 'Invalid repository string: rpm http://x/ y z' },
      { name: 'refuses a PPA', args: { repo: 'ppa:user/ppa', ...noUpdate }, error: 'PPAs are Ubuntu-only' },
      { name: 'refuses an empty repo', args: { repo: ' ', ...noUpdate }, error: "Please set argument 'repo' to a non-empty value" },
      { name: 'refuses an unknown state', args: { repo: REPO, state: 'gone' }, invalid: 'state' },
    ]),
  );

  it("parses lines as Ansible's SourcesList does", () => {
    expect(parseLine('#deb  http://a/ b c # note ')).toEqual({ valid: true, enabled: false, source: 'deb http://a/ b c', comment: 'note' });
    expect(parseLine('# just words')).toMatchObject({ valid: false, enabled: false });
    expect(parseLine('deb [ arch=amd64 ] http://a/ b')).toMatchObject({ valid: true, source: 'deb [ arch=amd64 ] http://a/ b' });
  });

  it("derives file names as Ansible 2.14 does", () => {
    expect(suggestFilename('deb [arch=amd64 signed-by=/etc/apt/keyrings/x.gpg] http://user:pw@pkgs.example.invalid/deb/ian stable main')).toBe(
      'pkgs_example_invalid_deb_ian.list',
    );
    expect(suggestFilename('deb file:/srv/repo ./')).toBe('file_srv_repo.list');
    expect(suggestFilename('deb http://x/ y', 'mine')).toBe('mine.list');
  });
});
