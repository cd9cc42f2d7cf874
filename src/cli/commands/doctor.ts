import type { Command } from 'commander';
import { services } from '../services.js';
import { printJson, style } from '../output.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check this host: the accelerator verdict and its evidence, QEMU and the tools vmlab runs, the state root')
    .option('--reprobe', 'run the KVM probe again instead of reading the cached verdict')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  vmlab doctor\n  vmlab doctor --reprobe\n  vmlab doctor --json | jq .accel')
    .action(async (opts: { reprobe?: boolean; json?: boolean }) => {
      const r = await services().host.doctor(Boolean(opts.reprobe));
      if (opts.json) printJson(r);
      else {
        const a = r.accel;
        const when = a.source === 'cache' ? `cached ${a.at} in ${a.cacheFile}` : a.source === 'probe' ? `probed now in ${a.probeMs} ms` : a.source;
        const out = [
          `${style.bold('accelerator')}  ${a.accel === 'kvm' ? style.green('KVM') : style.yellow('TCG')}: ${a.reason} (${when})`,
          ...a.evidence.map((e) => `  - ${e}`),
          `  host: kernel ${a.key.kernel}; QEMU ${a.key.qemu}`,
          '',
          style.bold('tools'),
          ...r.tools.map((t) => `  ${t.path ? style.green('ok') : t.required ? style.red('missing') : style.yellow('absent')}  ${t.name.padEnd(20)} ${t.version ?? t.path ?? ''}  (${t.for})`),
          '',
          `${style.bold('state root')}  ${r.stateRoot.path} ${r.stateRoot.mode ? `(mode ${r.stateRoot.mode})` : '(not created yet)'}`,
          `${style.bold('node')}  ${r.node}`,
        ];
        if (r.warnings.length) out.push('', style.yellow('warnings:'), ...r.warnings.map((w) => `  - ${w}`));
        if (r.problems.length) out.push('', style.red('problems:'), ...r.problems.map((p) => `  - ${p}`));
        process.stdout.write(out.join('\n') + '\n');
      }
      if (r.problems.length) process.exitCode = 1;
    });
}
