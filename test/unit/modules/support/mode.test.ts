import { describe, expect, it } from 'vitest';
import { ModeError, formatMode, isSymbolicMode, parseMode } from '../../../../src/modules/support/mode.js';

// Expected values come from ansible-core 2.14's AnsibleModule._symbolic_mode_to_octal with umask 022.
const SYMBOLIC: [string, number, number][] = [
  ['u+x', 0o100644, 0o744],
  ['u=rwx,g=rx,o-rwx', 0o100777, 0o750],
  ['a+X', 0o100644, 0o644],
  ['a+X', 0o100744, 0o755],
  ['a+X', 0o40700, 0o711],
  ['+x', 0o100600, 0o711],
  ['=rw', 0o100000, 0o644],
  ['go=u', 0o100640, 0o666],
  ['u+s,g+s,o+t', 0o100755, 0o7755],
  ['o=', 0o100777, 0o770],
  ['u=rwX,go=rX', 0o40700, 0o755],
  ['g-w,o-rwx', 0o100777, 0o750],
  ['ug+rw,o=r', 0o100000, 0o664],
  ['u-x+w', 0o100500, 0o600],
  ['a=r,u+w', 0o100000, 0o644],
];

describe('parseMode', () => {
  it.each(SYMBOLIC)('applies %s to %o as Ansible does', (mode, st, want) => {
    expect(parseMode(mode, st, 0o022)).toBe(want);
  });

  it('reads octal strings with or without a leading 0 or 0o', () => {
    expect(parseMode('0644', 0, 0o022)).toBe(0o644);
    expect(parseMode('644', 0, 0o022)).toBe(0o644);
    expect(parseMode('0o2755', 0, 0o022)).toBe(0o2755);
  });

  it('takes an integer as it is, so YAML 1.1 0644 (420) means 0644 and 644 means 01204', () => {
    expect(parseMode(420, 0, 0o022)).toBe(0o644);
    expect(parseMode(644, 0, 0o022)).toBe(0o1204);
  });

  it.each(['rwxr-xr-x', 'x+r', 'u+z'])('refuses %s with the bad clause named', (mode) => {
    const err = (() => {
      try {
        parseMode(mode, 0o100644, 0o022);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ModeError);
    expect((err as ModeError).message).toBe('mode must be in octal or symbolic form');
    expect((err as ModeError).details).toMatch(/^bad symbolic permission for mode: /);
  });

  it('takes a boolean as the integer Python makes of it, mode being a raw argument', () => {
    expect(parseMode(true, 0o100644, 0o022)).toBe(1);
  });

  it('refuses a list or a mapping as a mode, as Ansible does', () => {
    expect(() => parseMode(['0644'], 0o100644, 0o022)).toThrow('mode must be in octal or symbolic form');
    expect(() => parseMode({ a: 1 }, 0o100644, 0o022)).toThrow(ModeError);
  });

  it('formats modes as Ansible reports them', () => {
    expect(formatMode(0o100644)).toBe('0644');
    expect(formatMode(0o41777)).toBe('01777');
  });

  it('tells symbolic modes from octal ones', () => {
    expect(isSymbolicMode('u+x')).toBe(true);
    expect(isSymbolicMode('0755')).toBe(false);
    expect(isSymbolicMode(493)).toBe(false);
  });
});
