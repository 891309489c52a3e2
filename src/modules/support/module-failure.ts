// The one way a module fails from deep inside its work: throw ModuleFailure, and the module runner
// (defineModule) turns it into a failed result, so no module wraps its run to catch its own errors.
import type { ModuleResult } from '../types.js';

/** A task failure with Ansible's message and the result fields that go with it (changed false unless they say). */
export class ModuleFailure extends Error {
  constructor(
    message: string,
    readonly fields: Omit<ModuleResult, 'failed' | 'msg'> = {},
  ) {
    super(message);
    this.name = 'ModuleFailure';
  }
}
