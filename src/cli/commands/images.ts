import type { Command } from 'commander';
import { buildTinyGuest, defaultTinyImagePath } from '../../images/tinyGuest.js';
import { LabError } from '../../lab/labError.js';
import { stateRoot } from '../../lab/labSelect.js';
import { cliReporter } from '../reporter.js';
import { globals } from '../globals.js';

export function register(program: Command): void {
  const images = program.command('images').description('VM images');
  images
    .command('build')
    .argument('<kind>', 'what to build: tiny (a small Linux test guest from Debian packages)')
    .description('build a guest image locally from Debian packages')
    .option('-o, --output <file>', 'where to write the qcow2 (default ~/.vmlab/images/vmlab-tiny.qcow2)')
    .addHelpText('after', '\nThe tiny guest: kernel + busybox + dropbear, boots in seconds under TCG, DHCP on eth0,\nSSH as root (password vmlab, or the lab key). Guest NIC N is ethN.\n\nExamples:\n  vmlab images build tiny\n  vmlab images build tiny --output /tmp/tiny.qcow2')
    .action(async (kind: string, opts: { output?: string }) => {
      if (kind !== 'tiny') throw new LabError(`unknown image kind "${kind}"`, 'the only kind is: tiny', 2);
      const out = await buildTinyGuest(opts.output ?? defaultTinyImagePath(stateRoot()), cliReporter(globals.verbose));
      process.stdout.write(`${out}\n`);
    });
}
