// Prints a message or a variable's value, as Ansible's debug module does.
import { UndefinedVariableError } from '../errors.js';
import type { Module } from './types.js';

interface DebugArgs {
  msg?: unknown;
  var?: string;
  verbosity: number;
}

export const debug: Module<DebugArgs> = {
  name: 'debug',
  aliases: ['ansible.builtin.debug'],
  schema: {
    type: 'object',
    properties: { msg: {}, var: { type: 'string' }, verbosity: { type: 'integer', default: 0 } },
    additionalProperties: false,
    not: { required: ['msg', 'var'] },
  },
  checkMode: true,
  rawArgs: ['var'],
  async run({ args, evaluate }) {
    if (args.var !== undefined) {
      let value: unknown;
      try {
        value = evaluate(args.var);
      } catch (err) {
        if (!(err instanceof UndefinedVariableError)) throw err;
        value = 'VARIABLE IS NOT DEFINED!';
      }
      return { changed: false, [args.var]: value };
    }
    return { changed: false, msg: (args.msg ?? 'Hello world!') as string };
  },
};
