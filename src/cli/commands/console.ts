import type { Command } from 'commander';
import { services } from '../services.js';
import { globals } from '../globals.js';

export function register(program: Command): void {
  program
    .command('console')
    .argument('<node>', 'node name')
    .description('attach to the serial console of a node; Ctrl-] detaches')
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .addHelpText(
      'after',
      '\nThe console is raw: what you type goes to the guest. Press Ctrl-] to leave.\n' +
        "It is a unix socket only the lab's owner can open: ~/.vmlab/labs/<lab>/qemu/<node>.console\n" +
        '(by hand: socat -,raw,echo=0,escape=0x1d UNIX-CONNECT:<that path>); a lab with "console_tcp": true\n' +
        'listens on 127.0.0.1:<console_port> instead, open to every local user.\n' +
        'Everything the guest printed is also in ~/.vmlab/labs/<lab>/logs/<node>.serial.log.\n' +
        '\nExamples:\n  vmlab console r1',
    )
    .action(async (node: string, opts: { specs?: string }) => {
      const svc = services();
      const ref = svc.labs.select({ lab: globals.lab, specDir: opts.specs });
      const attached = (where: string) => {
        if (process.stdin.isTTY) process.stderr.write(`[vmlab: console of ${node} at ${where}; Ctrl-] to detach]\r\n`);
      };
      await svc.access.attachTerminal(ref, node, { input: process.stdin, output: process.stdout, attached });
    });
}
