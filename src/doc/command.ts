// `imgplay doc [MODULE]`: a module's documentation from its spec, as ansible-doc prints it; no name lists the modules.
import type { Command } from 'commander';
import { didYouMean, EXIT, OptionsError } from '../errors.js';
import { findModule, modules } from '../modules/index.js';
import { moduleMarkdown, moduleText } from '../modules/spec-doc.js';
import { isSpecModule } from '../modules/spec.js';

/** Adds `imgplay doc` to the CLI. */
export function registerDocCommand(program: Command, io: { out: (s: string) => void; setCode: (n: number) => void }): void {
  program
    .command('doc')
    .description('show a module\'s arguments and behaviour (as ansible-doc does); with no module, list the modules')
    .argument('[module]', 'a module name, short or fully qualified (ansible.builtin.copy)')
    .option('--markdown', 'print the Markdown section docs/modules.md holds')
    .action((name: string | undefined, opts: { markdown?: boolean }) => {
      if (name === undefined) {
        const width = Math.max(...Object.keys(modules).map((n) => n.length));
        for (const [n, m] of Object.entries(modules).sort(([a], [b]) => a.localeCompare(b))) {
          io.out(`${n.padEnd(width)}  ${isSpecModule(m) ? m.spec.doc.short : '(documented in docs/modules.md)'}\n`);
        }
        io.setCode(EXIT.ok);
        return;
      }
      const mod = findModule(name);
      if (mod === undefined) {
        const hint = didYouMean(name, Object.keys(modules));
        throw new OptionsError(`there is no module '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; imgplay doc lists them`);
      }
      if (!isSpecModule(mod)) {
        io.out(`${mod.name}: documented in docs/modules.md (its spec is not written yet)\n`);
        io.setCode(EXIT.ok);
        return;
      }
      io.out(opts.markdown ? moduleMarkdown(mod.spec) : `${moduleText(mod.spec, Math.min(process.stdout.columns || 80, 100))}\n`);
      io.setCode(EXIT.ok);
    });
}
