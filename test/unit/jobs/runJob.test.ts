import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../../../src/store/database.js';
import { JobStore } from '../../../src/jobs/jobStore.js';
import { runJob } from '../../../src/jobs/runJob.js';

const jobStore = () => new JobStore(openStore(join(mkdtempSync(join(tmpdir(), 'vmlab-jobs-')), 'vmlab.db')));

describe('jobs', () => {
  it('persists progress, log and success', async () => {
    const jobs = jobStore();
    const job = jobs.create('download', 'img1', { url: 'http://x' });
    const seen: number[] = [];
    const result = await runJob(
      jobs,
      job,
      async (ctx) => {
        ctx.log('starting');
        ctx.progress(0.5, { bytes: 5 });
        return 42;
      },
      { progress: (f) => seen.push(f) },
    );
    assert.equal(result, 42);
    const done = jobs.get(job.id)!;
    assert.equal(done.status, 'succeeded');
    assert.equal(done.progress, 1);
    assert.match(done.log, /starting\n$/);
    assert.deepEqual(seen, [0.5]);
  });

  it('records a failure with its message', async () => {
    const jobs = jobStore();
    const job = jobs.create('convert', null);
    await assert.rejects(
      runJob(jobs, job, async () => {
        throw new Error('qemu-img said no');
      }),
      /qemu-img said no/,
    );
    assert.equal(jobs.get(job.id)!.status, 'failed');
    assert.equal(jobs.get(job.id)!.error, 'qemu-img said no');
  });

  it('cancels through the store (as another process would)', async () => {
    const jobs = jobStore();
    const job = jobs.create('download', null);
    const running = runJob(
      jobs,
      job,
      (ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted by cancel')))),
    );
    assert.equal(jobs.requestCancel(job.id), true);
    await assert.rejects(running, /aborted by cancel/);
    assert.equal(jobs.get(job.id)!.status, 'cancelled');
    assert.equal(jobs.requestCancel(job.id), false); // finished jobs cannot be cancelled
  });

  it('cancel: a running job is asked, a queued one or one whose process is gone is cancelled at once', () => {
    const jobs = jobStore();
    const running = jobs.create('download', 'i1');
    jobs.start(running.id);
    assert.equal(
      jobs.cancel(running.id, () => true),
      'requested',
    );
    assert.equal(jobs.get(running.id)!.status, 'running');
    assert.equal(jobs.cancelRequested(running.id), true);

    const orphan = jobs.create('download', 'i2');
    jobs.start(orphan.id);
    // Pretend its process died: another pid, reported dead.
    const db = (jobs as unknown as { db: import('../../../src/store/database.js').Db }).db;
    db.prepare('UPDATE jobs SET pid = ? WHERE id = ?').run(999_999_999, orphan.id);
    assert.equal(
      jobs.cancel(orphan.id, () => false),
      'cancelled',
    );
    assert.equal(jobs.get(orphan.id)!.status, 'cancelled');
    assert.match(jobs.get(orphan.id)!.error!, /pid 999999999\) was gone/);

    const queued = jobs.create('convert', null);
    assert.equal(
      jobs.cancel(queued.id, () => true),
      'cancelled',
    );
    assert.equal(
      jobs.cancel(queued.id, () => true),
      'not-active',
    );
    assert.equal(
      jobs.cancel('nope', () => true),
      'not-active',
    );
    assert.equal(jobs.activeFor('i1', () => true)!.id, running.id);
    assert.equal(
      jobs.activeFor('i2', () => true),
      undefined,
    );
  });

  it('reaping: a queued job whose owner (a server) died never starts and is marked so; an ownerless queued job is left for whoever runs it', () => {
    const jobs = jobStore();
    const orphaned = jobs.create('deploy', 'lab1', {}, 999_999_999);
    const mine = jobs.create('deploy', 'lab2', {}, process.pid);
    const ownerless = jobs.create('convert', null);
    const reaped = jobs.reapDead((pid) => pid === process.pid);
    assert.deepEqual(
      reaped.map((j) => j.id),
      [orphaned.id],
    );
    assert.equal(jobs.get(orphaned.id)!.status, 'failed');
    assert.match(jobs.get(orphaned.id)!.error!, /never started: its process \(pid 999999999\) is gone/);
    assert.equal(jobs.get(mine.id)!.status, 'queued');
    assert.equal(jobs.get(ownerless.id)!.status, 'queued');
  });
});
