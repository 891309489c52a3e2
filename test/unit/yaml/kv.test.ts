import { describe, expect, it } from 'vitest';
import { parseKv, splitArgs } from '../../../src/yaml/kv.js';

describe('key=value arguments', () => {
  it('splits on spaces but not inside quotes or template braces', () => {
    expect(splitArgs(`src=a dest="{{ root }}/b c" msg='x y'`)).toEqual(['src=a', 'dest="{{ root }}/b c"', "msg='x y'"]);
    expect(splitArgs('content={{ a | join(" ") }} mode=0644')).toEqual(['content={{ a | join(" ") }}', 'mode=0644']);
  });

  it('unquotes values', () => {
    expect(parseKv(`dest="/tmp/a b" mode='0644' force=no`)).toEqual({ dest: '/tmp/a b', mode: '0644', force: 'no' });
  });

  it('keeps the free-form words of command in _raw_params, in order', () => {
    const keys = new Set(['creates', 'removes', 'chdir']);
    expect(parseKv('ls -l /tmp creates=/x chdir=/ warn=no', keys)).toEqual({ _raw_params: 'ls -l /tmp warn=no', creates: '/x', chdir: '/' });
  });

  it('refuses a word that is not key=value for modules without a free form', () => {
    expect(() => parseKv('dest=/a oops')).toThrow(/expected key=value arguments, found 'oops'/);
  });

  it('refuses unbalanced quotes', () => {
    expect(() => splitArgs('msg="open')).toThrow(/unbalanced quotes/);
  });
});

describe('escapes in key=value words', () => {
  it('decodes \\n and friends in values, as Ansible does', () => {
    expect(parseKv('content="a\\nb\\t" x=\\u00e9')).toEqual({ content: 'a\nb\t', x: 'é' });
  });

  it('keeps free-form words as written', () => {
    expect(parseKv('printf "a\\n" creates=/x', new Set(['creates']))).toEqual({ _raw_params: 'printf "a\\n"', creates: '/x' });
  });
});
