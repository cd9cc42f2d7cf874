import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { loadLab, selectLab } from '../../lab/labSelect.js';
import { sshInvocation } from '../../lab/sshCommand.js';
import { runningNode } from '../../lab/nodeControl.js';
import { globals } from '../globals.js';

async function runSsh(node: string, command: string[], opts: { specs?: string }): Promise<void> {
  const state = loadLab(selectLab({ lab: globals.lab, specDir: opts.specs }));
  runningNode(state, node);
  const { argv, env } = sshInvocation(state, node, command);
  if (globals.verbose) process.stderr.write(`exec ${argv.join(' ')}\n`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
    child.on('error', () => resolve(127));
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + 1 : 1)));
  });
  // The remote command's exit code is ours, as with ssh itself.
  process.exitCode = code;
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
