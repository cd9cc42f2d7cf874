import { Command, CommanderError } from 'commander';
import { VmlabError } from '../errors/vmlabError.js';
import { QemuError } from '../qemu/qemuError.js';
import { globals } from './globals.js';
import { style } from './output.js';
import { register as console_ } from './commands/console.js';
import { register as deploy } from './commands/deploy.js';
import { register as destroy } from './commands/destroy.js';
import { register as doctor } from './commands/doctor.js';
import { register as graph } from './commands/graph.js';
import { register as inventory } from './commands/inventory.js';
import { register as images } from './commands/images.js';
import { register as jobs } from './commands/jobs.js';
import { register as nodeControl } from './commands/nodeControl.js';
import { register as serve } from './commands/serve.js';
import { register as snapshot } from './commands/snapshot.js';
import { register as ssh } from './commands/ssh.js';
import { register as status } from './commands/status.js';
import { register as worker } from './commands/worker.js';
import { OptionError } from './options.js';

/*
 * A reader that goes away is not a failure: `vmlab status | head -1`,
 * `vmlab --help | true`.
 * - stdout: the command ends at once, silently, with exit code 0 (what the
 *   user asked for has reached everyone still listening; 0 rather than a
 *   SIGPIPE-like 141 so `set -o pipefail` scripts do not fail because head
 *   had enough). Commands write stdout only when their work is done, so no
 *   deploy or destroy is cut short by this.
 * - stderr: progress and diagnostics only. Further writes are dropped and
 *   the command finishes its work; its exit code still tells the outcome.
 */
const closedPipe = (err: NodeJS.ErrnoException) => err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED';
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (closedPipe(err)) process.exit(0);
  unexpected(err);
});
process.stderr.on('error', (err: NodeJS.ErrnoException) => {
  if (!closedPipe(err)) unexpected(err);
});
// Errors thrown outside the command's own await (an event handler, a stray promise): the same one-line report as any
// other bug.
process.on('uncaughtException', (err) => unexpected(err));
process.on('unhandledRejection', (err) => unexpected(err));

const program = new Command('vmlab')
  .description('Deploy QEMU network labs from topology.json with socket links: no root, no Docker.')
  .version('0.1.0')
  .option('-v, --verbose', 'show every command run and every fallback taken')
  .option('-l, --lab <name>', 'the lab to act on, when more than one is deployed')
  .enablePositionalOptions()
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .hook('preAction', (cmd) => {
    const o = cmd.opts<{ verbose?: boolean; lab?: string }>();
    globals.verbose = Boolean(o.verbose);
    globals.lab = o.lab;
  })
  .addHelpText(
    'after',
    `
Examples:
  vmlab images build tiny                 build the small test guest (Debian packages, offline after)
  vmlab deploy -S examples/demo           deploy a lab; SSH answers when it returns
  vmlab deploy -S specs/ --dry-run        print every QEMU argv and port, start nothing
  vmlab status                            nodes, pids, ports
  vmlab ssh r1 -- ip a                    run a command on a node
  vmlab console r1                        serial console (Ctrl-] to leave)
  vmlab stop r2 && vmlab start r2         restart a node; its links come back
  vmlab destroy                           stop everything, restore the profiles
  vmlab inventory --format ansible        Ansible inventory (also json: topology-data.json, ssh-config)
  vmlab graph --format dot                the topology with interface names (mermaid or dot)
  vmlab doctor                            KVM or TCG and why, QEMU and tools found, state root

Exit codes: 0 ok, 1 failure, 2 bad input (0 too when the reader of the output goes away,
as in vmlab status | head -1). State lives in $VMLAB_HOME (default ~/.vmlab).`,
  );

for (const register of [
  deploy,
  destroy,
  status,
  ssh,
  console_,
  nodeControl,
  snapshot,
  inventory,
  graph,
  images,
  jobs,
  doctor,
  serve,
  worker,
])
  register(program);

function fail(message: string, hint: string | undefined, code: number): never {
  process.stderr.write(style.errRed(`error: ${message}`) + '\n');
  if (hint) process.stderr.write(`  next: ${hint}\n`);
  process.exit(code);
}

/** -v may not have reached the preAction hook (an error while parsing options). */
function verbose(): boolean {
  const args = process.argv.slice(2);
  const end = args.indexOf('--');
  return globals.verbose || (end === -1 ? args : args.slice(0, end)).some((a) => a === '-v' || a === '--verbose');
}

/** A bug: one line and how to report it; the stack only with -v. */
function unexpected(err: unknown): never {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(style.errRed(`error: unexpected: ${e.message}`) + '\n');
  process.stderr.write(
    verbose()
      ? `${e.stack}\n`
      : '  this is a bug in vmlab: please report it with the output of the same command run with -v\n',
  );
  process.exit(1);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander printed its message already; --help and --version exit 0.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof OptionError) {
    process.stderr.write(style.errRed(`error: ${err.message}`) + '\n(run with --help for usage)\n');
    process.exit(2);
  }
  if (err instanceof QemuError && globals.verbose)
    fail(`${err.message}\n  argv: ${err.argv.join(' ')}`, err.hint, err.exitCode);
  // Every error vmlab means to show: its kind decides the exit code (input, not_found: 2; conflict, failure: 1).
  if (err instanceof VmlabError) fail(err.message, err.hint, err.exitCode);
  unexpected(err);
}
