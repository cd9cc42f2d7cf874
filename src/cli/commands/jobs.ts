import type { Command } from 'commander';
import { LabError } from '../../lab/labError.js';
import { stateRoot } from '../../lab/labSelect.js';
import { openStore, storePath } from '../../store/database.js';
import { JobStore } from '../../jobs/jobStore.js';
import { reapInterrupted } from '../../jobs/reap.js';
import { isAlive } from '../../lab/processes.js';
import { printJson, table } from '../output.js';

export function register(program: Command): void {
  const jobs = program.command('jobs').description('downloads, imports and conversions: progress, log, cancel');
  const open = () => openStore(storePath(stateRoot()));
  /** The jobs, with those a dead process left `running` finished first. */
  const store = () => {
    const db = open();
    reapInterrupted(db, isAlive);
    return new JobStore(db);
  };
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
    .description('stop a job: a running one sees it within half a second; one whose process is gone is cancelled at once')
    .action((id: string) => {
      const db = open();
      const jobs = new JobStore(db);
      const job = jobs.get(id);
      if (!job) throw new LabError(`no job "${id}"`, 'see vmlab jobs list', 2);
      // Before any reaping: a job whose process is gone is cancelled, not "failed".
      const outcome = jobs.cancel(id, isAlive);
      reapInterrupted(db, isAlive);
      if (outcome === 'not-active') throw new LabError(`job "${id}" is not queued or running (it is ${job.status})`, 'see vmlab jobs list', 2);
      process.stdout.write(outcome === 'cancelled' ? `cancelled ${id}${job.pid !== null && job.status === 'running' ? ` (its process ${job.pid} was gone)` : ''}\n` : `cancel requested for ${id}\n`);
    });
}
