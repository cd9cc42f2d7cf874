import type { Command } from 'commander';
import type { LabState } from '../../lab/state/labState.js';
import { services } from '../services.js';
import { cliReporter } from '../reporter.js';
import { printJson, style } from '../output.js';
import { planText } from '../planText.js';
import { globals } from '../globals.js';
import { OptionError, wholeNumberOption } from '../options.js';
import { lineSinks } from '../output.js';

const ALL_HOSTS_HELP =
  "multi-host lab, from one machine: run each host's deploy over SSH (VMLAB_SSH_CONFIG, VMLAB_REMOTE_BIN), " +
  'if one fails, roll back the hosts that deployed';
const MAX_PARALLEL_HELP =
  'boot at most n nodes at once; a node holds its slot until it is ready ' +
  '(default: the number of cores under TCG, twice that under KVM)';

export function register(program: Command): void {
  program
    .command('deploy')
    .description('deploy a lab from a spec directory (topology.json, platforms.json, profiles/)')
    .requiredOption('-S, --specs <dir>', 'spec directory')
    .option('--dry-run', 'print the plan (every QEMU argv, port and link) and start nothing')
    .option('--json', 'with --dry-run: the plan as JSON; otherwise: the lab state as JSON')
    .option(
      '--host <name>',
      'multi-host lab: start only the nodes whose vm_host is this vmlab.hosts entry (run it on each host)',
    )
    .option('--all-hosts', ALL_HOSTS_HELP)
    .option(
      '--snapshot <file|name>',
      'start warm: every node resumes from an exported snapshot (vmlab snapshot --export) instead of booting',
    )
    .addOption(wholeNumberOption('--max-parallel <n>', MAX_PARALLEL_HELP, { unit: 'nodes', min: 1, max: 1024 }))
    .option('--force', 'deploy even when the lab needs more memory than the host has available')
    .addHelpText(
      'after',
      `
Examples:
  vmlab deploy -S examples/demo
  vmlab deploy -S specs/ --dry-run
  vmlab deploy -S specs/ --dry-run --json | jq .nodes[0].argv
  vmlab deploy -S specs/ --snapshot ready          warm, from "vmlab snapshot --name ready --export"
  vmlab deploy -S specs/ --snapshot ci/lab.tar     warm, from an exported file
  vmlab deploy -S specs/ --host server-a           multi-host: this host's nodes (run on each host)
  vmlab deploy -S /shared/specs --all-hosts        multi-host over SSH: every host's part, output prefixed [host]
  vmlab deploy -S specs/ --max-parallel 4          boot 4 nodes at a time`,
    )
    .action(
      async (opts: {
        specs: string;
        dryRun?: boolean;
        json?: boolean;
        snapshot?: string;
        host?: string;
        allHosts?: boolean;
        maxParallel?: number;
        force?: boolean;
      }) => {
        const labs = services().labs;
        if (opts.allHosts) {
          if (opts.host !== undefined || opts.dryRun || opts.snapshot)
            throw new OptionError(
              'bad_option',
              "option --all-hosts: runs each host's own deploy; " +
                'it does not combine with --host, --dry-run or --snapshot',
            );
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once('SIGINT', onSignal);
          try {
            await labs.deployAllHosts(opts.specs, lineSinks, stop.signal);
          } finally {
            process.removeListener('SIGINT', onSignal);
          }
          return;
        }
        const planned = await labs.plan(opts.specs, opts.host !== undefined ? { host: opts.host } : {});
        const reporter = cliReporter(globals.verbose);
        for (const w of planned.plan.warnings) reporter.warn(w);
        if (opts.dryRun) {
          if (opts.json) printJson(planned.plan);
          else process.stdout.write(planText(planned.plan, planned.accelReason) + '\n');
          return;
        }
        // Ctrl-C / SIGTERM: the deploy rolls back what it started, then we exit 130.
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        let state: LabState;
        try {
          state = await labs.deploy(
            planned,
            { reporter, signal: stop.signal },
            {
              ...(opts.snapshot ? { snapshot: opts.snapshot } : {}),
              ...(opts.maxParallel ? { maxParallel: opts.maxParallel } : {}),
              force: Boolean(opts.force),
            },
          );
        } catch (err) {
          if (stop.signal.aborted) process.exit(130);
          throw err;
        } finally {
          process.removeListener('SIGINT', onSignal);
          process.removeListener('SIGTERM', onSignal);
        }
        if (opts.json) return printJson(state);
        const name = state.name;
        const remote = state.plan.remote ?? [];
        const where = state.plan.host
          ? ` on host ${state.plan.host}${
              remote.length ? ` (${remote.length} more on ${[...new Set(remote.map((r) => r.host))].join(', ')})` : ''
            }`
          : '';
        process.stdout.write(
          [
            style.green(`Lab "${name}" is up${where}: ${Object.keys(state.nodes).length} node(s) reachable by SSH.`),
            `  vmlab status                 nodes, ports, pids`,
            `  vmlab ssh <node>             log in (or: ssh -F ${state.plan.files.sshConfig} <node>)`,
            `  vmlab ssh <node> -- ip a     run a command`,
            `  vmlab console <node>         serial console (Ctrl-] to leave)`,
            `  vmlab destroy ${name.padEnd(14)} stop everything and restore the profiles`,
          ].join('\n') + '\n',
        );
      },
    );
}
