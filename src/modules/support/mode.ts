// File modes as Ansible reads them: octal strings, integers (YAML 1.1 turns 0644 into 420) and chmod's symbolic form.
import { pyType } from '../spec-check.js';

/** A mode Ansible would refuse, with its message and the detail it adds. */
export class ModeError extends Error {
  constructor(
    message: string,
    readonly details: string,
  ) {
    super(message);
  }
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const PERM_BITS = 0o7777;
const EXEC_BITS = 0o111;

/** Renders permission bits the way Ansible's results do: '0644', '01777'. */
export function formatMode(mode: number): string {
  return `0${(mode & PERM_BITS).toString(8).padStart(3, '0')}`;
}

/** True if `mode` is a symbolic mode, whose meaning depends on the file it is applied to. */
export function isSymbolicMode(mode: unknown): boolean {
  return typeof mode === 'string' && !OCTAL.test(mode);
}

// What Python's int(mode, 8) accepts, less the rarities (signs, underscores) nobody writes in a playbook.
const OCTAL = /^\s*(?:0[oO])?[0-7]+\s*$/;

/**
 * The permission bits `mode` asks for, given the file's current st_mode (for symbolic modes) and the
 * process umask (a symbolic mode with no who-part, like `+x`, leaves bits set in the umask alone).
 * An integer is taken as it is, as Ansible does: `mode: 644` in YAML is decimal 644, i.e. 01204.
 */
export function parseMode(mode: unknown, stMode: number, umask: number): number {
  if (typeof mode === 'number') return mode;
  // mode is Ansible's raw type: Python's int() takes a bool, and any other non-text fails in its symbolic parser.
  if (typeof mode === 'boolean') return mode ? 1 : 0;
  if (typeof mode !== 'string') throw new ModeError('mode must be in octal or symbolic form', `'${pyType(mode)}' object has no attribute 'split'`);
  if (OCTAL.test(mode)) return parseInt(mode.trim().replace(/^0[oO]/, ''), 8);
  let result: number;
  try {
    result = symbolicToOctal(stMode, mode, umask);
  } catch (err) {
    throw new ModeError('mode must be in octal or symbolic form', (err as Error).message);
  }
  if (result !== (result & PERM_BITS)) {
    throw new ModeError('Invalid mode supplied, only permission info is allowed', String(result));
  }
  return result;
}

// A port of AnsibleModule._symbolic_mode_to_octal: every clause reads the file's original bits.
function symbolicToOctal(stMode: number, symbolic: string, umask: number): number {
  let mode = stMode & PERM_BITS;
  for (const clause of symbolic.split(',')) {
    const perms = clause.split(/[+=-]/);
    const operators = clause.match(/[+=-]/g) ?? [];
    let users = perms.shift() ?? '';
    const useUmask = users === '';
    if (users === 'a' || users === '') users = 'ugo';
    if (/[^ugo]/.test(users)) throw new Error(`bad symbolic permission for mode: ${clause}`);
    perms.forEach((p, i) => {
      if (/[^rwxXstugo]/.test(p)) throw new Error(`bad symbolic permission for mode: ${clause}`);
      for (const user of users as Iterable<Who>) {
        mode = applyOperator(user, operators[i] as string, permBits(stMode, user, p, useUmask, umask), mode);
      }
    });
  }
  return mode;
}

type Who = 'u' | 'g' | 'o';

function applyOperator(user: Who, op: string, bits: number, current: number): number {
  if (op === '+') return current | bits;
  if (op === '-') return current & ~bits;
  const mask = { u: 0o4700, g: 0o2070, o: 0o1007 }[user];
  return (current & (mask ^ PERM_BITS)) | bits;
}

function permBits(stMode: number, user: Who, perms: string, useUmask: boolean, umask: number): number {
  const prev = stMode & PERM_BITS;
  const isDir = (stMode & S_IFMT) === S_IFDIR;
  const applyX = isDir || (prev & EXEC_BITS) > 0;
  const keep = useUmask ? umask ^ PERM_BITS : PERM_BITS;
  // r, w and x are the owner's bits; shift moves them (and the copied u/g/o sets) into this user's place.
  const shift = { u: 6, g: 3, o: 0 }[user];
  const sets = { u: (prev >> 6) & 7, g: (prev >> 3) & 7, o: prev & 7 };
  let bits = 0;
  for (const p of perms) {
    switch (p) {
      case 'r':
        bits |= keep & (4 << shift);
        break;
      case 'w':
        bits |= keep & (2 << shift);
        break;
      case 'x':
        bits |= keep & (1 << shift);
        break;
      case 'X':
        if (applyX) bits |= 1 << shift;
        break;
      case 's':
        bits |= user === 'u' ? 0o4000 : user === 'g' ? 0o2000 : 0;
        break;
      case 't':
        bits |= user === 'o' ? 0o1000 : 0;
        break;
      default:
        bits |= sets[p as Who] << shift;
    }
  }
  return bits;
}
