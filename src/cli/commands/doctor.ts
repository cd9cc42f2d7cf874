import type { Command } from 'commander';
import { services } from '../services.js';
import { printJson, style } from '../output.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'check this host: the accelerator verdict and its evidence, QEMU and the tools vmlab runs, ' +
        'capacity (cores, memory, load, nodes that fit), the state root',
    )
    .option('--reprobe', 'run the KVM probe again instead of reading the cached verdict')
    .option('-S, --specs <dir>', 'say how many nodes of each platform of this spec directory fit')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  vmlab doctor\n  vmlab doctor --reprobe\n' +
        '  vmlab doctor -S examples/demo       how many nodes of each platform fit\n' +
        '  vmlab doctor --json | jq .capacity',
    )
    .action(async (opts: { reprobe?: boolean; json?: boolean; specs?: string }) => {
      const r = await services().host.doctor(Boolean(opts.reprobe), opts.specs);
      if (opts.json) printJson(r);
      else {
        const a = r.accel;
        const c = r.capacity;
        const when =
          a.source === 'cache'
            ? `cached ${a.at} in ${a.cacheFile}`
            : a.source === 'probe'
              ? `probed now in ${a.probeMs} ms`
              : a.source;
        const out = [
          `${style.bold('accelerator')}  ${a.accel === 'kvm' ? style.green('KVM') : style.yellow('TCG')}: ` +
            `${a.reason} (${when})`,
          ...a.evidence.map((e) => `  - ${e}`),
          `  host: kernel ${a.key.kernel}; QEMU ${a.key.qemu}`,
          '',
          style.bold('tools'),
          ...r.tools.map(
            (t) =>
              `  ${t.path ? style.green('ok') : t.required ? style.red('missing') : style.yellow('absent')}  ` +
              `${t.name.padEnd(20)} ${t.version ?? t.path ?? ''}  (${t.for})`,
          ),
          '',
          style.bold('capacity'),
          `  ${c.cores} cores, ${c.mem_available_mb} of ${c.mem_total_mb} MiB memory available, ` +
            `load ${c.load.join(' ')}; deploy boots ${c.max_parallel} node(s) at a time`,
          `  KSM (page merging): ${
            c.ksm
              ? c.ksm.run === 1
                ? `on, ${c.ksm.pages_sharing} pages shared`
                : 'off (as root: echo 1 > /sys/kernel/mm/ksm/run)'
              : 'not in this kernel'
          }`,
          ...c.fits.map(
            (f) => `  ${String(f.nodes).padStart(5)} node(s) of ${f.what} fit (${f.per_node_mb} MiB each with QEMU)`,
          ),
          '',
          `${style.bold('state root')}  ${r.stateRoot.path} ` +
            `${r.stateRoot.mode ? `(mode ${r.stateRoot.mode})` : '(not created yet)'}`,
          `${style.bold('node')}  ${r.node}`,
        ];
        if (r.warnings.length) out.push('', style.yellow('warnings:'), ...r.warnings.map((w) => `  - ${w}`));
        if (r.problems.length) out.push('', style.red('problems:'), ...r.problems.map((p) => `  - ${p}`));
        process.stdout.write(out.join('\n') + '\n');
      }
      if (r.problems.length) process.exitCode = 1;
    });
}
