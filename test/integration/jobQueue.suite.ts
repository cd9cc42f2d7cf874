import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { JobQueue } from '../../src/jobs/queue.js';

/**
 * The job interface's contract, run against each backend (embedded SQLite,
 * BullMQ on Redis): what a server enqueues, a worker runs, with progress,
 * log, outcome and cancel seen from the queue's side.
 */
export function jobQueueSuite(
  make: () => Promise<{ queue: JobQueue; other: () => JobQueue } | { skip: string }>,
): void {
  const withQueue = (name: string, fn: (q: JobQueue, other: () => JobQueue) => Promise<void>) =>
    it(name, async (t) => {
      const made = await make();
      if ('skip' in made) return t.skip(made.skip);
      try {
        await fn(made.queue, made.other);
      } finally {
        await made.queue.close();
      }
    });

  withQueue(
    'a worker (another connection) runs an enqueued job: params, progress, log and result are seen',
    async (q, other) => {
      const job = await q.enqueue('echo', 'target-1', { n: 3 });
      assert.equal(job.status, 'queued');
      assert.equal(job.kind, 'echo');
      assert.equal(job.target, 'target-1');
      const w = other();
      const worker = w.work({
        echo: async (params, ctx) => {
          ctx.log(`got n=${String(params.n)}`);
          ctx.progress(1, { step: 'done' });
          return { doubled: Number(params.n) * 2 };
        },
      });
      const done = await q.wait(job.id, 50);
      await worker.close();
      await w.close();
      assert.equal(done.status, 'succeeded', done.error ?? '');
      assert.equal(done.progress, 1);
      assert.match(done.log, /got n=3/);
      assert.equal(JSON.parse(done.params).n, 3);
      assert.ok(done.started_at && done.finished_at);
    },
  );

  withQueue('a handler that throws: failed, with its message', async (q, other) => {
    const job = await q.enqueue('boom', null, {});
    const w = other();
    const worker = w.work({ boom: async () => Promise.reject(new Error('make failed in cisco/c8000v')) });
    const done = await q.wait(job.id, 50);
    await worker.close();
    await w.close();
    assert.equal(done.status, 'failed');
    assert.match(done.error ?? '', /make failed in cisco\/c8000v/);
  });

  withQueue('cancel of a running job aborts its signal; it ends cancelled', async (q, other) => {
    const job = await q.enqueue('slow', null, {});
    const w = other();
    let sawAbort = false;
    const worker = w.work({
      slow: (_p, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('stopped make and docker'));
          });
        }),
    });
    for (let i = 0; i < 100 && (await q.get(job.id))?.status !== 'running'; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(await q.cancel(job.id), 'requested');
    const done = await q.wait(job.id, 50);
    await worker.close();
    await w.close();
    assert.equal(sawAbort, true);
    assert.equal(done.status, 'cancelled');
    assert.equal(await q.cancel(job.id), 'not-active');
  });

  withQueue('cancel of a queued job: cancelled at once, and a worker started later never runs it', async (q, other) => {
    const job = await q.enqueue('later', null, {});
    assert.equal(await q.cancel(job.id), 'cancelled');
    assert.equal((await q.get(job.id))?.status, 'cancelled');
    let ran = false;
    const w = other();
    const worker = w.work({ later: async () => void (ran = true) });
    await new Promise((r) => setTimeout(r, 600));
    await worker.close();
    await w.close();
    assert.equal(ran, false);
    assert.equal((await q.get(job.id))?.status, 'cancelled');
  });

  withQueue('a worker takes only the kinds it was started for', async (q, other) => {
    const a = await q.enqueue('kind-a', null, {});
    const b = await q.enqueue('kind-b', null, {});
    const w = other();
    const worker = w.work({ 'kind-a': async () => 'ok' });
    await q.wait(a.id, 50);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await q.get(b.id))?.status, 'queued');
    await worker.close();
    await w.close();
  });

  withQueue('an unknown id is undefined', async (q) => {
    assert.equal(await q.get('nope.000000000000'), undefined);
    assert.equal(await q.get('nope'), undefined);
  });
}
