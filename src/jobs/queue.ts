import type { JobRecord } from './jobStore.js';
import type { JobContext } from './runJob.js';

/**
 * One job interface, two backends: the embedded one (the SQLite jobs table,
 * handlers in this process; the default) and BullMQ on Redis
 * (VMLAB_REDIS_URL: `vmlab serve` enqueues, `vmlab worker` on any machine
 * takes jobs of the kinds it handles). Both are run by one shared test
 * suite (test/integration/jobQueue.suite.ts).
 */
export type JobHandler = (params: Record<string, unknown>, ctx: JobContext) => Promise<unknown>;

export interface JobWorker {
  /** Stop taking jobs; running ones finish first. */
  close(): Promise<void>;
}

export type CancelOutcome = 'cancelled' | 'requested' | 'not-active';

export interface JobQueue {
  readonly backend: 'embedded' | 'redis';
  /** A new queued job; a worker for its kind (here or elsewhere) runs it. */
  enqueue(kind: string, target: string | null, params: Record<string, unknown>): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** A queued job is cancelled at once; a running one is asked to stop (its signal aborts). */
  cancel(id: string): Promise<CancelOutcome>;
  /** The record once the job is over (succeeded, failed or cancelled). */
  wait(id: string, pollMs?: number): Promise<JobRecord>;
  /** Take jobs of these kinds and run them, `concurrency` at a time per kind. */
  work(handlers: Record<string, JobHandler>, opts?: { concurrency?: number }): JobWorker;
  close(): Promise<void>;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Poll `get` until the job is over (both backends keep their records in a store another process may write). */
export async function waitFor(
  get: (id: string) => Promise<JobRecord | undefined>,
  id: string,
  pollMs = 200,
): Promise<JobRecord> {
  for (;;) {
    const j = await get(id);
    if (!j) throw new Error(`job ${id} is gone`);
    if (TERMINAL.has(j.status)) return j;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
