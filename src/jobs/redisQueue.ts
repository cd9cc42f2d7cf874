import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { VmlabError } from '../errors/vmlabError.js';
import type { JobRecord, JobStatus } from './jobStore.js';
import { waitFor, type CancelOutcome, type JobHandler, type JobQueue, type JobWorker } from './queue.js';
import type { JobContext } from './runJob.js';

interface Data {
  kind: string;
  target: string | null;
  params: Record<string, unknown>;
  created_at: string;
}

interface Progress {
  fraction: number;
  detail: Record<string, unknown>;
  worker?: string;
}

const PROGRESS_WRITE_MS = 250;
const CANCEL_POLL_MS = 500;

/**
 * BullMQ on Redis: one queue per job kind (`vmlab-<kind>`), so a worker
 * takes only the kinds it was started for. Progress and detail travel as
 * the BullMQ job's progress, log lines as its log, the outcome as its
 * state; a cancel is a key (`<prefix>:cancel:<id>`) that the worker polls
 * (a queued job is then skipped, a running one has its signal aborted).
 * Job ids carry the kind (`<kind>.<uuid>`), so a record is found from its id alone.
 */
export class RedisQueue implements JobQueue {
  readonly backend = 'redis' as const;
  private readonly redis: Redis;
  private readonly queues = new Map<string, Queue>();

  private lastError = '';

  constructor(
    readonly url: string,
    private readonly prefix = 'vmlab',
    /** Connection problems of a long-running worker, one line each (default: silent; calls report their own). */
    private readonly onError: (message: string) => void = () => undefined,
  ) {
    // Calls made while Redis is away fail after a couple of retries instead of waiting forever;
    // the workers' blocking connections (duplicates below) wait, as BullMQ requires.
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5000, lazyConnect: true });
    this.redis.on('error', (e: Error) => this.noteError(e));
  }

  private noteError(e: Error): void {
    if (e.message === this.lastError) return;
    this.lastError = e.message;
    this.onError(`redis ${this.url}: ${e.message}`);
  }

  /** Connected, or a clear error naming the URL (never a hang, never a stack). */
  private async ready(): Promise<void> {
    if (this.redis.status === 'ready') return;
    if (this.redis.status === 'wait') this.redis.connect().catch(() => undefined);
    const ok = await new Promise<boolean>((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(t);
        this.redis.off('ready', yes);
        this.redis.off('error', no);
        resolve(v);
      };
      const yes = () => done(true);
      const no = () => done(false); // refused or unresolvable: say so now, not after the timeout
      const t = setTimeout(no, 5000);
      this.redis.once('ready', yes);
      this.redis.once('error', no);
    });
    if (!ok) {
      throw new VmlabError(
        'redis_unreachable',
        `the job queue at VMLAB_REDIS_URL=${this.url} does not answer${this.lastError ? `: ${this.lastError}` : ''}`,
        {
          kind: 'failure',
          hint: 'start redis-server there, or unset VMLAB_REDIS_URL to run jobs in this process',
        },
      );
    }
  }

  private queue(kind: string): Queue {
    let q = this.queues.get(kind);
    if (!q) {
      q = new Queue(`${this.prefix}-${kind}`, { connection: this.redis, prefix: this.prefix });
      q.on('error', (e: Error) => this.noteError(e));
      this.queues.set(kind, q);
    }
    return q;
  }

  private cancelKey = (id: string) => `${this.prefix}:cancel:${id}`;

  async enqueue(kind: string, target: string | null, params: Record<string, unknown>): Promise<JobRecord> {
    if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`job kind "${kind}" is not a plain name`);
    await this.ready();
    const id = `${kind}.${randomUUID().slice(0, 12)}`;
    const data: Data = { kind, target, params, created_at: new Date().toISOString() };
    await this.queue(kind).add(kind, data, {
      jobId: id,
      removeOnComplete: { age: 7 * 86400 },
      removeOnFail: { age: 7 * 86400 },
    });
    return (await this.get(id))!;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const kind = id.split('.')[0];
    if (!kind || !id.includes('.') || !/^[a-z][a-z0-9-]*$/.test(kind)) return undefined;
    await this.ready();
    const job = (await this.queue(kind).getJob(id)) as Job<Data> | undefined;
    if (!job) return undefined;
    const [state, cancelled, logs] = await Promise.all([
      job.getState(),
      this.redis.exists(this.cancelKey(id)),
      this.queue(kind).getJobLogs(id),
    ]);
    const p = (
      typeof job.progress === 'object' && job.progress ? job.progress : { fraction: 0, detail: {} }
    ) as Progress;
    let status: JobStatus;
    if (state === 'completed') status = 'succeeded';
    else if (state === 'failed') status = cancelled ? 'cancelled' : 'failed';
    else if (state === 'active') status = 'running';
    else status = cancelled ? 'cancelled' : 'queued';
    const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);
    return {
      id,
      kind: job.data.kind,
      target: job.data.target,
      params: JSON.stringify(job.data.params),
      status,
      progress: status === 'succeeded' ? 1 : p.fraction,
      detail: JSON.stringify({ ...p.detail, ...(p.worker ? { worker: p.worker } : {}) }),
      log: logs.logs.map((l) => `${l}\n`).join(''),
      error:
        status === 'failed' || status === 'cancelled'
          ? (job.failedReason ?? (status === 'cancelled' ? 'cancelled before it started' : null))
          : null,
      cancel_requested: cancelled ? 1 : 0,
      pid: null,
      created_at: job.data.created_at,
      started_at: iso(job.processedOn),
      finished_at: iso(job.finishedOn),
    };
  }

  async cancel(id: string): Promise<CancelOutcome> {
    const j = await this.get(id);
    if (!j || (j.status !== 'queued' && j.status !== 'running')) return 'not-active';
    await this.redis.set(this.cancelKey(id), '1', 'EX', 7 * 86400);
    return j.status === 'queued' ? 'cancelled' : 'requested';
  }

  wait(id: string, pollMs?: number): Promise<JobRecord> {
    return waitFor((x) => this.get(x), id, pollMs);
  }

  work(handlers: Record<string, JobHandler>, opts: { concurrency?: number } = {}): JobWorker {
    const me = `${hostname()}:${process.pid}`;
    const connections: Redis[] = [];
    const workers = Object.entries(handlers).map(
      ([kind, handler]) =>
        new Worker<Data>(
          `${this.prefix}-${kind}`,
          async (job) => {
            const id = job.id!;
            if (await this.redis.exists(this.cancelKey(id))) throw new Error('cancelled before it started');
            const abort = new AbortController();
            const poll = setInterval(() => {
              void this.redis.exists(this.cancelKey(id)).then(
                (n) => n && abort.abort(new Error('cancelled')),
                () => undefined,
              );
            }, CANCEL_POLL_MS);
            let last = 0;
            let pending: Promise<unknown> = Promise.resolve();
            const ctx: JobContext = {
              job: (await this.get(id))!,
              signal: abort.signal,
              progress(fraction, detail = {}) {
                const t = Date.now();
                if (t - last < PROGRESS_WRITE_MS && fraction < 1) return;
                last = t;
                pending = pending
                  .then(() => job.updateProgress({ fraction, detail, worker: me } as Progress))
                  .catch(() => undefined);
              },
              log(line) {
                pending = pending.then(() => job.log(line)).catch(() => undefined);
              },
            };
            ctx.progress(0, { step: 'started' });
            try {
              const out = await handler(job.data.params, ctx);
              return out === undefined ? null : out;
            } catch (err) {
              throw abort.signal.aborted ? new Error(`cancelled: ${(err as Error).message}`) : err;
            } finally {
              clearInterval(poll);
              await pending;
            }
          },
          // No retries: a build that failed says why; running it again is the user's call.
          {
            connection:
              connections[
                connections.push(this.redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: false })) - 1
              ]!,
            prefix: this.prefix,
            concurrency: opts.concurrency ?? 1,
          },
        ),
    );
    for (const w of workers) w.on('error', (e: Error) => this.noteError(e));
    for (const c of connections) c.on('error', (e: Error) => this.noteError(e));
    return {
      close: async () => {
        await Promise.all(workers.map((w) => w.close()));
        await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.redis.quit().catch(() => undefined);
  }
}
