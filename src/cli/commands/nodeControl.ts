import type { Command } from 'commander';
import { services } from '../services.js';
import { cliReporter } from '../reporter.js';
import { globals } from '../globals.js';
import { wholeNumberOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('stop')
    .argument('<node>', 'node name')
    .description('stop a node (its disk is kept; vmlab start brings it back with its links)')
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .addOption(
      wholeNumberOption('--timeout <seconds>', 'how long the guest gets to power off before QEMU is quit', {
        unit: 'seconds',
        min: 0,
        default: 15,
      }),
    )
    .option('--force', 'do not ask the guest to power off: quit QEMU at once')
    .addHelpText('after', '\nExamples:\n  vmlab stop leaf1\n  vmlab stop --force leaf1')
    .action(async (node: string, opts: { specs?: string; timeout: number; force?: boolean }) => {
      const labs = services().labs;
      const ref = labs.select({ lab: globals.lab, specDir: opts.specs });
      const r = await labs.stopNode(
        ref,
        node,
        { timeoutMs: opts.timeout * 1000, force: Boolean(opts.force) },
        { reporter: cliReporter(globals.verbose) },
      );
      process.stdout.write(r === 'already' ? `${node} is not running\n` : `stopped ${node}\n`);
    });
  program
    .command('start')
    .argument('<node>', 'node name')
    .description('start a stopped node and reconnect its links')
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .addHelpText('after', '\nExamples:\n  vmlab start leaf1')
    .action(async (node: string, opts: { specs?: string }) => {
      const labs = services().labs;
      const ref = labs.select({ lab: globals.lab, specDir: opts.specs });
      const r = await labs.startNode(ref, node, { reporter: cliReporter(globals.verbose) });
      process.stdout.write(
        r.already ? `${node} is already running\n` : `started ${node}: SSH after ${(r.bootMs / 1000).toFixed(1)} s\n`,
      );
    });
}
