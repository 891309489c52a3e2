// Prints a message or a variable's value, as Ansible's debug action does.
import { UndefinedVariableError } from '../errors.js';
import { defineModule } from './spec.js';

export const debug = defineModule(
  {
    name: 'debug',
    doc: {
      short: 'Prints a message, or the value of a variable or expression.',
      description: 'The result is shown on the task line (`ok: [host] => {...}`); with `verbosity: N` only when the run has at least N `-v`.',
      returns: '`msg`, or the expression given in `var` as the key of its value (`VARIABLE IS NOT DEFINED!` when undefined).',
    },
    args: {
      msg: { type: 'raw', description: 'The message: text, or any value (a list or mapping is shown as such). Default `Hello world!`.' },
      var: { description: 'A variable name or expression, not templated (`var: result.stdout_lines`).' },
      verbosity: { type: 'int', default: 0, description: 'Show only with at least this many `-v`.' },
    },
    rawArgs: ['var'],
    checkMode: 'full',
    traits: { verboseAlways: true, controllerOnly: true },
  },
  async ({ args, evaluate, template }) => {
    // Ansible's debug action says so itself (a task failure, not a refusal at planning).
    if (args.msg !== undefined && args.var !== undefined) return { failed: true, changed: false, msg: "'msg' and 'var' are incompatible options" };
    if (args.var !== undefined) {
      // `var={{ item }}`: Ansible templates the task's arguments first, so the variable named by item is shown.
      const name = /\{\{|\{%/.test(args.var) ? template(args.var) : args.var;
      let value: unknown;
      try {
        value = evaluate(name);
      } catch (err) {
        if (!(err instanceof UndefinedVariableError)) throw err;
        value = 'VARIABLE IS NOT DEFINED!';
      }
      return { changed: false, [name]: value };
    }
    // A msg given as null (an item that is None) is shown as null, as Ansible's action shows what it was given.
    return { changed: false, msg: (args.msg === undefined ? 'Hello world!' : args.msg) as string };
  },
);
