import type { Command } from 'commander';
import { services } from '../services.js';
import { cliReporter } from '../reporter.js';
import { globals } from '../globals.js';
import { OptionError } from '../options.js';
import { lineSinks } from '../output.js';

export function register(program: Command): void {
  program
    .command('destroy')
    .argument('[lab]', 'lab name (default: the only deployed lab)')
    .description('stop every VM of a lab, delete its disks and state, restore the profiles')
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .option('--force', 'clean up even when the lab state is unreadable')
    .option(
      '--host <name>',
      "multi-host lab: check that this machine runs that host's nodes (destroy only ever stops this machine's)",
    )
    .option('--all-hosts', 'multi-host lab (with -S): destroy on every host over SSH, output prefixed [host]')
    .addHelpText(
      'after',
      '\nExamples:\n  vmlab destroy\n  vmlab destroy spine-leaf\n  vmlab destroy --force spine-leaf\n' +
        "  vmlab destroy -S specs/ --host server-a     multi-host: stop this host's nodes, restore their profiles",
    )
    .action(
      async (lab: string | undefined, opts: { specs?: string; force?: boolean; host?: string; allHosts?: boolean }) => {
        const labs = services().labs;
        if (opts.allHosts) {
          if (!opts.specs || opts.host !== undefined || opts.force)
            throw new OptionError(
              'bad_option',
              'option --all-hosts: needs -S <spec dir> (the same path on every host); ' +
                'it does not combine with --host or --force',
            );
          return labs.onAllHosts(opts.specs, 'destroy', lineSinks);
        }
        const ref = labs.selectIfAny({ lab: lab ?? globals.lab, specDir: opts.specs });
        if (!ref) {
          process.stdout.write('no lab is deployed: nothing to do\n');
          return;
        }
        labs.assertHost(ref, opts.host);
        const r = await labs.destroy(ref, { force: Boolean(opts.force) }, { reporter: cliReporter(globals.verbose) });
        if (!r.existed) {
          process.stdout.write(`lab "${ref.name}" is not deployed: nothing to do\n`);
          return;
        }
        process.stdout.write(
          `destroyed lab "${ref.name}"${r.stopped.length ? ` (stopped ${r.stopped.join(', ')})` : ''}\n`,
        );
        if (r.restoredProfiles.length) process.stdout.write(`restored ${r.restoredProfiles.join(', ')}\n`);
      },
    );
}
