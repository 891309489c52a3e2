// `imgplay serve` as the command line runs it, in a process of its own: argv is what follows `imgplay`.
import { Command } from 'commander';
import { registerServeCommand } from '../../../src/serve/command.js';

const program = new Command('imgplay').exitOverride();
registerServeCommand(program, {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  setCode: (n) => (process.exitCode = n),
});
await program.parseAsync(process.argv.slice(2), { from: 'user' });
