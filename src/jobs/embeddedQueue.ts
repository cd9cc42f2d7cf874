import type { Db } from '../store/database.js';
import { JobStore, type JobRecord } from './jobStore.js';
import { waitFor, type CancelOutcome, type JobHandler, type JobQueue, type JobWorker } from './queue.js';
import { runJob } from './runJob.js';

/**
 * The default backend: jobs in the SQLite jobs table; a worker is a loop in
 * some vmlab process that claims queued jobs of its kinds (one UPDATE …
 * WHERE status = 'queued': two processes never run one job) and runs them
 * with runJob (progress, log, cancel flag polled from the store).
 */
export class EmbeddedQueue implements JobQueue {
  readonly backend = 'embedded' as const;
  private readonly jobs: JobStore;

  constructor(
    private readonly db: Db,
    private readonly isAlive: (pid: number) => boolean,
  ) {
    this.jobs = new JobStore(db);
  }

  async enqueue(kind: string, target: string | null, params: Record<string, unknown>): Promise<JobRecord> {
    return this.jobs.create(kind, target, params, null);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.jobs.get(id);
  }

  async cancel(id: string): Promise<CancelOutcome> {
    return this.jobs.cancel(id, this.isAlive);
  }

  wait(id: string, pollMs?: number): Promise<JobRecord> {
    return waitFor((x) => this.get(x), id, pollMs);
  }

  work(handlers: Record<string, JobHandler>, opts: { concurrency?: number } = {}): JobWorker {
    const kinds = Object.keys(handlers);
    const limit = opts.concurrency ?? 1;
    const running = new Set<Promise<unknown>>();
    let stopped = false;
    const claim = this.db.prepare(
      `UPDATE jobs SET status = 'running', pid = ?, started_at = ? WHERE id = ? AND status = 'queued'`,
    );
    const next = this.db.prepare(
      `SELECT * FROM jobs WHERE status = 'queued' AND cancel_requested = 0 ` +
        `AND kind IN (${kinds.map(() => '?').join(',')}) ORDER BY created_at LIMIT 1`,
    );
    const tick = () => {
      while (!stopped && running.size < limit) {
        const job = next.get(...kinds) as JobRecord | undefined;
        if (!job || claim.run(process.pid, new Date().toISOString(), job.id).changes === 0) return;
        const p = runJob(this.jobs, job, (ctx) =>
          handlers[job.kind]!(JSON.parse(job.params) as Record<string, unknown>, ctx),
        )
          .catch(() => undefined) // the outcome is in the record
          .finally(() => {
            running.delete(p);
            tick();
          });
        running.add(p);
      }
    };
    const timer = setInterval(tick, 200);
    tick();
    return {
      close: async () => {
        stopped = true;
        clearInterval(timer);
        await Promise.all(running);
      },
    };
  }

  async close(): Promise<void> {}
}
