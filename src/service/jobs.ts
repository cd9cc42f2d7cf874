import { isAlive } from '../host/processes.js';
import { LabError } from '../lab/labError.js';
import { JobStore, type JobRecord } from '../jobs/jobStore.js';
import { reapInterrupted } from '../jobs/reap.js';
import { runJob, type JobContext } from '../jobs/runJob.js';
import type { StoreHandle } from '../store/database.js';
import type { Settings } from '../host/settings.js';
import { EmbeddedQueue } from '../jobs/embeddedQueue.js';
import type { CancelOutcome, JobQueue } from '../jobs/queue.js';
import { RedisQueue } from '../jobs/redisQueue.js';

/**
 * Jobs: downloads, imports, conversions, deploys, as the store has them
 * (jobs a dead process left running are finished first). `run` queues
 * work in this process under a concurrency limit (VMLAB_JOB_CONCURRENCY,
 * default 2): what the server does with a deploy it was asked for.
 */
export class JobService {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  readonly limit: number;

  constructor(
    private readonly settings: Settings,
    private readonly handle: StoreHandle,
  ) {
    this.limit = settings.jobConcurrency;
  }

  private q: JobQueue | undefined;

  /** Jobs of kinds `vmlab worker` takes: BullMQ on Redis with VMLAB_REDIS_URL, else the store's jobs table. */
  queue(onError?: (message: string) => void): JobQueue {
    if (!this.q) {
      const url = this.settings.redisUrl;
      this.q = url ? new RedisQueue(url, 'vmlab', onError) : new EmbeddedQueue(this.handle.db(), isAlive);
    }
    return this.q;
  }

  /** Whether work goes to a job queue other processes take from (VMLAB_REDIS_URL). */
  get distributed(): boolean {
    return Boolean(this.settings.redisUrl);
  }

  /** A job from the store, or from the Redis queue (ids `<kind>.<uuid>`). */
  async find(id: string): Promise<JobRecord> {
    const local = this.store().get(id);
    if (local) return local;
    const remote = this.distributed ? await this.queue().get(id) : undefined;
    if (!remote) throw new LabError('job_not_found', `no job "${id}"`, { hint: 'see vmlab jobs list' });
    return remote;
  }

  /** Cancel a job wherever it lives (store or Redis queue). */
  async cancelAnywhere(
    id: string,
  ): Promise<{ job: JobRecord; outcome: Exclude<CancelOutcome, 'not-active'>; processGone: boolean }> {
    if (this.store(false).get(id) || !this.distributed) return this.cancel(id);
    const job = await this.find(id);
    const outcome = await this.queue().cancel(id);
    if (outcome === 'not-active')
      throw new LabError('job_not_active', `job "${id}" is not queued or running (it is ${job.status})`, {
        hint: 'see vmlab jobs list',
      });
    return { job, outcome, processGone: false };
  }

  /** Release the queue's connections (a worker or a server that is closing). */
  async close(): Promise<void> {
    await this.q?.close();
    this.q = undefined;
  }

  private store(reap = true): JobStore {
    const db = this.handle.db();
    if (reap) reapInterrupted(db, isAlive);
    return new JobStore(db);
  }

  /** Finish what dead processes left running (a server does this at start-up). */
  reap(): { jobs: number; images: number } {
    const r = reapInterrupted(this.handle.db(), isAlive);
    return { jobs: r.jobs.length, images: r.images.length };
  }

  list(limit?: number): JobRecord[] {
    return this.store().list(limit);
  }

  get(id: string): JobRecord {
    const j = this.store().get(id);
    if (!j) throw new LabError('job_not_found', `no job "${id}"`, { hint: 'see vmlab jobs list' });
    return j;
  }

  /**
   * Queue `work` as a job and return at once; it starts when a slot is
   * free (a job cancelled while queued never starts). `done` settles with
   * the outcome, which the job record also keeps.
   */
  run<T>(
    kind: string,
    target: string | null,
    params: Record<string, unknown>,
    work: (ctx: JobContext) => Promise<T>,
  ): { job: JobRecord; done: Promise<T> } {
    const jobs = this.store(false);
    const job = jobs.create(kind, target, params, process.pid);
    const done = this.slot().then(async (release) => {
      try {
        if (jobs.get(job.id)?.status !== 'queued')
          throw new LabError('cancelled', `job ${job.id} was cancelled before it started`);
        return await runJob(jobs, job, work);
      } finally {
        release();
      }
    });
    done.catch(() => undefined); // the outcome lives in the job record
    return { job, done };
  }

  /** A place among the running jobs: resolves with its release once fewer than the limit run. */
  slot(): Promise<() => void> {
    const release = () => {
      this.active--;
      this.waiting.shift()?.();
    };
    return new Promise((resolve) => {
      const take = () => {
        this.active++;
        resolve(release);
      };
      if (this.active < this.limit) take();
      else this.waiting.push(take);
    });
  }

  /**
   * Cancel a queued or running job: a live one sees the request within
   * half a second; one whose process is gone is cancelled at once.
   */
  cancel(id: string): { job: JobRecord; outcome: 'cancelled' | 'requested'; processGone: boolean } {
    // No reaping first: a job whose process is gone is cancelled, not "failed".
    const jobs = this.store(false);
    const job = jobs.get(id);
    if (!job) throw new LabError('job_not_found', `no job "${id}"`, { hint: 'see vmlab jobs list' });
    const outcome = jobs.cancel(id, isAlive);
    reapInterrupted(this.handle.db(), isAlive);
    if (outcome === 'not-active')
      throw new LabError('job_not_active', `job "${id}" is not queued or running (it is ${job.status})`, {
        hint: 'see vmlab jobs list',
      });
    return { job, outcome, processGone: outcome === 'cancelled' && job.pid !== null && job.status === 'running' };
  }
}
