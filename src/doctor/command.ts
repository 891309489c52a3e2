// `imgplay doctor`: the host tools and kernel features image builds need, and what is missing.
import type { Command } from 'commander';
import { EXIT } from '../errors.js';

/** Adds `imgplay doctor` to the CLI. */
export function registerDoctorCommand(program: Command, io: { out: (s: string) => void; setCode: (n: number) => void }): void {
  program
    .command('doctor')
    .description('list the host tools and kernel features image builds need, and what is missing')
    .action(async () => {
      const { diagnose, formatFindings } = await import('./diagnose.js');
      const report = formatFindings(await diagnose());
      io.out(report.text);
      io.setCode(report.ok ? EXIT.ok : EXIT.error);
    });
}
