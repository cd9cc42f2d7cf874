import type { Command } from 'commander';
import { services } from '../services.js';
import { printJson, table } from '../output.js';

export function register(program: Command): void {
  const jobs = program.command('jobs').description('downloads, imports and conversions: progress, log, cancel');
  jobs
    .command('list')
    .option('--json', 'machine-readable output')
    .description('recent jobs')
    .action((opts: { json?: boolean }) => {
      const list = services().jobs.list();
      if (opts.json) return printJson(list);
      process.stdout.write(
        table(
          ['ID', 'KIND', 'STATUS', 'PROGRESS', 'CREATED'],
          list.map((j) => [j.id, j.kind, j.status, `${Math.round(j.progress * 100)}%`, j.created_at]),
        ) + '\n',
      );
    });
  jobs
    .command('show')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .description('a job with its log')
    .action(async (id: string, opts: { json?: boolean }) => {
      const j = await services().jobs.find(id);
      await services().jobs.close();
      if (opts.json) return printJson(j);
      process.stdout.write(
        `${j.kind} ${j.id}: ${j.status} ${Math.round(j.progress * 100)}%${j.error ? ` (${j.error})` : ''}\n${j.log}`,
      );
    });
  jobs
    .command('cancel')
    .argument('<id>')
    .description(
      'stop a job: a running one sees it within half a second; one whose process is gone is cancelled at once',
    )
    .action(async (id: string) => {
      const { job, outcome, processGone } = await services().jobs.cancelAnywhere(id);
      await services().jobs.close();
      process.stdout.write(
        outcome === 'cancelled'
          ? `cancelled ${id}${processGone ? ` (its process ${job.pid} was gone)` : ''}\n`
          : `cancel requested for ${id}\n`,
      );
    });
}
