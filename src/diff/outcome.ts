// `imgplay diff`'s exit codes are diff(1)'s, not ansible-playbook's: 0 the same, 1 different, 2 trouble.
import { ImgplayError } from '../errors.js';

/** What `imgplay diff` exits with. */
export const DIFF_EXIT = { same: 0, differ: 1, trouble: 2 } as const;

/** Something kept two builds from being compared (unreadable input, a missing artifact, a hostile archive): exit 2. */
export class DiffError extends ImgplayError {
  override readonly exitCode: number = DIFF_EXIT.trouble;
}
