// The imgplay command line: each command registers itself from its own folder (run/, serve/, boot/, ...); this
// file only builds the program, parses argv and turns what escapes a command into an exit code.
import { Command, CommanderError } from 'commander';
import { registerBootCommand } from './boot/command.js';
import { registerCacheCommand } from './cache/command.js';
import { registerDiffCommand } from './diff/command.js';
import { registerDocCommand } from './doc/command.js';
import { registerDoctorCommand } from './doctor/command.js';
import { registerLockCommand } from './lock/command.js';
import { EXIT } from './errors.js';
import { reportError } from './report/error-text.js';
import { registerRunCommand, runCommand } from './run/command.js';
import { registerServeCommand } from './serve/command.js';
import { imgplayVersion } from './host/version.js';

/** Runs the CLI with process.argv-style arguments and returns the exit code. */
export async function main(argv: string[], io: { stdout?: (s: string) => void; stderr?: (s: string) => void } = {}): Promise<number> {
  const out = io.stdout ?? stdoutWriter();
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  let code: number = EXIT.ok;
  const program = new Command('imgplay')
    .description('Run Ansible playbooks fast, over local and chroot connections, to build netboot images.')
    .version(imgplayVersion())
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err })
    .showHelpAfterError('(run imgplay --help for usage)');

  const commandIo = { out, err, setCode: (n: number) => void (code = n) };
  registerRunCommand(program, commandIo);
  registerDoctorCommand(program, commandIo);
  registerLockCommand(program, { ...commandIo, runPlaybook: runCommand });
  registerServeCommand(program, commandIo);
  registerBootCommand(program, commandIo);
  registerDocCommand(program, commandIo);
  registerCacheCommand(program, commandIo);
  registerDiffCommand(program, commandIo);

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      // A command whose exit codes follow another tool's keeps its own for a bad command line (imgplay diff: 2).
      return e.exitCode > 1 ? e.exitCode : EXIT.badOptions;
    }
    return reportError(e, err);
  }
  return code;
}

// Writes to stdout until its reader goes away (`imgplay site.yml | head`): then output stops but the run
// goes on, so a build still finishes and cleans up instead of dying halfway with EPIPE.
function stdoutWriter(): (s: string) => void {
  let open = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    open = false;
  });
  return (s) => {
    if (open) process.stdout.write(s);
  };
}
