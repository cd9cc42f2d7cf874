import type { Command } from 'commander';
import { loadLab, selectLab } from '../../lab/state/labSelect.js';
import { sshInvocation } from '../../lab/node/sshCommand.js';
import { runningNode } from '../../lab/node/nodeControl.js';
import { globals } from '../globals.js';
import { cliReporter } from '../reporter.js';
import { runSshSession } from '../../lab/node/sshSession.js';

async function runSsh(node: string, command: string[], opts: { specs?: string }): Promise<void> {
  const state = loadLab(selectLab({ lab: globals.lab, specDir: opts.specs }));
  runningNode(state, node);
  if (globals.verbose) process.stderr.write(`exec ${sshInvocation(state, node, command).argv.join(' ')}\n`);
  const reporter = cliReporter(globals.verbose);
  // The remote command's exit code is ours, as with ssh itself.
  process.exitCode = await runSshSession(state, node, command, { stderr: process.stderr, waiting: (m) => reporter.info(m) });
}

export function register(program: Command): void {
  for (const [name, desc] of [
    ['ssh', 'log in to a node, or run a command on it (arguments kept as given, like docker exec)'],
    ['exec', 'run a command on a node (the same as `vmlab ssh NODE -- CMD`)'],
  ] as const) {
    program
      .command(name)
      .argument('<node>', 'node name')
      .argument('[command...]', 'command and arguments, after --')
      .description(desc)
      .option('-S, --specs <dir>', 'spec directory naming the lab (options go before the node)')
      // Everything after the node belongs to the remote command, dashes and all.
      .passThroughOptions()
      .addHelpText('after', `\nExamples:\n  vmlab ${name} r1${name === 'exec' ? ' -- hostname' : ''}\n  vmlab ${name} r1 -- ip addr add 10.0.0.1/30 dev eth1\n  vmlab ${name} r1 -- sh -c 'ip a; ip r'\n  vmlab --lab spine-leaf ${name} leaf1 -- uptime`)
      // With pass-through options commander keeps the `--` separator: it is ours, not the command's.
      .action((node: string, command: string[], opts: { specs?: string }) => runSsh(node, command[0] === '--' ? command.slice(1) : command, opts));
  }
}
