import type { Command } from 'commander';
import { services } from '../services.js';
import { printJson, statusColor, table } from '../output.js';
import { globals } from '../globals.js';

export function register(program: Command): void {
  program
    .command('status')
    .argument('[lab]', 'lab name (default: every deployed lab)')
    .description('show the nodes of deployed labs: state, pid, SSH and console ports, and what each QEMU costs (RSS, CPU time)')
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  vmlab status\n  vmlab status spine-leaf --json')
    .action(async (lab: string | undefined, opts: { specs?: string; json?: boolean }) => {
      const named = lab ?? globals.lab;
      const svc = services().labs;
      const labs = named || opts.specs ? [await svc.get(svc.select({ lab: named, specDir: opts.specs }))] : await svc.list();
      if (opts.json) return printJson(named || opts.specs ? labs[0] : labs);
      if (labs.length === 0) {
        process.stdout.write('no labs deployed (vmlab deploy -S <spec dir>)\n');
        return;
      }
      for (const l of labs) {
        const about = [statusColor(l.status), l.accel?.toUpperCase(), l.spec_dir && `from ${l.spec_dir}`].filter(Boolean).join(', ');
        process.stdout.write(`lab ${l.name} (${about})\n`);
        if (l.hint) process.stdout.write(`  ${l.hint}\n`);
        const rows = l.nodes.map((n) => [
          n.node,
          statusColor(n.status),
          n.pid ? String(n.pid) : '-',
          n.ssh_port ? `${n.mgmt_ip}:${n.ssh_port}` : '-',
          n.console_port ? String(n.console_port) : '-',
          n.platform ?? '-',
          n.rss_bytes !== null ? `${Math.round(n.rss_bytes / 2 ** 20)} MiB` : '-',
          n.cpu_seconds !== null ? `${n.cpu_seconds.toFixed(1)} s` : '-',
        ]);
        process.stdout.write(table(['NODE', 'STATUS', 'PID', 'SSH', 'CONSOLE', 'PLATFORM', 'RSS', 'CPU'], rows) + '\n');
        if (l.links.length) {
          process.stdout.write(table(['LINK', 'A', 'Z', 'PORT'], l.links.map((k, i) => [String(i), k.a, k.z, `${k.transport} ${k.port}${k.z_port ? `/${k.z_port}` : ''}`])) + '\n');
        }
      }
    });
}
