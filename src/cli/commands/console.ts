import type { Command } from 'commander';
import { attachConsole } from '../../lab/console.js';
import { services } from '../services.js';
import { globals } from '../globals.js';

export function register(program: Command): void {
  program
    .command('console')
    .argument('<node>', 'node name')
    .description('attach to the serial console of a node; Ctrl-] detaches')
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .addHelpText('after', '\nThe console is raw: what you type goes to the guest. Press Ctrl-] to leave.\nEverything the guest printed is also in ~/.vmlab/labs/<lab>/logs/<node>.serial.log.\n\nExamples:\n  vmlab console r1')
    .action(async (node: string, opts: { specs?: string }) => {
      const labs = services().labs;
      const port = labs.consoleForTerminal(labs.select({ lab: globals.lab, specDir: opts.specs }), node);
      if (process.stdin.isTTY) process.stderr.write(`[vmlab: console of ${node} on 127.0.0.1:${port}; Ctrl-] to detach]\r\n`);
      await attachConsole(port, process.stdin, process.stdout);
    });
}
