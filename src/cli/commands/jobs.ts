import type { Command } from 'commander';
import { LabError } from '../../lab/labError.js';
import { stateRoot } from '../../lab/labSelect.js';
import { openStore, storePath } from '../../store/database.js';
import { JobStore } from '../../jobs/jobStore.js';
import { printJson, table } from '../output.js';

export function register(program: Command): void {
  const jobs = program.command('jobs').description('downloads, imports and conversions: progress, log, cancel');
  const store = () => new JobStore(openStore(storePath(stateRoot())));
  jobs
    .command('list')
    .option('--json', 'machine-readable output')
    .description('recent jobs')
    .action((opts: { json?: boolean }) => {
      const list = store().list();
      if (opts.json) return printJson(list);
      process.stdout.write(table(['ID', 'KIND', 'STATUS', 'PROGRESS', 'CREATED'], list.map((j) => [j.id, j.kind, j.status, `${Math.round(j.progress * 100)}%`, j.created_at])) + '\n');
    });
  jobs
    .command('show')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .description('a job with its log')
    .action((id: string, opts: { json?: boolean }) => {
      const j = store().get(id);
      if (!j) throw new LabError(`no job "${id}"`, 'see vmlab jobs list', 2);
      if (opts.json) return printJson(j);
      process.stdout.write(`${j.kind} ${j.id}: ${j.status} ${Math.round(j.progress * 100)}%${j.error ? ` (${j.error})` : ''}\n${j.log}`);
    });
  jobs
    .command('cancel')
    .argument('<id>')
    .description('ask a running job to stop (its process sees it within half a second)')
    .action((id: string) => {
      if (!store().requestCancel(id)) throw new LabError(`job "${id}" is not queued or running`, 'see vmlab jobs list', 2);
      process.stdout.write(`cancel requested for ${id}\n`);
    });
}
