import type { Command } from 'commander';
import { assertConsoleFree, attachConsole } from '../../lab/console.js';
import { consoleHolderFile } from '../../plan/labFiles.js';
import { loadLab, selectLab } from '../../lab/labSelect.js';
import { runningNode } from '../../lab/nodeControl.js';
import { globals } from '../globals.js';

export function register(program: Command): void {
  program
    .command('console')
    .argument('<node>', 'node name')
    .description('attach to the serial console of a node; Ctrl-] detaches')
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .addHelpText('after', '\nThe console is raw: what you type goes to the guest. Press Ctrl-] to leave.\nEverything the guest printed is also in ~/.vmlab/labs/<lab>/logs/<node>.serial.log.\n\nExamples:\n  vmlab console r1')
    .action(async (node: string, opts: { specs?: string }) => {
      const state = loadLab(selectLab({ lab: globals.lab, specDir: opts.specs }));
      const n = runningNode(state, node);
      assertConsoleFree(consoleHolderFile(state.plan.files.dir, node), node);
      if (process.stdin.isTTY) process.stderr.write(`[vmlab: console of ${node} on 127.0.0.1:${n.consolePort}; Ctrl-] to detach]\r\n`);
      await attachConsole(n.consolePort, process.stdin, process.stdout);
    });
}
