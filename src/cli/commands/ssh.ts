import type { Command } from 'commander';
import { globals } from '../globals.js';
import { cliReporter } from '../reporter.js';
import { services } from '../services.js';

async function runSsh(node: string, command: string[], opts: { specs?: string }): Promise<void> {
  const svc = services();
  const ref = svc.labs.select({ lab: globals.lab, specDir: opts.specs });
  const reporter = cliReporter(globals.verbose);
  const exec = (argv: readonly string[]) => {
    if (globals.verbose) process.stderr.write(`exec ${argv.join(' ')}\n`);
  };
  // The remote command's exit code is ours, as with ssh itself.
  const io = { stderr: process.stderr, waiting: (m: string) => reporter.info(m), exec };
  process.exitCode = await svc.access.ssh(ref, node, command, io);
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
      .addHelpText(
        'after',
        `\nExamples:\n  vmlab ${name} r1${name === 'exec' ? ' -- hostname' : ''}\n` +
          `  vmlab ${name} r1 -- ip addr add 10.0.0.1/30 dev eth1\n` +
          `  vmlab ${name} r1 -- sh -c 'ip a; ip r'\n` +
          `  vmlab --lab spine-leaf ${name} leaf1 -- uptime`,
      )
      // With pass-through options commander keeps the `--` separator: it is ours, not the command's.
      .action((node: string, command: string[], opts: { specs?: string }) =>
        runSsh(node, command[0] === '--' ? command.slice(1) : command, opts),
      );
  }
}
