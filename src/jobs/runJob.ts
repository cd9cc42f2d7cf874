import type { JobRecord, JobStore } from './jobStore.js';

/** What a job's work function gets: report progress, log, and learn of cancellation. */
export interface JobContext {
  job: JobRecord;
  progress(fraction: number, detail?: Record<string, unknown>): void;
  log(line: string): void;
  /** Aborted when someone cancels the job (any process: the flag lives in the store). */
  signal: AbortSignal;
}

/** Observers of a job in this process (the CLI draws its progress bar from these). */
export interface JobObserver {
  /** The job exists and is starting: a server answers 202 with its id here. */
  started?(job: JobRecord): void;
  progress?(fraction: number, detail: Record<string, unknown>): void;
  log?(line: string): void;
}

const PROGRESS_WRITE_MS = 250;

/**
 * Run `work` as a job: status, progress, log and outcome are persisted;
 * a cancel request (from this or another process) aborts `signal`. The
 * job's result or error passes through unchanged.
 */
export async function runJob<T>(
  jobs: JobStore,
  job: JobRecord,
  work: (ctx: JobContext) => Promise<T>,
  observer: JobObserver = {},
): Promise<T> {
  const abort = new AbortController();
  jobs.start(job.id);
  observer.started?.(job);
  const poll = setInterval(() => {
    if (jobs.cancelRequested(job.id)) abort.abort(new Error('cancelled'));
  }, 500);
  let lastWrite = 0;
  const ctx: JobContext = {
    job,
    signal: abort.signal,
    progress(fraction, detail = {}) {
      observer.progress?.(fraction, detail);
      const t = Date.now();
      if (t - lastWrite >= PROGRESS_WRITE_MS || fraction >= 1) {
        lastWrite = t;
        jobs.progress(job.id, fraction, detail);
      }
    },
    log(line) {
      observer.log?.(line);
      jobs.log(job.id, line);
    },
  };
  try {
    const result = await work(ctx);
    jobs.finish(job.id, 'succeeded');
    return result;
  } catch (err) {
    jobs.finish(job.id, abort.signal.aborted ? 'cancelled' : 'failed', (err as Error).message);
    throw err;
  } finally {
    clearInterval(poll);
  }
}
