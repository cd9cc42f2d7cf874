import type { Command } from 'commander';
import { services } from '../services.js';
import { lineSinks, printJson, statusColor, table } from '../output.js';
import { OptionError } from '../options.js';
import { globals } from '../globals.js';

export function register(program: Command): void {
  program
    .command('status')
    .argument('[lab]', 'lab name (default: every deployed lab)')
    .description(
      'show the nodes of deployed labs: state, pid, SSH ports, where each console is, ' +
        'and what each QEMU costs (RSS, CPU time)',
    )
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .option('--host <name>', "multi-host lab: check that this machine runs that host's nodes")
    .option('--all-hosts', 'multi-host lab (with -S): the status of every host over SSH, output prefixed [host]')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  vmlab status\n  vmlab status spine-leaf --json\n' +
        '  vmlab status -S specs/ --host server-a     ' +
        'multi-host: this host\'s nodes live, the others "remote (host …)"',
    )
    .action(
      async (lab: string | undefined, opts: { specs?: string; json?: boolean; host?: string; allHosts?: boolean }) => {
        const named = lab ?? globals.lab;
        const svc = services().labs;
        if (opts.allHosts) {
          if (!opts.specs || opts.json || opts.host !== undefined)
            throw new OptionError(
              'bad_option',
              'option --all-hosts: needs -S <spec dir> (the same path on every host); ' +
                'it does not combine with --json or --host',
            );
          return svc.onAllHosts(opts.specs, 'status', lineSinks);
        }
        if (opts.host !== undefined) svc.assertHost(svc.select({ lab: named, specDir: opts.specs }), opts.host);
        const labs =
          named || opts.specs ? [await svc.get(svc.select({ lab: named, specDir: opts.specs }))] : await svc.list();
        if (opts.json) return printJson(named || opts.specs ? labs[0] : labs);
        if (labs.length === 0) {
          process.stdout.write('no labs deployed (vmlab deploy -S <spec dir>)\n');
          return;
        }
        for (const l of labs) {
          const about = [statusColor(l.status), l.accel?.toUpperCase(), l.spec_dir && `from ${l.spec_dir}`]
            .filter(Boolean)
            .join(', ');
          process.stdout.write(`lab ${l.name} (${about})\n`);
          if (l.hint) process.stdout.write(`  ${l.hint}\n`);
          const hosts = l.nodes.some((n) => n.host);
          const rows = l.nodes.map((n) => [
            n.node,
            statusColor(n.status),
            n.pid ? String(n.pid) : '-',
            n.ssh_port ? `${n.mgmt_ip}:${n.ssh_port}` : '-',
            n.console_port ? String(n.console_port) : n.console_socket ? 'socket' : '-',
            n.platform ?? '-',
            n.rss_bytes !== null ? `${Math.round(n.rss_bytes / 2 ** 20)} MiB` : '-',
            n.cpu_seconds !== null ? `${n.cpu_seconds.toFixed(1)} s` : '-',
            ...(hosts ? [n.host ?? '-'] : []),
          ]);
          process.stdout.write(
            table(
              ['NODE', 'STATUS', 'PID', 'SSH', 'CONSOLE', 'PLATFORM', 'RSS', 'CPU', ...(hosts ? ['HOST'] : [])],
              rows,
            ) + '\n',
          );
          const socket = l.nodes.find((n) => n.console_socket);
          if (socket)
            process.stdout.write(
              `consoles: vmlab console <node> ` +
                `(a socket only you can open: ` +
                `${socket.console_socket!.replace(/[^/]+\.console$/, '<node>.console')})\n`,
            );
          if (l.links.length) {
            const via = (k: (typeof l.links)[number]) =>
              k.socket === 'unix'
                ? `unix ${k.transport === 'udp' ? 'datagram' : 'stream'} socket`
                : `${k.transport} ${k.port}${k.z_port ? `/${k.z_port}` : ''}`;
            process.stdout.write(
              table(
                ['LINK', 'A', 'Z', 'VIA'],
                l.links.map((k, i) => [String(i), k.a, k.z, via(k)]),
              ) + '\n',
            );
          }
        }
      },
    );
}
