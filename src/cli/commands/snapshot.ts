import type { Command } from 'commander';
import { services } from '../services.js';
import { cliReporter } from '../reporter.js';
import { globals } from '../globals.js';
import { printJson, table } from '../output.js';
import { OptionError } from '../options.js';
import { isStoreName } from '../../spec/names.js';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface SnapshotFlags {
  specs?: string;
  name?: string;
  list?: boolean;
  delete?: string;
  json?: boolean;
  force?: boolean;
  diskOnly?: boolean;
  export?: string;
  withBase?: boolean;
}

type Services = ReturnType<typeof services>;
type Ref = ReturnType<Services['labs']['select']>;

const SNAPSHOT_DESCRIPTION =
  'save the whole lab at one consistent point (every VM paused, RAM and disks saved, resumed); ' +
  'list or delete snapshots';
const EXPORT_HELP =
  'with --name: also write the snapshot into one portable file (taken first if it does not exist); ' +
  'a bare name (no "/" or ".") keeps it in vmlab\'s store, where deploy --snapshot <name> finds it';
const RESUME_DESCRIPTION =
  'resume every paused VM of the lab (a vmlab killed during a snapshot leaves them paused; ' +
  'the next snapshot command resumes them too)';

/** Exactly one mode, and the options that go with it. */
function checkFlags(opts: SnapshotFlags): void {
  const modes = [opts.name !== undefined, Boolean(opts.list), opts.delete !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new OptionError('bad_option', 'give exactly one of --name <name>, --list or --delete <name>');
  if (opts.json && !opts.list) throw new OptionError('bad_option', '--json goes with --list');
  if ((opts.export !== undefined || opts.withBase) && opts.name === undefined)
    throw new OptionError('bad_option', '--export and --with-base go with --name <name>');
  if (opts.withBase && opts.export === undefined) throw new OptionError('bad_option', '--with-base goes with --export');
}

function printSnapshots(svc: Services, ref: Ref, json: boolean): void {
  const all = svc.snapshots.list(ref);
  if (json) {
    printJson(all);
    return;
  }
  if (!all.length) {
    process.stdout.write(`lab ${ref.name} has no snapshots (vmlab snapshot --name <name>)\n`);
    return;
  }
  const rows = all.map((s) => {
    const [nodes, vmState] = [Object.keys(s.nodes).join(','), mib(svc.snapshots.vmStateBytes(s))];
    return [s.name, s.created, s.kind, s.accel.toUpperCase(), s.machine, s.qemu_version, nodes, vmState];
  });
  process.stdout.write(
    table(['NAME', 'CREATED', 'KIND', 'ACCEL', 'MACHINE', 'QEMU', 'NODES', 'VM STATE'], rows) + '\n',
  );
}

async function takeAndExport(svc: Services, ref: Ref, opts: SnapshotFlags & { name: string }): Promise<void> {
  const r = await svc.snapshots.takeAndExport(
    ref,
    {
      name: opts.name,
      force: Boolean(opts.force),
      diskOnly: Boolean(opts.diskOnly),
      ...(opts.export !== undefined ? { export: opts.export } : {}),
      withBase: Boolean(opts.withBase),
    },
    { reporter: cliReporter(globals.verbose) },
  );
  if (r.taken) {
    const rec = r.taken;
    const vmState = mib(svc.snapshots.vmStateBytes(rec));
    const what = rec.kind === 'full' ? `lab paused ${secs(rec.took_ms)}, VM state ${vmState}` : 'disks only';
    process.stdout.write(
      `snapshot ${rec.name} of lab ${ref.name}: ${Object.keys(rec.nodes).length} node(s), ${what}\n`,
    );
  }
  if (r.exported && opts.export !== undefined) {
    const x = r.exported;
    const base = x.base_included ? ', base images included' : '';
    const paused = `lab paused ${secs(x.paused_ms)}`;
    process.stdout.write(
      `exported ${opts.name} to ${x.file}: ${mib(x.bytes)} in ${secs(x.took_ms)} (${paused})${base}\n`,
    );
    const warm = isStoreName(opts.export) ? opts.export : x.file;
    process.stdout.write(`  start it warm: vmlab deploy -S <spec dir> --snapshot ${warm}\n`);
  }
}

function snapshotCommand(program: Command): void {
  program
    .command('snapshot')
    .argument('[lab]', 'lab name (default: the only deployed lab)')
    .description(SNAPSHOT_DESCRIPTION)
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .option('--name <name>', 'take a snapshot with this name')
    .option('--force', 'replace a snapshot of the same name')
    .option('--disk-only', 'disks only, no RAM state: every node must be stopped')
    .option('--export <file>', EXPORT_HELP)
    .option('--with-base', 'with --export: carry the base images too (else they are referenced by sha256)')
    .option('--list', "list the lab's snapshots")
    .option('--json', 'with --list: machine-readable output')
    .option('--delete <name>', 'delete a snapshot from every node')
    .addHelpText(
      'after',
      `
Examples:
  vmlab snapshot --name base                  pause, save every node, resume
  vmlab snapshot --name base --force spine    replace "base" in lab spine
  vmlab snapshot --name ready --export ready   take "ready" (if new), keep it for deploy --snapshot ready
  vmlab snapshot --name ready --export ci.tar --with-base   one file a CI job can deploy warm anywhere
  vmlab snapshot --list --json
  vmlab snapshot --delete base
  vmlab stop r1 && vmlab stop r2 && vmlab snapshot --disk-only --name cold
  vmlab restore --name base                   every node back to "base"`,
    )
    .action(async (lab: string | undefined, opts: SnapshotFlags) => {
      checkFlags(opts);
      const svc = services();
      const ref = svc.labs.select({ lab: lab ?? globals.lab, specDir: opts.specs });
      if (opts.list) return printSnapshots(svc, ref, Boolean(opts.json));
      if (opts.delete !== undefined) {
        await svc.snapshots.delete(ref, opts.delete, { reporter: cliReporter(globals.verbose) });
        process.stdout.write(`deleted snapshot ${opts.delete} of lab ${ref.name}\n`);
        return;
      }
      await takeAndExport(svc, ref, { ...opts, name: opts.name! });
    });
}

function restoreCommand(program: Command): void {
  program
    .command('restore')
    .argument('[lab]', 'lab name (default: the only deployed lab)')
    .description(
      'bring every node back to a snapshot: links re-made, guest clocks set to now; stopped nodes start from it',
    )
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .requiredOption('--name <name>', 'the snapshot to restore')
    .addHelpText(
      'after',
      '\nExamples:\n  vmlab restore --name base\n  vmlab restore --name base spine\n' +
        '  vmlab snapshot --list          the snapshots there are',
    )
    .action(async (lab: string | undefined, opts: { specs?: string; name: string }) => {
      const svc = services();
      const ref = svc.labs.select({ lab: lab ?? globals.lab, specDir: opts.specs });
      const r = await svc.snapshots.restore(ref, opts.name, { reporter: cliReporter(globals.verbose) });
      const how =
        r.kind === 'disk-only'
          ? 'disks restored; start the nodes with vmlab start <node>'
          : [
              r.loaded.length && `loaded on ${r.loaded.join(', ')}`,
              r.started.length && `started ${r.started.join(', ')} from it`,
            ]
              .filter(Boolean)
              .join(', ');
      process.stdout.write(`restored ${r.name} in lab ${ref.name} (${how}) in ${secs(r.ms)}\n`);
    });
}

function resumeCommand(program: Command): void {
  program
    .command('resume')
    .argument('[lab]', 'lab name (default: the only deployed lab)')
    .description(RESUME_DESCRIPTION)
    .option('-S, --specs <dir>', 'spec directory naming the lab')
    .addHelpText('after', '\nExamples:\n  vmlab resume\n  vmlab resume spine')
    .action(async (lab: string | undefined, opts: { specs?: string }) => {
      const svc = services();
      const ref = svc.labs.select({ lab: lab ?? globals.lab, specDir: opts.specs });
      const resumed = await svc.snapshots.resume(ref, { reporter: cliReporter(globals.verbose) });
      process.stdout.write(
        resumed.length ? `resumed ${resumed.join(', ')} in lab ${ref.name}\n` : `no VM of lab ${ref.name} was paused\n`,
      );
    });
}

export function register(program: Command): void {
  snapshotCommand(program);
  restoreCommand(program);
  resumeCommand(program);
}
